"""Watch folders in the window: a real photo written into a watched folder is converted with the
watch's preset, once; the settings section loads and saves the list off the GUI thread."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.settings import Settings
from aipopup.core.task import State
from aipopup.core.watch import DEFAULT_OUTPUT_NAME, WatchFolder, load_list, save_list
from aipopup.gui.main_window import MainWindow
from aipopup.gui.settings_dialog import SettingsDialog
from aipopup.gui.watch_service import WatchService, list_path

WAIT_MS = 30_000
SCAN_S = 0.05


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def service(window: MainWindow, tmp_path: Path) -> Iterator[WatchService]:
    watch = WatchService(window, interval=SCAN_S, state_path=tmp_path / "state" / "watch-state.json")
    yield watch
    watch.close()
    assert not watch.loop._thread.is_alive()


def test_a_file_written_into_a_watched_folder_is_processed_once(
        qtbot: QtBot, window: MainWindow, engine: Engine, service: WatchService, inbox: Path,
        testdata: Path, tmp_path: Path) -> None:
    save_list(list_path(), [WatchFolder(str(inbox), "Web size 1600 px")])
    source = sorted((testdata / "faces").glob("*.jpg"))[0]
    (inbox / "notes.txt").write_text("not for the preset's operation")
    (inbox / "half.jpg.part").write_bytes(source.read_bytes()[:1000])
    service.start()
    with qtbot.waitSignal(service.batchQueued, timeout=WAIT_MS) as queued:
        shutil.copy2(source, inbox / "arrived.jpg")
    batch_id = queued.args[0]
    out = inbox / DEFAULT_OUTPUT_NAME
    qtbot.waitUntil(lambda: engine.scheduler.counts(batch_id)[State.SUCCEEDED] == 1, timeout=WAIT_MS)
    assert [t.input for t in engine.scheduler.tasks(batch_id)] == [str(inbox / "arrived.jpg")]
    assert engine.scheduler.batch(batch_id).op == "convert"
    assert [p.suffix for p in out.iterdir() if not p.name.startswith(".")] == [".jpg"]
    state = json.loads((tmp_path / "state" / "watch-state.json").read_text())
    assert list(state["queued"]) == [str(inbox / "arrived.jpg")]
    # Several more scans: the output folder, the .part and the .txt never become batches.
    seen = service.loop.scans
    qtbot.waitUntil(lambda: service.loop.scans >= seen + 5, timeout=WAIT_MS)
    assert [b.id for b in engine.scheduler.batches()] == [batch_id]


def test_after_a_restart_only_new_files_are_queued(
        qtbot: QtBot, window: MainWindow, engine: Engine, inbox: Path, testdata: Path,
        tmp_path: Path) -> None:
    save_list(list_path(), [WatchFolder(str(inbox), "Web size 1600 px", str(tmp_path / "out"))])
    photos = sorted((testdata / "faces").glob("*.jpg"))
    shutil.copy2(photos[0], inbox / "before.jpg")
    state = tmp_path / "state" / "watch-state.json"
    first = WatchService(window, interval=SCAN_S, state_path=state)
    with qtbot.waitSignal(first.batchQueued, timeout=WAIT_MS):
        first.start()
    first.close()
    shutil.copy2(photos[1], inbox / "while_closed.jpg")
    second = WatchService(window, interval=SCAN_S, state_path=state)
    try:
        with qtbot.waitSignal(second.batchQueued, timeout=WAIT_MS) as queued:
            second.start()
        seen = second.loop.scans
        qtbot.waitUntil(lambda: second.loop.scans >= seen + 5, timeout=WAIT_MS)
    finally:
        second.close()
    assert [t.input for t in engine.scheduler.tasks(queued.args[0])] == [str(inbox / "while_closed.jpg")]
    assert len(engine.scheduler.batches()) == 2


def test_the_settings_section_lists_and_saves_watch_folders(qtbot: QtBot, inbox: Path,
                                                            tmp_path: Path) -> None:
    save_list(list_path(), [WatchFolder(str(inbox), "ID photo 600x800")])
    dialog = SettingsDialog(Settings(values={}))
    qtbot.addWidget(dialog)
    editor = dialog.watch_folders
    qtbot.waitUntil(lambda: editor.table.rowCount() == 1, timeout=WAIT_MS)
    assert editor.folders() == [WatchFolder(str(inbox), "ID photo 600x800")]
    editor.add_row(WatchFolder(str(tmp_path / "second"), "Web size 1600 px", str(tmp_path / "out")))
    with qtbot.waitSignal(editor.saved, timeout=WAIT_MS):
        assert dialog.apply()
    assert load_list(list_path())[1] == WatchFolder(str(tmp_path / "second"), "Web size 1600 px",
                                                    str(tmp_path / "out"))
    # An output folder equal to the watched one would process its own outputs: refused.
    editor.table.item(1, 2).setText(str(tmp_path / "second"))
    assert not dialog.apply()
    assert "another folder" in editor.message.text()
    assert len(load_list(list_path())) == 2
    editor.table.selectRow(0)
    editor.remove_selected()
    assert editor.table.rowCount() == 1
    editor.shutdown()
