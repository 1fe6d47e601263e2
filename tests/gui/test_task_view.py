"""The task view paints from the model's copies of the tasks, without a call into the model per
cell and role, and still shows what the stock view showed: sorted and filtered rows, the status
colours, the selection and the progress bars."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
)
from PySide6.QtGui import QColor, QImage, QPaintEvent, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aipopup.core.task import State, Task
from aipopup.gui.bridge import Update
from aipopup.gui.task_model import Column, TaskFilterProxy, TaskTableModel
from aipopup.gui.task_view import TaskTableView

FAILED_RED = QColor(200, 40, 40)


class CountingModel(TaskTableModel):
    """The real model, counting the calls a view makes into Python."""

    calls = 0

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        CountingModel.calls += 1
        return super().data(index, role)


def make_task(n: int, state: State = State.QUEUED, progress: float = 0.0) -> Task:
    return Task(id=f"1.{n}", batch_id=1, op="convert", input=f"/photos/img_{n:05d}.jpg",
                output=f"/out/img_{n:05d}.png", params={}, seq=n, state=state, progress=progress)


def make_view(qtbot: QtBot, tasks: list[Task]) -> tuple[TaskTableView, CountingModel, TaskFilterProxy]:
    model = CountingModel()
    model.load(tasks)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    view = TaskTableView(model, proxy)
    view.setSortingEnabled(True)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.resize(900, 400)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view, model, proxy


def cell_image(view: TaskTableView, row: int, column: Column) -> QImage:
    rect = view.visualRect(view.proxy.index(row, column))
    return view.viewport().grab(rect).toImage()


def has_colour(image: QImage, colour: QColor, tolerance: int = 30) -> bool:
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            if max(abs(pixel.red() - colour.red()), abs(pixel.green() - colour.green()),
                   abs(pixel.blue() - colour.blue())) <= tolerance:
                return True
    return False


def test_a_repaint_makes_no_call_into_the_model(qtbot: QtBot) -> None:
    view, _model, _ = make_view(qtbot, [make_task(n, progress=n / 300) for n in range(300)])
    CountingModel.calls = 0
    view.viewport().grab()  # renders the viewport now, through its paintEvent
    assert view.visible_rows(view.viewport().rect())  # there was something to paint
    assert CountingModel.calls == 0


def test_status_colour_selection_and_progress_are_painted(qtbot: QtBot) -> None:
    tasks = [make_task(0, State.FAILED), make_task(1, State.RUNNING, progress=0.5), make_task(2)]
    view, _model, proxy = make_view(qtbot, tasks)
    assert has_colour(cell_image(view, 0, Column.STATUS), FAILED_RED)
    assert not has_colour(cell_image(view, 2, Column.STATUS), FAILED_RED)

    highlight = view.palette().color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight)
    active = view.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    assert not has_colour(cell_image(view, 2, Column.NAME), highlight, 8)
    view.selectionModel().select(proxy.index(2, 0), QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)
    name_cell = cell_image(view, 2, Column.NAME)
    assert has_colour(name_cell, highlight, 8) or has_colour(name_cell, active, 8)

    half = cell_image(view, 1, Column.PROGRESS)
    empty = cell_image(view, 2, Column.PROGRESS)
    assert half.size() == empty.size()
    differing = sum(half.pixelColor(x, half.height() // 2) != empty.pixelColor(x, empty.height() // 2)
                    for x in range(half.width()))
    assert differing > half.width() // 4  # the bar is filled half way, and says 50 %


def test_rows_follow_the_proxy_sort_and_filter(qtbot: QtBot) -> None:
    tasks = [make_task(n, State.FAILED if n == 7 else State.SUCCEEDED) for n in range(10)]
    view, _model, proxy = make_view(qtbot, tasks)
    assert view.task_at_row(0).id == "1.0"
    view.sortByColumn(Column.NAME, Qt.SortOrder.DescendingOrder)
    assert view.task_at_row(0).id == "1.9"
    proxy.set_filter(states={State.FAILED})
    assert proxy.rowCount() == 1
    assert view.task_at_row(0).id == "1.7"
    assert has_colour(cell_image(view, 0, Column.STATUS), FAILED_RED)


class PaintRecorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(cast(QPaintEvent, event).rect())
        return False


def test_a_changed_row_repaints_only_itself_and_a_hidden_one_nothing(qtbot: QtBot) -> None:
    """The model signals runs of changed rows; the view must repaint just their rectangle
    (and nothing for rows scrolled away), or every tick would repaint the whole table."""
    view, model, _ = make_view(qtbot, [make_task(n) for n in range(2000)])
    recorder = PaintRecorder()
    view.viewport().installEventFilter(recorder)
    QApplication.processEvents()
    recorder.rects.clear()
    model.apply(Update(tasks={f"1.{n}": make_task(n, State.RUNNING, 0.5) for n in range(1500, 1540)}))
    QApplication.processEvents()
    assert recorder.rects == []
    model.apply(Update(tasks={"1.3": make_task(3, State.RUNNING, 0.5), "1.4": make_task(4, State.FAILED)}))
    QApplication.processEvents()
    row_height = view.rowHeight(3)
    assert recorder.rects and all(r.height() <= 2 * row_height + 2 for r in recorder.rects)  # two rows
    assert recorder.rects[0].top() == view.rowViewportPosition(3)


def test_clicking_a_column_title_sorts_by_it(qtbot: QtBot) -> None:
    view, model, _ = make_view(qtbot, [make_task(n) for n in (3, 1, 2)])
    header = view.horizontalHeader()
    titles = [header.model().headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert titles == [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    at = QPoint(header.sectionViewportPosition(Column.NAME) + 10, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert [view.task_at_row(r).id for r in range(3)] == ["1.1", "1.2", "1.3"]
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert [view.task_at_row(r).id for r in range(3)] == ["1.3", "1.2", "1.1"]
