"""Saved jobs ("presets"): an operation, optionally a second one chained after it, and options.

Kept as ``{"schema_version": 1, "presets": [...]}`` in ``presets.json`` in the config folder,
written atomically. Built-in presets live in code, so an update can improve them; they cannot
be renamed, deleted or overwritten. Every preset is checked against its operation's schema when
it is saved, loaded or imported, so a typo is reported with the preset's and the option's name
instead of failing 2,000 tasks later. No Qt here: the GUI calls this from a worker thread.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aipopup.app import paths
from aipopup.core import operation
from aipopup.core.atomic import atomic_write
from aipopup.core.errors import ParamError
from aipopup.core.params import Value

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "presets.json"


class PresetError(ValueError):
    """A preset, or a presets file, cannot be used; the message names the preset and the option."""


@dataclass(frozen=True)
class Preset:
    name: str
    op: str
    params: Mapping[str, Value] = field(default_factory=dict)
    then_op: str | None = None
    then_params: Mapping[str, Value] = field(default_factory=dict)
    builtin: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "op": self.op, "params": dict(self.params)}
        if self.then_op:
            out["then_op"] = self.then_op
            out["then_params"] = dict(self.then_params)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Preset:
        if not isinstance(data, dict):
            raise PresetError(f"a preset must be a JSON object, not {type(data).__name__}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise PresetError("a preset has no name")
        op = data.get("op")
        if not isinstance(op, str):
            raise PresetError(f"preset {name!r}: no operation ('op')")
        params = data.get("params", {})
        then_params = data.get("then_params", {})
        if not isinstance(params, dict) or not isinstance(then_params, dict):
            raise PresetError(f"preset {name!r}: 'params' must be a JSON object")
        then_op = data.get("then_op")
        if then_op is not None and not isinstance(then_op, str):
            raise PresetError(f"preset {name!r}: 'then_op' must be an operation name")
        return validate(cls(name=name.strip(), op=op, params=params, then_op=then_op or None,
                            then_params=then_params))


def validate(preset: Preset) -> Preset:
    """The preset with its options checked and defaults filled in; raises PresetError naming
    the preset, the operation and the option at fault."""
    params = _checked(preset.name, preset.op, preset.params)
    then_params = _checked(preset.name, preset.then_op, preset.then_params) if preset.then_op else {}
    return Preset(name=preset.name, op=preset.op, params=params, then_op=preset.then_op,
                  then_params=then_params, builtin=preset.builtin)


def _checked(preset_name: str, op_name: str, params: Mapping[str, Any]) -> dict[str, Value]:
    try:
        op = operation.get(op_name)
    except KeyError as exc:
        raise PresetError(f"preset {preset_name!r}: {exc.args[0]}") from None
    try:
        return op.schema.validate(params)
    except ParamError as exc:
        raise PresetError(f"preset {preset_name!r}: {op_name} option {exc.name}: {exc.message}") from None


BUILTINS: tuple[Preset, ...] = (
    Preset("Blur faces for publishing", "anonymize",
           {"mode": "blur", "shape": "ellipse", "mask_scale": 1.4, "keep_metadata": False}, builtin=True),
    Preset("ID photo 600x800", "crop",
           {"width": 600, "height": 800, "face_percent": 55, "all_faces": False, "fill": "white"},
           builtin=True),
    Preset("Web size 1600 px", "convert", {"format": "jpg", "quality": 85, "max_side": 1600}, builtin=True),
    Preset("Face report (CSV)", "detect", {"report": "faces.csv", "draw": False}, builtin=True),
)


def builtins() -> list[Preset]:
    return [validate(p) for p in BUILTINS]


def parse(text: str, source: str = "presets file") -> list[Preset]:
    """Presets from the JSON of a presets file (ours or an exported one)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PresetError(f"{source} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("presets"), list):
        raise PresetError(f"{source} is not an AI Popup presets file (no 'presets' list)")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise PresetError(f"{source} was written by a newer AI Popup (presets version {version}); "
                          "update AI Popup to read it")
    return [Preset.from_json(item) for item in data["presets"]]


def dump(presets: Iterable[Preset]) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION, "presets": [p.to_json() for p in presets]},
                      indent=2, ensure_ascii=False)


class PresetStore:
    """The built-in presets followed by the user's, in the order they were saved.

    Not thread-safe: one owner (the GUI's background lane, or a command) at a time.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.config_dir() / FILE_NAME
        self._user: list[Preset] = []

    @classmethod
    def load(cls, path: Path | None = None) -> PresetStore:
        """Read the user's presets. A damaged file is kept as ``presets.json.bad-<time>`` and
        ignored (presets are not worth refusing to start over); a newer version is refused,
        so saving can never overwrite what a newer AI Popup wrote."""
        store = cls(path)
        if not store.path.exists():
            return store
        try:
            store._user = parse(store.path.read_text(encoding="utf-8"), str(store.path))
        except PresetError as exc:
            if "newer AI Popup" in str(exc):
                raise
            backup = store.path.with_name(f"{store.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.copy2(store.path, backup)
            log.warning("presets: %s; kept as %s", exc, backup)
        return store

    def all(self) -> list[Preset]:
        return [*builtins(), *self._user]

    def names(self) -> list[str]:
        return [p.name for p in self.all()]

    def get(self, name: str) -> Preset:
        for preset in self.all():
            if preset.name == name:
                return preset
        raise PresetError(f"no preset called {name!r}")

    def save(self, preset: Preset) -> Preset:
        """Add ``preset``, or replace the user's preset of the same name."""
        name = preset.name.strip()
        if not name:
            raise PresetError("a preset needs a name")
        self._refuse_builtin(name)
        checked = validate(dataclasses.replace(preset, name=name, builtin=False))
        for index, existing in enumerate(self._user):
            if existing.name == name:
                self._user[index] = checked
                break
        else:
            self._user.append(checked)
        self._write()
        return checked

    def rename(self, old: str, new: str) -> Preset:
        new = new.strip()
        self._refuse_builtin(old)
        self._refuse_builtin(new)
        if not new:
            raise PresetError("a preset needs a name")
        index = self._index(old)
        if new != old and any(p.name == new for p in self._user):
            raise PresetError(f"there is already a preset called {new!r}")
        renamed = dataclasses.replace(self._user[index], name=new)
        self._user[index] = renamed
        self._write()
        return renamed

    def delete(self, name: str) -> None:
        self._refuse_builtin(name)
        del self._user[self._index(name)]
        self._write()

    def export(self, names: Iterable[str], target: Path) -> None:
        chosen = [self.get(n) for n in names]
        with atomic_write(target, "export") as tmp:
            tmp.write_text(dump(chosen), encoding="utf-8")

    def import_file(self, source: Path) -> list[Preset]:
        """Add every preset in ``source`` (all or nothing: one bad preset refuses the file).
        A same-named user preset is replaced; one named like a built-in gets " (imported)"."""
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise PresetError(f"cannot read {source}: {exc.strerror or exc}") from None
        added: list[Preset] = []
        builtin_names = {p.name for p in BUILTINS}
        for preset in parse(text, str(source)):
            name = f"{preset.name} (imported)" if preset.name in builtin_names else preset.name
            renamed = dataclasses.replace(preset, name=name)
            self._user = [p for p in self._user if p.name != name]
            self._user.append(renamed)
            added.append(renamed)
        self._write()
        return added

    def _index(self, name: str) -> int:
        for index, preset in enumerate(self._user):
            if preset.name == name:
                return index
        raise PresetError(f"no preset called {name!r}")

    @staticmethod
    def _refuse_builtin(name: str) -> None:
        if any(p.name == name for p in BUILTINS):
            raise PresetError(f"{name!r} is a built-in preset; save a copy under another name")

    def _write(self) -> None:
        with atomic_write(self.path, "presets") as tmp:
            tmp.write_text(dump(self._user), encoding="utf-8")
