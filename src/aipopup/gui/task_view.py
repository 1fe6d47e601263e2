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

from collections.abc import Iterable
from typing import cast

from PySide6.QtCore import QEvent, QItemSelectionRange, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QStandardItemModel
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem, QTableView, QWidget

from aipopup.core.task import State, Task
from aipopup.gui.task_model import Column, TaskFilterProxy, TaskTableModel

TEXT_MARGIN = 4
ELIDE_CACHE = 4096
RIGHT_ALIGNED = frozenset({Column.FACES, Column.SIZE, Column.ELAPSED, Column.ETA})
ELIDE_MIDDLE = frozenset({Column.NAME, Column.OUTPUT})  # file names: keep the extension visible


class TaskTableView(QTableView):
    def __init__(self, model: TaskTableModel, proxy: TaskFilterProxy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = proxy
        self.setModel(proxy)
        # The column titles from a model that keeps them in C++: the header asks for some twenty
        # roles of each section every time it paints or measures itself, which from our Python
        # model was 180 calls, each one winning the GIL back from busy workers. The columns are
        # fixed, so only their titles are needed; sorting and sizes stay the view's own.
        self.titles = QStandardItemModel(0, len(Column), self)
        self.titles.setHorizontalHeaderLabels(
            [str(model.headerData(column, Qt.Orientation.Horizontal)) for column in Column])
        self.horizontalHeader().setModel(self.titles)
        # elided text by (text, width, mode): names and widths repeat from one repaint to the next
        self._elided: dict[tuple[str, int, bool], str] = {}

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

    def _source_rows(self, rows: range) -> list[int]:
        """The model rows behind the proxy rows ``rows``. Unsorted and unfiltered they are the
        same rows, and asking the proxy (a call that lets go of the GIL and must win it back
        from the engine's threads) a row at a time is what made a repaint slow."""
        proxy = self.proxy
        if proxy.sortColumn() < 0 and not proxy.filterRegularExpression().pattern():
            return list(rows)
        index, to_source = proxy.index, proxy.mapToSource
        return [to_source(index(row, 0)).row() for row in rows]

    def _selected_rows(self, rows: range) -> set[int]:
        """Which of ``rows`` are selected, from the selection's few ranges."""
        chosen: set[int] = set()
        for span in cast(Iterable[QItemSelectionRange], self.selectionModel().selection()):
            chosen.update(range(max(span.top(), rows.start), min(span.bottom() + 1, rows.stop)))
        return chosen

    def paintEvent(self, event: QPaintEvent) -> None:
        # Only what is dirty: a tick that changed a few cells repaints those, not the viewport.
        # The region's rectangles (cells, or bands of whole rows) are painted one by one.
        painter = QPainter(self.viewport())
        try:
            for area in cast(Iterable[QRect], event.region()):  # iterable; the stubs miss it
                columns = self.columns_in(area)
                rows = self.visible_rows(area)
                if columns and rows:
                    self._paint_rows(painter, rows, columns)
        finally:
            painter.end()

    def columns_in(self, area: QRect) -> list[tuple[Column, int, int]]:
        """(column, x, width) of the shown columns that intersect ``area``."""
        header = self.horizontalHeader()
        columns = []
        for logical in range(header.count()):
            if header.isSectionHidden(logical):
                continue
            x, width = self.columnViewportPosition(logical), self.columnWidth(logical)
            if x + width > area.left() and x <= area.right():
                columns.append((Column(logical), x, width))
        return columns

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
        task_at = self.source.task_at
        source_rows = self._source_rows(rows)
        selected_rows = self._selected_rows(rows)
        left = min(x for _, x, _ in columns)
        right = max(x + w for _, x, w in columns)
        cell_text, foreground = self.source.cell_text, self.source.foreground
        elided = self._elided
        bar_colours = (palette.color(group, QPalette.ColorRole.Mid),
                       palette.color(group, QPalette.ColorRole.Base),
                       highlight, text_colour,
                       highlighted_text)
        middle, right_elide = Qt.TextElideMode.ElideMiddle, Qt.TextElideMode.ElideRight
        align_left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        align_right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for row, source_row in zip(rows, source_rows, strict=True):
            y, height = self.rowViewportPosition(row), self.rowHeight(row)
            task = task_at(source_row)
            selected = row in selected_rows
            if selected:
                painter.fillRect(left, y, right - left, height, highlight)
            elif alternate is not None and row % 2:
                painter.fillRect(left, y, right - left, height, alternate)
            for column, x, width in columns:
                if column is Column.PROGRESS:
                    if task.state is State.RUNNING or task.progress > 0:  # a bar only once it moves
                        paint_progress(painter, QRect(x, y, width, height), task.progress, bar_colours)
                    continue
                text = cell_text(task, column)
                if not text:
                    continue
                colour = None if selected else foreground(task, column)
                painter.setPen(highlighted_text if selected else (colour or text_colour))
                inner = width - 2 * TEXT_MARGIN
                key = (text, inner, column in ELIDE_MIDDLE)
                shown = elided.get(key)
                if shown is None:
                    if len(elided) > ELIDE_CACHE:
                        elided.clear()
                    shown = elided[key] = metrics.elidedText(
                        text, middle if column in ELIDE_MIDDLE else right_elide, inner)
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

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._elided.clear()
        super().changeEvent(event)


def paint_progress(painter: QPainter, cell: QRect, fraction: float,
                   colours: tuple[QColor, QColor, QColor, QColor, QColor]) -> None:
    """A flat bar in the palette's colours. The style's own bar (drawControl) cost ten times
    as much, and a repaint draws one per visible running or finished row."""
    frame, base, fill, text, fill_text = colours
    bar = cell.adjusted(3, 4, -3, -4)
    painter.setPen(frame)
    painter.setBrush(base)
    painter.drawRect(bar.adjusted(0, 0, -1, -1))
    fraction = max(0.0, min(1.0, fraction))
    inner = bar.adjusted(1, 1, -1, -1)
    filled = QRect(inner.x(), inner.y(), round(inner.width() * fraction), inner.height())
    painter.fillRect(filled, fill)
    label = f"{fraction * 100:.0f} %"
    centre = int(Qt.AlignmentFlag.AlignCenter)
    painter.setPen(text)
    painter.drawText(bar, centre, label)
    if filled.width() > 0:  # the part of the label over the fill, in the fill's text colour
        painter.save()
        painter.setClipRect(filled)
        painter.setPen(fill_text)
        painter.drawText(bar, centre, label)
        painter.restore()
