"""``aipopup --self-check``: everything imports, and the real operations run on an image made
in memory, inside a temporary folder. The frozen build runs it as its smoke test."""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from aipopup import __version__


def _check_imports() -> str:
    for name in ("numpy", "cv2", "httpx", "platformdirs", "PIL", "aipopup.ops.catalog"):
        importlib.import_module(name)
    import cv2

    return f"OpenCV {cv2.__version__}"


def _check_convert(folder: Path) -> str:
    import cv2
    import numpy as np

    from aipopup.core.engine import Engine
    from aipopup.core.planner import BatchRequest, plan

    source = folder / "in" / "generated.png"
    source.parent.mkdir()
    gradient = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    cv2.imwrite(str(source), cv2.merge([gradient, gradient[::-1], gradient]))
    batch, tasks = plan(BatchRequest(op="convert", inputs=[str(source)], output_dir=str(folder / "out"),
                                     params={"format": "jpg", "max_side": 100}))
    with Engine(folder / "state") as engine:
        engine.scheduler.add_batch(batch, tasks)
        engine.scheduler.wait_idle(timeout=60)
        task = engine.scheduler.tasks()[0]
    if task.state.value != "succeeded":
        raise RuntimeError(f"convert: {task.state.value}: {task.error}")
    out = cv2.imread(str(task.outputs[0]))
    if out is None or max(out.shape[:2]) != 100:
        raise RuntimeError("convert: the output did not decode at the requested size")
    return "engine, journal and convert ok"


def run_self_check() -> int:
    checks: list[tuple[str, Callable[[Path], str]]] = [
        ("imports", lambda _: _check_imports()),
        ("convert", _check_convert),
    ]
    failed = 0
    print(f"AI Popup {__version__} self-check (Python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory(prefix="aipopup-selfcheck-") as tmp:
        for name, check in checks:
            started = time.perf_counter()
            try:
                detail = check(Path(tmp))
                print(f"  ok    {name:<10} {detail} ({time.perf_counter() - started:.2f} s)")
            except Exception:
                failed += 1
                print(f"  FAIL  {name:<10}\n" + traceback.format_exc())
    print("self-check passed" if not failed else f"self-check FAILED ({failed})")
    return 1 if failed else 0
