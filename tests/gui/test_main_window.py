"""The main window over a real engine: drops open the batch wizard, batches run to
completion in the table, and the context menu controls tasks."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aipopup.core.planner import BatchRequest
from aipopup.core.task import State
from aipopup.gui import last_used
from aipopup.gui.drop_zone import DROP_TEXT
from aipopup.gui.main_window import MainWindow
from aipopup.gui.task_model import Column

WAIT_MS = 20_000


def drop(window: MainWindow, mime: QMimeData) -> bool:
    """Send the drag-enter then drop a real drag would; returns whether the drop was accepted."""
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    return event.isAccepted()


def file_mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def start_wizard(qtbot: QtBot, window: MainWindow, output: Path, op: str = "convert") -> int:
    """Walk the batch wizard a drop opened with its defaults, choosing ``op`` and ``output``."""
    wizard = window.batch_wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    wizard.next()
    wizard.job_page.select_op(op)
    wizard.next()
    wizard.next()
    wizard.output_page.folder.setText(str(output))
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS) as added:
        wizard.accept()
    return int(added.args[0])


def status(window: MainWindow, task_id: str) -> str:
    row = window.model.row_of(task_id)
    assert row is not None
    return str(window.model.index(row, Column.STATUS).data())


def trigger(window: MainWindow, task_ids: list[str], text: str) -> None:
    """Select ``task_ids`` in the table and trigger the context-menu entry called ``text``."""
    window.table.clearSelection()
    selection = window.table.selectionModel()
    for task_id in task_ids:
        row = window.model.row_of(task_id)
        assert row is not None
        index = window.proxy.mapFromSource(window.model.index(row, 0))
        selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
    menu = window.context_menu()
    actions = {a.text().replace("&", ""): a for a in menu.actions() if not a.isSeparator()}
    action: QAction = actions[text]
    assert action.isEnabled(), f"{text} is disabled for {task_ids}"
    action.trigger()
    menu.deleteLater()


def test_empty_window_shows_the_drop_zone_and_toolbar_shortcuts(window: MainWindow) -> None:
    assert window.stack.currentWidget() is window.drop_zone
    assert window.drop_zone.label.text() == DROP_TEXT
    toolbar_actions = window.toolbar.actions()
    assert len(toolbar_actions) == 7
    assert all(not a.shortcut().isEmpty() for a in toolbar_actions)
    assert all(not a.shortcut().isEmpty() for a in window.task_actions.all)
    shortcuts = [a.shortcut().toString() for a in [*toolbar_actions, *window.task_actions.all]]
    assert len(shortcuts) == len(set(shortcuts)), shortcuts


def test_dropping_files_queues_a_batch_that_runs_to_completion(
        qtbot: QtBot, window: MainWindow, photos: Path, tmp_path: Path) -> None:
    files = sorted(photos.glob("*.jpg"))
    assert drop(window, file_mime(*files))
    wizard = window.batch_wizard
    assert wizard is not None and wizard.choices.inputs == [str(f) for f in files]
    batch_id = start_wizard(qtbot, window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.model.rowCount() == len(files), timeout=WAIT_MS)
    assert window.stack.currentWidget() is window.table_page
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == len(files), timeout=WAIT_MS)
    for task_id in window.model.task_ids():
        assert task_id.startswith(f"{batch_id}.")
        assert status(window, task_id) == "Succeeded"
        task = window.model.task(task_id)
        assert task is not None and Path(task.outputs[0]).is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{f.stem}_convert.jpg" for f in files)


def test_dropping_a_folder_plans_it_recursively_off_the_gui_thread(
        qtbot: QtBot, window: MainWindow, photos: Path, tmp_path: Path) -> None:
    assert drop(window, file_mime(photos))
    wizard = window.batch_wizard
    assert wizard is not None and wizard.inputs_page.recursive.isChecked()
    start_wizard(qtbot, window, tmp_path / "out")
    expected = len(list(photos.rglob("*.jpg")))
    assert expected == 6
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == expected, timeout=WAIT_MS)
    assert (tmp_path / "out" / "more").is_dir()


def test_dropping_text_with_links_offers_download_and_fetches_them(
        qtbot: QtBot, window: MainWindow, http_server: object, tmp_path: Path, photos: Path) -> None:
    body = next(photos.glob("*.jpg")).read_bytes()
    urls = [http_server.add(f"/pics/{n}.jpg", body, content_type="image/jpeg")  # type: ignore[attr-defined]
            for n in ("one", "two")]
    mime = QMimeData()
    mime.setText(f"look at {urls[0]} and also\n{urls[1]}.")
    assert drop(window, mime)
    wizard = window.batch_wizard
    assert wizard is not None and wizard.choices.inputs == urls
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    wizard.next()
    combo = wizard.job_page.op_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["download"]
    wizard.back()
    start_wizard(qtbot, window, tmp_path / "downloads", op="download")
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 2, timeout=WAIT_MS)
    outputs = [Path(t.outputs[0]) for t in map(window.model.task, window.model.task_ids()) if t]
    assert [p.read_bytes() == body for p in outputs] == [True, True]
    assert {p.parent for p in outputs} == {tmp_path / "downloads"}


def test_a_drop_without_files_or_links_is_refused(window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText("just words, nothing to fetch")
    assert not drop(window, mime)
    assert window.batch_wizard is None


def test_the_wizard_remembers_the_last_choices(
        qtbot: QtBot, window: MainWindow, photos: Path, tmp_path: Path) -> None:
    wizard = window.open_wizard([str(next(photos.glob("*.jpg")))])
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    wizard.next()
    wizard.job_page.select_op("convert")
    wizard.next()
    assert wizard.options_page.form is not None
    wizard.options_page.form.set_values({"quality": 55})
    wizard.next()
    wizard.output_page.folder.setText(str(tmp_path / "chosen"))
    wizard.next()
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        wizard.accept()
    assert window.batch_wizard is None
    saved = last_used.load()  # what the tray queues dropped files with
    assert (saved.op, saved.output_dir) == ("convert", str(tmp_path / "chosen"))
    assert saved.params["convert"]["quality"] == 55

    again = window.open_wizard([str(photos)])
    qtbot.waitUntil(again.inputs_page.isComplete, timeout=WAIT_MS)
    again.next()
    assert again.choices.op == "convert"
    again.next()
    assert again.options_page.form is not None and again.options_page.form.values()["quality"] == 55
    again.next()
    assert again.output_page.folder.text() == str(tmp_path / "chosen")
    again.output_page.folder.setText("")
    assert not again.output_page.isComplete()  # Start waits for an output folder
    again.reject()


def queue_big_then_small(qtbot: QtBot, window: MainWindow, big_photo: Path, photos: Path,
                         tmp_path: Path) -> list[str]:
    """A 24 MP photo, then three small ones, through the wizard: with one worker the big one
    runs while the others wait in the queue. The four task ids, in queue order."""
    inputs = [big_photo, *sorted(photos.glob("*.jpg"))[:3]]
    window.open_wizard([str(p) for p in inputs])
    start_wizard(qtbot, window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=WAIT_MS)
    return window.model.task_ids()


def test_the_table_shows_each_state_and_the_context_menu_controls_tasks(
        qtbot: QtBot, window: MainWindow, big_photo: Path, photos: Path, tmp_path: Path) -> None:
    # One worker; a 24 MP photo first keeps it busy while the small ones wait in the queue.
    first, second, third, fourth = queue_big_then_small(qtbot, window, big_photo, photos, tmp_path)
    seen: dict[str, set[str]] = {t: set() for t in window.model.task_ids()}

    def record() -> None:
        for task_id in seen:
            if window.model.row_of(task_id) is not None:
                seen[task_id].add(status(window, task_id))

    window.model.dataChanged.connect(record)
    record()
    qtbot.waitUntil(lambda: status(window, first) == "Running", timeout=WAIT_MS)
    assert status(window, fourth) == "Queued"

    trigger(window, [third, fourth], "Pause")
    qtbot.waitUntil(lambda: {status(window, third), status(window, fourth)} == {"Paused"}, timeout=WAIT_MS)
    trigger(window, [fourth], "Cancel")
    qtbot.waitUntil(lambda: status(window, fourth) == "Cancelled", timeout=WAIT_MS)
    assert window.details.task is not None  # the selection shows in the details pane
    trigger(window, [third], "Resume")
    qtbot.waitUntil(lambda: status(window, third) in ("Queued", "Running", "Succeeded"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: all(status(window, t) == "Succeeded" for t in (first, second, third)),
                    timeout=WAIT_MS)
    trigger(window, [fourth], "Retry")
    qtbot.waitUntil(lambda: status(window, fourth) == "Succeeded", timeout=WAIT_MS)

    assert {"Queued", "Running", "Succeeded"} <= seen[first] | seen[second]
    assert {"Paused", "Cancelled", "Succeeded"} <= seen[fourth]
    assert window.model.counts()[State.SUCCEEDED] == 4

    trigger(window, [first, second], "Remove")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT_MS)
    assert window.model.row_of(first) is None
    assert window.scheduler is not None and len(window.scheduler.tasks()) == 2


def test_details_pane_shows_error_hint_and_a_preview_loaded_off_thread(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, photos: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    good = next(photos.glob("*.jpg"))
    window.open_wizard([str(good), str(broken)])
    start_wizard(qtbot, window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.model.counts()[State.FAILED] == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 1, timeout=WAIT_MS)
    good_id, broken_id = window.model.task_ids()
    trigger(window, [broken_id], "Copy error")
    assert broken_id in QApplication.clipboard().text()
    assert window.details.error.isVisible() and window.details.error.text()
    window.table.clearSelection()
    window.table.selectRow(window.proxy.mapFromSource(window.model.index(window.model.row_of(good_id) or 0,
                                                                        0)).row())
    qtbot.waitUntil(lambda: window.details.preview_loaded, timeout=WAIT_MS)
    after = window.details.after.pixmap()
    assert after is not None and not after.isNull()
    assert max(after.width(), after.height()) <= 260


def test_filter_by_status_and_search(qtbot: QtBot, window: MainWindow, tmp_path: Path, photos: Path) -> None:
    files = sorted(photos.glob("*.jpg"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"nothing")
    window.open_wizard([str(broken), *map(str, files)])
    start_wizard(qtbot, window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.scheduler is not None and window.scheduler.is_idle()
                    and window.model.counts()[State.SUCCEEDED] == len(files), timeout=WAIT_MS)
    window.status_filter.setCurrentText("Failed")
    assert window.proxy.rowCount() == 1
    window.status_filter.setCurrentText("All tasks")
    window.search.setText(files[0].stem[:12])
    assert 1 <= window.proxy.rowCount() < len(files) + 1
    window.search.setText("")
    assert window.proxy.rowCount() == len(files) + 1
    window.table.sortByColumn(Column.NAME, Qt.SortOrder.DescendingOrder)
    names = [window.proxy.index(r, Column.NAME).data() for r in range(window.proxy.rowCount())]
    assert names == sorted(names, key=str.lower, reverse=True)


def test_toolbar_pause_all_start_all_move_to_top_and_clear_finished(
        qtbot: QtBot, window: MainWindow, big_photo: Path, photos: Path, tmp_path: Path) -> None:
    # One worker: the 24 MP photo runs while three small ones wait, so the order they start in
    # after "Start all" is the queue's order, which "Move to top" changed.
    first, second, third, fourth = queue_big_then_small(qtbot, window, big_photo, photos, tmp_path)
    qtbot.waitUntil(lambda: status(window, first) == "Running", timeout=WAIT_MS)

    window.actions_.pause_all.trigger()
    qtbot.waitUntil(lambda: {status(window, t) for t in (second, third, fourth)} == {"Paused"},
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: status(window, first) in ("Paused", "Succeeded"), timeout=WAIT_MS)
    trigger(window, [fourth], "Move to top")
    scheduler = window.scheduler
    assert scheduler is not None
    qtbot.waitUntil(lambda: scheduler.task(fourth).priority > scheduler.task(second).priority,
                    timeout=WAIT_MS)

    window.actions_.start_all.trigger()
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 4, timeout=WAIT_MS)
    started = {t.id: t.started for t in scheduler.tasks()}
    assert started[fourth] < started[second] < started[third]

    window.actions_.clear_finished.trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT_MS)
    assert scheduler.tasks() == []
    assert window.stack.currentWidget() is window.drop_zone
    assert len(list((tmp_path / "out").iterdir())) == 4  # clearing the list keeps the outputs


def test_status_bar_shows_counts_throughput_eta_cpu_memory_and_the_chart(
        qtbot: QtBot, window: MainWindow, big_photo: Path, photos: Path, tmp_path: Path) -> None:
    # Three small photos finish while the 24 MP one is still running: a rate and an ETA exist.
    window.open_wizard([str(p) for p in [*sorted(photos.glob("*.jpg"))[:3], big_photo]])
    start_wizard(qtbot, window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 3, timeout=WAIT_MS)
    bar = window.status
    bar.sample()  # the once-a-second tick, now; the model cannot change before it (no event loop)
    assert bar.counts_label.text().startswith("3 succeeded") or ", 3 succeeded" in bar.counts_label.text()
    assert bar.eta_label.text().startswith("ETA ")
    assert bar.rate_label.text().endswith("/s") and bar.throughput() > 0
    assert max(bar.chart.samples) > 0
    cpu, memory = bar.system_label.text().split("·")
    assert cpu.startswith("CPU ") and memory.strip().endswith("MB")
    chart = bar.chart.grab()  # painted without error at its own size
    assert (chart.width(), chart.height()) == (bar.chart.width(), bar.chart.height())
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 4, timeout=WAIT_MS)
    bar.sample()
    assert bar.counts_label.text() == "4 succeeded" and bar.eta_label.text() == ""


def test_details_pane_shows_the_parameters_and_the_tasks_log_lines(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    # A photo of a plain wall: crop finds no face, copies it aside and logs a warning.
    wall = tmp_path / "in" / "wall.png"
    wall.parent.mkdir()
    Image.new("RGB", (320, 240), (180, 170, 160)).save(wall)
    window.submit(BatchRequest("crop", [str(wall)], str(tmp_path / "out"), {"no_face_dir": "no-face"}))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT_MS)
    window.table.selectRow(0)  # selected while it runs: the log line arrives live, by the bridge
    (task_id,) = window.model.task_ids()
    assert window.details.task is not None and window.details.task.id == task_id
    assert window.details.params_form.rowCount() == len(window.details.task.params) > 0
    qtbot.waitUntil(lambda: "No face found in wall.png" in window.details.log.toPlainText(),
                    timeout=WAIT_MS)
    assert "warning" in window.details.log.toPlainText()
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 1, timeout=WAIT_MS)


def test_dropping_links_as_a_uri_list_opens_the_wizard_with_them(window: MainWindow) -> None:
    # what a browser drags: text/uri-list with http(s) URLs, not local files
    links = ["http://127.0.0.1:9/a.jpg", "https://127.0.0.1:9/b.jpg"]
    mime = QMimeData()
    mime.setUrls([QUrl(link) for link in links])
    assert drop(window, mime)
    wizard = window.batch_wizard
    assert wizard is not None and wizard.choices.inputs == links
    wizard.reject()


def test_open_output_and_show_in_folder_launch_the_desktop_with_the_result(
        qtbot: QtBot, window: MainWindow, photos: Path, tmp_path: Path) -> None:
    launched: list[list[str]] = []
    window.launch = launched.append  # the command line, instead of a real file manager
    window.open_wizard([str(p) for p in sorted(photos.glob("*.jpg"))[:1]])
    start_wizard(qtbot, window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1
                    and window.model.counts()[State.SUCCEEDED] == 1, timeout=WAIT_MS)
    (task_id,) = window.model.task_ids()
    task = window.model.task(task_id)
    assert task is not None and task.outputs
    output = Path(task.outputs[0])
    trigger(window, [task_id], "Open output")
    qtbot.waitUntil(lambda: len(launched) == 1, timeout=WAIT_MS)
    assert launched[0][-1] == str(output) and output.is_file()
    trigger(window, [task_id], "Show in folder")
    qtbot.waitUntil(lambda: len(launched) == 2, timeout=WAIT_MS)
    assert launched[1][-1] in (str(output), str(output.parent))  # selected in, or the folder
