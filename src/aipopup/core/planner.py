"""From what a person asked for (an operation, some inputs, an output folder, options) to a
batch of tasks with planned outputs. Runs before anything is queued, so mistakes in the
request are reported at once, not as 1,000 failed tasks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aipopup.core import naming, operation
from aipopup.core.courtesy import breathe
from aipopup.core.skipdone import unique_path
from aipopup.core.task import DEFAULT_NAME_TEMPLATE, OVERWRITE_POLICIES, Batch, Task


class PlanError(ValueError):
    """The request cannot be planned; the message says what to change."""


@dataclass
class BatchRequest:
    op: str
    inputs: list[str]
    output_dir: str
    params: Mapping[str, Any] = field(default_factory=dict)
    recursive: bool = False
    name_template: str = DEFAULT_NAME_TEMPLATE
    overwrite: str = "never"
    then_op: str | None = None
    then_params: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""
    # parameters for single inputs on top of ``params``, keyed by the input's resolved path
    # (e.g. the face boxes a person reviewed for that photo); validated like the rest
    per_input_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def plan(request: BatchRequest) -> tuple[Batch, list[Task]]:
    try:
        op = operation.get(request.op)
        then = operation.get(request.then_op) if request.then_op else None
    except KeyError as exc:
        raise PlanError(str(exc.args[0])) from None
    if request.overwrite not in OVERWRITE_POLICIES:
        raise PlanError(f"--overwrite must be one of {', '.join(OVERWRITE_POLICIES)}")
    try:
        naming.check_template(request.name_template)
    except naming.NameTemplateError as exc:
        raise PlanError(str(exc)) from None
    if not request.inputs:
        raise PlanError("no inputs: give files, folders" + (" or URLs" if op.inputs_are_urls else ""))
    params = op.schema.validate(request.params)
    then_params = then.schema.validate(request.then_params) if then else {}
    output_dir = str(Path(request.output_dir).expanduser().resolve())
    batch = Batch(id=0, op=op.name, params=params, output_dir=output_dir,
                  title=request.title or _title(op, request.inputs), name_template=request.name_template,
                  overwrite=request.overwrite, then_op=then.name if then else None,
                  then_params=then_params)
    if op.inputs_are_urls:
        tasks = _url_tasks(op, request.inputs, params)
    else:
        tasks = _file_tasks(op, request, params, output_dir)
    if then is not None:
        for index in range(len(tasks)):
            tasks.append(Task(id="", batch_id=0, op=then.name, input="", output=None,
                              params=dict(then_params), depends_on=[f"#{index}"], resource=then.resource))
    if not tasks:
        raise PlanError("nothing to do: no input matches what "
                        f"{op.name} accepts ({', '.join(sorted(op.accepts))})")
    return batch, tasks


def _title(op: operation.Operation, inputs: list[str]) -> str:
    first = Path(inputs[0]).name or inputs[0]
    more = f" and {len(inputs) - 1} more" if len(inputs) > 1 else ""
    return f"{op.title}: {first}{more}"


def _url_tasks(op: operation.Operation, inputs: list[str], params: dict[str, Any]) -> list[Task]:
    expand = op.extra.get("expand")
    items = operation._resolve(expand)(inputs) if expand else [_Item(u) for u in inputs]
    tasks = []
    for item in items:
        overrides = {k: getattr(item, k) for k in ("filename", "sha256") if getattr(item, k, None)}
        task_params = op.schema.validate({**params, **overrides}) if overrides else dict(params)
        host = (urlsplit(item.url).hostname or "").lower()
        tasks.append(Task(id="", batch_id=0, op=op.name, input=item.url, output=None, params=task_params,
                          resource=op.resource, resource_key=host))
    return tasks


@dataclass
class _Item:
    url: str


def _file_tasks(op: operation.Operation, request: BatchRequest, params: dict[str, Any],
                output_dir: str) -> list[Task]:
    out_root = Path(output_dir)
    found: list[tuple[Path, str]] = []
    for raw in request.inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(_walk(path.resolve(), op.accepts, request.recursive, out_root))
        elif path.exists() or path.is_symlink():
            found.append((path.resolve(), ""))
        else:
            raise PlanError(f"no such file or folder: {raw}")
    tasks: list[Task] = []
    claimed: set[Path] = set()
    inputs = {p for p, _ in found}
    for step, (source, rel_dir) in enumerate(found):
        breathe(step)
        ext = op.output_ext(source.name, params)
        output: Path | None = None
        if ext:
            output = naming.output_path(out_root, rel_dir, request.name_template, input_name=source.name,
                                        op=op.name, ext=ext)
            if output in inputs and request.overwrite != "always":
                raise PlanError(f"the output {output} would replace an original; choose another output "
                                "folder or name template (or --overwrite always if that is what you want)")
            if output in claimed:  # two inputs named alike from different folders
                output = _unclaimed(output, claimed)
            claimed.add(output)
        extra = request.per_input_params.get(str(source))
        task_params = op.schema.validate({**params, **extra}) if extra else dict(params)
        tasks.append(Task(id="", batch_id=0, op=op.name, input=str(source),
                          output=str(output) if output else None, params=task_params,
                          rel_dir=rel_dir, resource=op.resource))
    return tasks


def _unclaimed(path: Path, claimed: set[Path]) -> Path:
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if candidate not in claimed:
            return unique_path(candidate) if candidate.exists() else candidate
        n += 1


def _walk(root: Path, accepts: frozenset[str], recursive: bool, skip: Path) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        # hidden folders, and the output folder when it sits inside the input folder
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d) != skip)
        rel = here.relative_to(root)
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in accepts:
                continue
            found.append((here / name, "" if rel == Path(".") else rel.as_posix()))
        if not recursive:
            break
    return found
