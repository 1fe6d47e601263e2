"""The History dialog with real widgets over a real detect batch run by the window's engine:
it lists the batch with its counts after the journal forgot it, shows its failure, exports CSV and
JSON (through Qt's own file dialog) whose face rows match the test photos, and lists a batch
that finishes while it is open."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from aipopup.core.planner import BatchRequest
from aipopup.core.task import State
from aipopup.gui.history_dialog import COLUMNS, HistoryDialog
from aipopup.gui.main_window import MainWindow

WAIT_MS = 60_000
PHOTOS = ("knn_examples_test_obama_and_biden.jpg", "two_people.jpg", "obama.jpg")


def _cell(dialog: HistoryDialog, row: int, column: str) -> str:
    return str(dialog.model.index(row, COLUMNS.index(column)).data())


def _export(qtbot: QtBot, dialog: HistoryDialog, button: Any, target: Path) -> None:
    button.click()
    file_dialog = dialog.file_dialog
    assert file_dialog is not None
    qtbot.waitExposed(file_dialog)
    file_dialog.selectFile(str(target))  # type: ignore[attr-defined]
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS) as exported:
        file_dialog.accept()  # type: ignore[attr-defined]
    assert exported.args == [str(target)]


def test_history_lists_a_finished_batch_and_exports_its_faces(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, testdata: Path, manifest: dict[str, Any]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy2(testdata / "faces" / name, folder / name)
    (folder / "empty.jpg").write_bytes(b"")
    inputs = [str(folder / n) for n in (*PHOTOS, "empty.jpg")]
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        window.submit(BatchRequest(op="detect", inputs=inputs, output_dir=str(tmp_path / "out"),
                                   title="Who is there"))
    scheduler = window.scheduler
    assert scheduler is not None
    # The engine's counts, not the table's: the table can keep showing a task that failed at
    # once as running (its "running" and "failed" events may reach the bridge swapped).
    qtbot.waitUntil(lambda: scheduler.is_idle() and scheduler.counts()[State.SUCCEEDED] == 3
                    and scheduler.counts()[State.FAILED] == 1, timeout=WAIT_MS)
    assert scheduler.clean() == 1  # the journal forgets the batch; the history keeps it

    assert window.tools_menu.history.shortcut().toString() == "Ctrl+H"
    assert window.tools_menu.history in window.actions()  # the shortcut works with the menu closed
    window.tools_menu.history.trigger()
    dialog = window.findChild(HistoryDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT_MS)
    assert [_cell(dialog, 0, c) for c in ("Job", "Done", "Failed", "Cancelled", "Skipped")] == \
        ["Who is there (detect)", "3", "1", "0", "0"]
    assert "items/s" in _cell(dialog, 0, "Throughput")
    details = dialog.details.toPlainText()
    assert "1 failed:" in details and "empty.jpg" in details and "faces.csv" in details

    csv_path = tmp_path / "exports" / "results.csv"
    csv_path.parent.mkdir()
    dialog.native_dialogs = False
    _export(qtbot, dialog, dialog.export_csv_button, csv_path)
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for name in PHOTOS:
        faces = [r for r in rows if Path(r["file"]).name == name]
        expected = manifest["faces"][name]
        assert expected["min_faces"] <= len(faces) <= expected["max_faces"], name
        assert all(r["status"] == "succeeded" and r["x"] and r["score"] for r in faces)
    (empty,) = [r for r in rows if Path(r["file"]).name == "empty.jpg"]
    assert empty["status"] == "failed" and empty["error"]

    json_path = tmp_path / "exports" / "results.json"
    _export(qtbot, dialog, dialog.export_json_button, json_path)
    data = json.loads(json_path.read_text())
    assert data["batch"]["title"] == "Who is there" and data["batch"]["failed"] == 1
    faces_in_json = sum(len(t["result"].get("detections", [])) for t in data["tasks"])
    assert faces_in_json == len(rows) - 1  # every face row of the CSV, and the failed photo's row

    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        window.submit(BatchRequest(op="convert", inputs=inputs[:1], output_dir=str(tmp_path / "small")))
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=WAIT_MS)  # no Refresh pressed
    assert [_cell(dialog, 0, c) for c in ("Done", "Failed")] == ["1", "0"]
    assert dialog.selected() is not None and dialog.selected().title == "Who is there"  # type: ignore[union-attr]
