"""The tray popup on its own: a real engine converting real photos, the popup listing the batch
with its progress, pause/resume all, drops queued with the last-used job, one notice per batch."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.planner import BatchRequest, plan
from aipopup.core.task import State
from aipopup.gui.tray import BatchSummary, FinishWatcher, TrayController, TrayPopup, tooltip_text


def add_convert_batch(engine: Engine, inputs: list[str], out: Path) -> int:
    batch, tasks = plan(BatchRequest("convert", inputs, str(out), {"format": "png"}))
    return engine.scheduler.add_batch(batch, tasks).id


def half_done_batch(qtbot: QtBot, engine: Engine, photos: Path, out: Path) -> int:
    """Four photos: two converted, two paused. Nothing is dispatched until both are set."""
    scheduler = engine.scheduler
    scheduler.stop_after_current()
    inputs = [str(p) for p in sorted(photos.glob("*.jpg"))]
    assert len(inputs) == 4
    batch_id = add_convert_batch(engine, inputs, out)
    scheduler.pause([f"{batch_id}.3", f"{batch_id}.4"])
    scheduler.start()
    qtbot.waitUntil(lambda: scheduler.counts(batch_id)[State.SUCCEEDED] == 2, timeout=30_000)
    return batch_id


def test_popup_lists_running_batch_with_progress(qtbot: QtBot, engine: Engine, photos: Path,
                                                 tmp_path: Path) -> None:
    batch_id = half_done_batch(qtbot, engine, photos, tmp_path / "out")
    popup = TrayPopup(engine.scheduler)
    qtbot.addWidget(popup)
    popup.show()
    rows = popup.visible_rows()
    assert len(rows) == 1
    row = rows[0]
    assert row.summary is not None and row.summary.batch_id == batch_id
    assert row.bar.value() == 500  # two of four
    assert row.count.text() == "2/4, paused"
    assert "1 batch in progress" in popup.header.text()
    assert popup.output_folder() == str((tmp_path / "out").resolve())

    # resume all from the popup: the batch finishes and leaves the list
    popup.resume_button.click()
    qtbot.waitUntil(lambda: engine.scheduler.counts(batch_id)[State.SUCCEEDED] == 4, timeout=30_000)
    with qtbot.waitSignal(popup.refreshed):
        popup.refresh()
    assert popup.visible_rows() == []
    assert popup.header.text() == "Nothing running"
    popup.runner.shutdown()


def test_pause_all_from_popup(qtbot: QtBot, engine: Engine, photos: Path, tmp_path: Path) -> None:
    scheduler = engine.scheduler
    scheduler.stop_after_current()
    batch_id = add_convert_batch(engine, [str(p) for p in sorted(photos.glob("*.jpg"))],
                                 tmp_path / "out")
    popup = TrayPopup(scheduler)
    qtbot.addWidget(popup)
    popup.pause_button.click()
    qtbot.waitUntil(lambda: scheduler.counts(batch_id)[State.PAUSED] == 4)
    popup.runner.shutdown()


def test_drop_on_popup_queues_with_last_job(qtbot: QtBot, engine: Engine, photos: Path,
                                            tmp_path: Path) -> None:
    queued: list[int] = []

    def queue_with_last_job(files: list[str]) -> None:
        # what the main window hands in: plan with the last-used operation and options
        queued.append(add_convert_batch(engine, files, tmp_path / "dropped"))

    popup = TrayPopup(engine.scheduler, queue_files=queue_with_last_job)
    qtbot.addWidget(popup)
    popup.show()
    files = sorted(photos.glob("*.jpg"))[:2]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(popup, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(popup.filesQueued) as blocker:
        QApplication.sendEvent(popup, drop)
    assert blocker.args == [[str(f) for f in files]]
    assert len(queued) == 1
    qtbot.waitUntil(lambda: engine.scheduler.counts(queued[0])[State.SUCCEEDED] == 2, timeout=30_000)
    assert sorted(p.name for p in (tmp_path / "dropped").iterdir()) == sorted(
        f"{f.stem}_convert.png" for f in files)


def test_drop_refused_without_a_job(qtbot: QtBot, engine: Engine, photos: Path) -> None:
    popup = TrayPopup(engine.scheduler)
    qtbot.addWidget(popup)
    popup.show()
    assert not popup.drop_hint.isVisibleTo(popup)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(next(photos.glob("*.jpg"))))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(popup, enter)
    assert not enter.isAccepted()


def test_controller_notifies_once_per_batch(qtbot: QtBot, engine: Engine, photos: Path,
                                            tmp_path: Path) -> None:
    scheduler = engine.scheduler
    batch_id = half_done_batch(qtbot, engine, photos, tmp_path / "out")
    tray = TrayController(scheduler, engine.settings, use_tray=False)
    assert not tray.available and not tray.hides_on_close()
    assert "2 of 4 done (50%)" in tray.tooltip
    finished: list[BatchSummary] = []
    tray.batchFinished.connect(finished.append)
    scheduler.resume_all()
    qtbot.waitUntil(lambda: scheduler.counts(batch_id)[State.SUCCEEDED] == 4, timeout=30_000)
    with qtbot.waitSignal(tray.batchFinished):
        tray.refresh()
    tray.refresh()  # no second notice for the same batch
    assert [s.batch_id for s in finished] == [batch_id]
    assert tray.tooltip == "AI Popup — idle"
    tray.close()
    tray.popup.runner.shutdown()


def test_finish_watcher_ignores_batches_finished_before_start() -> None:
    done = BatchSummary(1, "old", "/o", 2, 2, 0, 0, 0, 0)
    running = BatchSummary(2, "new", "/o", 2, 1, 0, 0, 1, 0)
    watcher = FinishWatcher()
    assert watcher.check([done, running]) == []
    failed = BatchSummary(2, "new", "/o", 2, 1, 1, 0, 0, 0)
    assert watcher.check([done, failed]) == [failed]
    assert watcher.check([done, failed]) == []
    assert "1 of 2" not in tooltip_text([done, failed])
