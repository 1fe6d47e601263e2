"""The start-up prompt after a session that left tasks unfinished: built from a real journal
(a real engine queued work and was closed), then Resume / Review / Discard on a new engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.planner import BatchRequest, plan
from aipopup.core.settings import Settings
from aipopup.core.task import State
from aipopup.gui.crash import NativeCrash
from aipopup.gui.executor import QtExecutor
from aipopup.gui.recovery_dialog import RecoveryDialog, offer_recovery
from aipopup.gui.worker import BackgroundRunner


def leave_unfinished(state: Path, photos: Path, out: Path) -> list[Path]:
    """A session that queued four conversions and quit before any ran."""
    inputs = sorted(photos.glob("*.jpg"))
    first = Engine(state, settings=Settings(values={"workers": 1}), start_existing=False,
                   durable=False)
    try:
        first.scheduler.stop_after_current()
        batch, tasks = plan(BatchRequest("convert", [str(p) for p in inputs], str(out),
                                         {"format": "png"}))
        first.scheduler.add_batch(batch, tasks)
    finally:
        assert first.close(5.0)
    return [out / f"{p.stem}_convert.png" for p in inputs]


@pytest.fixture
def state(isolated_profile: Path) -> Path:
    return isolated_profile / "state"


@pytest.fixture
def reopened(state: Path, photos: Path, tmp_path: Path) -> Iterator[tuple[Engine, list[Path]]]:
    outputs = leave_unfinished(state, photos, tmp_path / "out")
    executor = QtExecutor()
    engine = Engine(state, settings=Settings(values={"workers": 1}), executor=executor,
                    start_existing=False, durable=False)
    yield engine, outputs
    assert engine.close(5.0)


@pytest.fixture
def control(qtbot: QtBot) -> Iterator[BackgroundRunner]:
    runner = BackgroundRunner(max_threads=1)
    yield runner
    runner.shutdown()


def run_with(runner: BackgroundRunner) -> Callable[[Callable[[], None]], None]:
    return lambda fn: runner.run(fn)


def test_resume_finishes_the_unfinished(qtbot: QtBot, reopened: tuple[Engine, list[Path]],
                                        control: BackgroundRunner) -> None:
    engine, outputs = reopened
    assert engine.recovery.unfinished == 4
    assert not any(p.exists() for p in outputs)
    dialog = offer_recovery(engine.scheduler, engine.recovery, None, run_with(control))
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.headline.text() == "4 unfinished tasks from your last session"
    assert "4 queued" in dialog.details.text()
    with qtbot.waitSignal(dialog.chosen) as blocker:
        dialog.buttons["resume"].click()
    assert blocker.args == ["resume"]
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: engine.scheduler.counts()[State.SUCCEEDED] == 4, timeout=30_000)
    assert all(p.stat().st_size > 0 for p in outputs)


def test_discard_cancels_them(qtbot: QtBot, reopened: tuple[Engine, list[Path]],
                              control: BackgroundRunner) -> None:
    engine, outputs = reopened
    dialog = offer_recovery(engine.scheduler, engine.recovery, None, run_with(control))
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.buttons["discard"].click()
    qtbot.waitUntil(lambda: engine.scheduler.counts()[State.CANCELLED] == 4)
    assert not any(p.exists() for p in outputs)


def test_review_and_escape_leave_them_paused(qtbot: QtBot, reopened: tuple[Engine, list[Path]],
                                            control: BackgroundRunner) -> None:
    engine, _ = reopened
    dialog = offer_recovery(engine.scheduler, engine.recovery, None, run_with(control))
    assert dialog is not None
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.chosen) as blocker:
        dialog.reject()  # Esc: decide later
    assert blocker.args == ["review"]
    qtbot.waitUntil(lambda: engine.scheduler.counts()[State.PAUSED] == 4)


def test_nothing_to_say_means_no_prompt(qtbot: QtBot, state: Path, control: BackgroundRunner) -> None:
    with Engine(state, start_existing=False, durable=False) as engine:
        assert offer_recovery(engine.scheduler, engine.recovery, None, run_with(control)) is None


def test_native_crash_is_reported(qtbot: QtBot, state: Path, tmp_path: Path,
                                  control: BackgroundRunner) -> None:
    report = tmp_path / "native-crash-20250101-120000.log"
    text = "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):"
    with Engine(state, start_existing=False, durable=False) as engine:
        dialog = offer_recovery(engine.scheduler, engine.recovery,
                                NativeCrash(report, text, 0.0), run_with(control))
        assert isinstance(dialog, RecoveryDialog)
        qtbot.addWidget(dialog)
        assert dialog.crash_text is not None
        assert "Segmentation fault" in dialog.crash_text.toPlainText()
        assert dialog.buttons == {}  # nothing to resume: only OK
        dialog.accept()
