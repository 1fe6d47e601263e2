"""Where the interface's English strings come from, for the translations test and
``python -m aipopup.gui.i18n --missing CODE``.

Two sources: every literal passed to ``tr()`` or ``N_()`` in the package's own source (an AST walk,
so nothing has to run), and the texts of the Qt-free schemas (the settings and every registered
operation: labels, help texts, choice names, titles, summaries) and the built-in presets' names,
which the GUI translates where it shows them. ``tr()`` of anything but a literal or a
module-level string constant is reported as an error, since no walk can tell what it will be
asked, unless its line carries an ``# i18n:`` comment saying where the strings come from (and so
where the walk finds them).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aipopup.app.presets import BUILTINS
from aipopup.core import operation
from aipopup.core.params import Schema
from aipopup.core.settings import SCHEMA
from aipopup.gui.i18n import LANGUAGES

PACKAGE = Path(__file__).resolve().parents[1]
MARKERS = ("tr", "N_")
ESCAPE = "# i18n:"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass
class Sources:
    strings: dict[str, str] = field(default_factory=dict)  # text -> where it was first seen
    errors: list[str] = field(default_factory=list)  # tr() calls the walk cannot read

    def add(self, text: str, where: str) -> None:
        if text.strip():
            self.strings.setdefault(text, where)


def collect(package: Path = PACKAGE) -> Sources:
    found = Sources()
    for path in sorted(package.rglob("*.py")):
        _walk_module(path, path.relative_to(package.parent).as_posix(), found)
    _schema_texts(SCHEMA, "settings", found)
    for preset in BUILTINS:
        found.add(preset.name, f"built-in preset {preset.name!r}")
    for op in operation.all_operations():
        if not op.runner.startswith("aipopup."):
            continue  # registered by a test or a plug-in, not shipped: not ours to translate
        found.add(op.title, f"operation {op.name}: title")
        found.add(op.summary, f"operation {op.name}: summary")
        _schema_texts(op.schema, f"operation {op.name}", found)
    return found


def missing(found: Sources, catalog: Mapping[str, str]) -> dict[str, str]:
    """The strings without a non-empty translation, with where each was seen."""
    return {text: where for text, where in found.strings.items() if not catalog.get(text)}


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _schema_texts(schema: Schema, owner: str, found: Sources) -> None:
    for param in schema:
        if param.hidden:
            continue
        found.add(param.title, f"{owner}.{param.name}: label")
        found.add(param.help, f"{owner}.{param.name}: help")
        for choice in param.choices:
            if param.name == "language" and choice in LANGUAGES:
                continue  # shown by its own name (forms.choice_text), never translated
            found.add(choice, f"{owner}.{param.name}: choice")


def _walk_module(path: Path, name: str, found: Sources) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines()
    constants = {
        target.id: node.value.value
        for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in MARKERS and len(node.args) == 1 and not node.keywords):
            continue
        arg, where = node.args[0], f"{name}:{node.lineno}"
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value, where)
        elif isinstance(arg, ast.Name) and arg.id in constants:
            found.add(constants[arg.id], where)
        elif not any(ESCAPE in line for line in lines[node.lineno - 1:(node.end_lineno or node.lineno)]):
            found.errors.append(f"{where}: {node.func.id}({ast.unparse(arg)}) is not a literal "
                                f"(add an '{ESCAPE}' comment saying where its strings are collected)")
