"""A test-only operation ("probe") whose behaviour is chosen by its parameters, so the
scheduler's rules can be exercised with real threads, real timing and a real journal."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

from aipopup.core.errors import TaskError, TransientError
from aipopup.core.operation import Operation, TaskContext, register
from aipopup.core.params import Param, Schema
from aipopup.core.task import Task

PROBE = register(Operation(
    name="probe",
    title="Probe",
    summary="Test operation.",
    schema=Schema((
        Param("seconds", "float", 0.0, "How long to work, checking the cancel token."),
        Param("fail", "choice", "none", "How to fail.",
              choices=("none", "transient", "permanent", "transient_twice", "crash")),
        Param("write", "bool", False, "Write the output."),
        Param("progress_calls", "int", 0, "Progress reports to make, as fast as possible."),
        Param("retry_after", "float", None, "Retry-After for transient failures.", optional=True),
        Param("note", "str", None, "Set by the program, never an option.", optional=True, hidden=True),
    )),
    runner="tests.engine_ops:run",
    accepts=frozenset({".txt", ".jpg", ".out"}),
    output_ext=lambda name, params: ".out" if params.get("write") else None,
))


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[tuple[str, float]] = []
        self.finished: list[tuple[str, float]] = []
        self.running = 0
        self.max_running = 0
        self.attempt_times: dict[str, list[float]] = {}
        self.dep_outputs: dict[str, list[str]] = {}

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


RECORDER = Recorder()
_FILE_NUMBERS = itertools.count()


def run(ctx: TaskContext) -> dict[str, Any]:
    rec = RECORDER
    now = time.monotonic()
    with rec.lock:
        rec.started.append((ctx.task_id, now))
        rec.running += 1
        rec.max_running = max(rec.max_running, rec.running)
        attempts = rec.attempt_times.setdefault(ctx.task_id, [])
        attempts.append(now)
        rec.dep_outputs[ctx.task_id] = list(ctx.dep_outputs)
    try:
        for n in range(int(ctx.params["progress_calls"])):
            ctx.progress(n / max(1, ctx.params["progress_calls"]))
        deadline = time.monotonic() + float(ctx.params["seconds"])
        while time.monotonic() < deadline:
            ctx.check()
            ctx.token.wait(0.01)
        ctx.check()
        fail = ctx.params["fail"]
        if fail == "transient" or (fail == "transient_twice" and len(attempts) <= 2):
            raise TransientError("flaky", retry_after=ctx.params["retry_after"])
        if fail == "permanent":
            raise TaskError("broken for good", "nothing to do")
        if fail == "crash":
            raise ZeroDivisionError("bug")
        if ctx.params["write"] and ctx.output is not None:
            with ctx.atomic_output(ctx.output) as tmp:
                Path(tmp).write_text(Path(ctx.input).read_text() if Path(ctx.input).exists() else "x")
        return {"attempts": len(attempts)}
    finally:
        with rec.lock:
            rec.running -= 1
            rec.finished.append((ctx.task_id, time.monotonic()))


def make_tasks(tmp_path: Path, n: int, *, priorities: list[int] | None = None, key: str = "",
               resource: str = "cpu", **params: Any) -> list[Task]:
    values = PROBE.schema.validate(params)
    tasks = []
    for i in range(n):
        # never the same name twice: rewriting an input another batch is reading would race it
        number = next(_FILE_NUMBERS)
        source = tmp_path / f"in{number}.txt"
        source.write_text(f"input {i}")
        output = str(tmp_path / "out" / f"in{number}.out") if values["write"] else None
        tasks.append(Task(id="", batch_id=0, op="probe", input=str(source), output=output,
                          params=dict(values), priority=priorities[i] if priorities else 0,
                          resource=resource, resource_key=key))
    return tasks
