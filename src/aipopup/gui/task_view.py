"""The task table's view: a QTableView that paints its cells in one Python call per repaint.

A stock QTableView asks the model for seven or eight roles of every visible cell on each repaint,
each a separate call from C++ into Python. Every such call has to take the GIL back from the
engine's threads (planning a batch, journaling, task code), so a full repaint of ~200 cells was
1,300+ GIL handoffs: 100-250 ms with the workers busy, while the same painting done here, in one
Python call that keeps the GIL, takes a few milliseconds. Everything else (selection, keyboard,
sorting and filtering through the proxy, scrolling, tooltips, the context menu) is the stock
view's; only the drawing of the cells is ours, from the model's own copies of the tasks.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QStyle, QStyleOptionProgressBar, QStyleOptionViewItem, QTableView, QWidget

from aipopup.core.task import State, Task
from aipopup.gui.task_model import Column, TaskFilterProxy, TaskTableModel

TEXT_MARGIN = 4
RIGHT_ALIGNED = frozenset({Column.FACES, Column.SIZE, Column.ELAPSED, Column.ETA})
ELIDE_MIDDLE = frozenset({Column.NAME, Column.OUTPUT})  # file names: keep the extension visible


class TaskTableView(QTableView):
    def __init__(self, model: TaskTableModel, proxy: TaskFilterProxy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = proxy
        self.setModel(proxy)

    def visible_rows(self, area: QRect) -> range:
        """The proxy rows that intersect ``area`` (viewport coordinates)."""
        count = self.proxy.rowCount()
        if not count:
            return range(0)
        first = self.rowAt(area.top())
        last = self.rowAt(area.bottom())
        return range(max(first, 0), (last if last >= 0 else count - 1) + 1)

    def task_at_row(self, row: int) -> Task:
        return self.source.task_at(self.proxy.mapToSource(self.proxy.index(row, 0)).row())

    def paintEvent(self, event: QPaintEvent) -> None:
        area = event.rect()
        header = self.horizontalHeader()
        columns = []
        for logical in range(header.count()):
            if header.isSectionHidden(logical):
                continue
            x, width = self.columnViewportPosition(logical), self.columnWidth(logical)
            if x + width >= area.left() and x <= area.right():
                columns.append((Column(logical), x, width))
        rows = self.visible_rows(area)
        if not columns or not rows:
            return
        painter = QPainter(self.viewport())
        try:
            self._paint_rows(painter, rows, columns)
        finally:
            painter.end()

    def _paint_rows(self, painter: QPainter, rows: range, columns: list[tuple[Column, int, int]]) -> None:
        palette = self.palette()
        group = QPalette.ColorGroup.Active if self.isActiveWindow() else QPalette.ColorGroup.Inactive
        highlight = palette.color(group, QPalette.ColorRole.Highlight)
        highlighted_text = palette.color(group, QPalette.ColorRole.HighlightedText)
        text_colour = palette.color(group, QPalette.ColorRole.Text)
        alternate = palette.color(group, QPalette.ColorRole.AlternateBase) \
            if self.alternatingRowColors() else None
        style = self.style()
        view_option = QStyleOptionViewItem()
        self.initViewItemOption(view_option)  # the grid colour comes from the option's palette
        grid_rgba = style.styleHint(QStyle.StyleHint.SH_Table_GridLineColor, view_option, self) & 0xFFFFFFFF
        grid = QColor.fromRgba(grid_rgba)
        metrics = self.fontMetrics()
        selection = self.selectionModel()
        no_parent = QModelIndex()
        left = min(x for _, x, _ in columns)
        right = max(x + w for _, x, w in columns)
        cell_text, foreground = self.source.cell_text, self.source.foreground
        middle, right_elide = Qt.TextElideMode.ElideMiddle, Qt.TextElideMode.ElideRight
        align_left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        align_right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for row in rows:
            y, height = self.rowViewportPosition(row), self.rowHeight(row)
            task = self.task_at_row(row)
            selected = selection.isRowSelected(row, no_parent)
            if selected:
                painter.fillRect(left, y, right - left, height, highlight)
            elif alternate is not None and row % 2:
                painter.fillRect(left, y, right - left, height, alternate)
            for column, x, width in columns:
                if column is Column.PROGRESS:
                    if task.state is State.RUNNING or task.progress > 0:  # a bar only once it moves
                        self._paint_progress(painter, QRect(x, y, width, height), task.progress, selected)
                    continue
                text = cell_text(task, column)
                if not text:
                    continue
                colour = None if selected else foreground(task, column)
                painter.setPen(highlighted_text if selected else (colour or text_colour))
                inner = width - 2 * TEXT_MARGIN
                shown = metrics.elidedText(text, middle if column in ELIDE_MIDDLE else right_elide, inner)
                painter.drawText(x + TEXT_MARGIN, y, inner, height,
                                 align_right if column in RIGHT_ALIGNED else align_left, shown)
        if self.showGrid():
            painter.setPen(grid)
            bottom = self.rowViewportPosition(rows[-1]) + self.rowHeight(rows[-1]) - 1
            top = self.rowViewportPosition(rows[0])
            for _, x, width in columns:
                painter.drawLine(x + width - 1, top, x + width - 1, bottom)
            for row in rows:
                line = self.rowViewportPosition(row) + self.rowHeight(row) - 1
                painter.drawLine(left, line, right - 1, line)

    def _paint_progress(self, painter: QPainter, cell: QRect, fraction: float, selected: bool) -> None:
        bar = QStyleOptionProgressBar()
        bar.initFrom(self)
        bar.rect = cell.adjusted(2, 3, -2, -3)
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = int(max(0.0, min(1.0, fraction)) * 1000)
        bar.text = f"{fraction * 100:.0f} %"
        bar.textVisible = True
        bar.state |= QStyle.StateFlag.State_Horizontal
        if selected:
            bar.state |= QStyle.StateFlag.State_Selected
        self.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, self)
