"""The task view paints from the model's copies of the tasks, without a call into the model per
cell and role, and still shows what the stock view showed: sorted and filtered rows, the status
colours, the selection and the progress bars."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from pytestqt.qtbot import QtBot

from aipopup.core.task import State, Task
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
