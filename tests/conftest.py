"""Fixtures shared by the whole suite: the real test photos, and a real TaskContext for
running one operation outside the scheduler."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aipopup.core import operation
from aipopup.core.cancel import CancelToken
from aipopup.core.settings import Settings
from aipopup.core.task import Batch, Task

pytest_plugins = ["httpserver"]  # the loopback HTTP server fixture (tests/httpserver.py)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = (ROOT.parent / "shared" / "testdata").resolve()


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"the shared test data is missing: {TESTDATA}")
    return TESTDATA


@pytest.fixture(scope="session")
def manifest(testdata: Path) -> dict[str, Any]:
    return json.loads((testdata / "manifest.json").read_text())  # type: ignore[no-any-return]


class OpRun:
    """One operation run on one input with a real context; records progress and log lines."""

    def __init__(self, ctx: operation.TaskContext) -> None:
        self.ctx = ctx
        self.progress: list[tuple[float, str]] = []
        self.logs: list[tuple[str, str]] = []

    def __call__(self) -> dict[str, Any] | None:
        op = operation.get(self.ctx.op_name)
        return op.run_function()(self.ctx)


MakeRun = Callable[..., OpRun]


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """``make_run("convert", input_path, params={...}, output=path)`` -> OpRun; call it to run."""

    def factory(op_name: str, input_path: str | Path, *, params: dict[str, Any] | None = None,
                output: str | Path | None = None, output_dir: str | Path | None = None,
                settings: dict[str, Any] | None = None, token: CancelToken | None = None,
                dep_outputs: list[str] | None = None, overwrite: str = "never") -> OpRun:
        op = operation.get(op_name)
        out_dir = Path(output_dir or tmp_path / "out")
        values = op.schema.validate(params or {})
        batch = Batch(id=1, op=op_name, params=values, output_dir=str(out_dir), overwrite=overwrite)
        if output is None:
            ext = op.output_ext(str(input_path), values)
            output = out_dir / f"{Path(input_path).stem}_{op_name}{ext}" if ext else None
        task = Task(id="1.1", batch_id=1, op=op_name, input=str(input_path),
                    output=str(output) if output else None, params=values, resource=op.resource)
        holder: list[OpRun] = []
        ctx = operation.TaskContext(
            task, batch, token or CancelToken(),
            settings=Settings(values=settings or {}).snapshot(),
            dep_outputs=dep_outputs or [],
            report_progress=lambda f, m: holder[0].progress.append((f, m)),
            report_log=lambda level, text: holder[0].logs.append((level, text)),
            before_commit=lambda: None)
        holder.append(OpRun(ctx))
        return holder[0]

    return factory
