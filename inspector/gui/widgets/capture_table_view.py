"""The capture table's view: fixed-height rows, and a viewport that stays put while live
rows arrive at the top."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

__all__ = ["CaptureTableView"]


class CaptureTableView(QTableView):
    """Keeps the rows the user is looking at in place while new rows arrive at the top."""

    columns_changed = Signal()
    """The user showed or hid a column (the window saves the header state right away)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("captureTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        # In the middle: a path's tail (the hook name, the query) and an entity ref's number
        # tell rows apart, so both ends stay visible; the tooltip has the whole text.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # Sorting is the model's (ORDER BY in the store); the window enables it once the
        # model is set, so the view only asks, never sorts rows itself.
        self.setSortingEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        # Fixed row heights: the view never measures rows, so 100,000 rows cost nothing.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.update_row_height()
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSortIndicatorShown(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self._scroll_before: int | None = None

    def column_menu(self) -> QMenu:
        """One checkable entry per column: which columns the table shows."""
        menu = QMenu("Columns", self)
        menu.setObjectName("columnMenu")
        header = self.horizontalHeader()
        model = self.model()
        shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
        for visual in range(header.count()):
            column = header.logicalIndex(visual)
            action = QAction(str(model.headerData(column, Qt.Orientation.Horizontal)), menu)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column))
            # The last visible column cannot go: a table without columns cannot get its
            # header (and this menu) back.
            action.setEnabled(not (len(shown) == 1 and column in shown))
            action.toggled.connect(lambda on, c=column: self.set_column_visible(c, on))
            menu.addAction(action)
        return menu

    def set_column_visible(self, column: int, visible: bool) -> None:
        header = self.horizontalHeader()
        header.setSectionHidden(column, not visible)
        if visible and header.sectionSize(column) < 30:
            self.resizeColumnToContents(column)
        self.columns_changed.emit()

    def _header_menu(self, pos: QPoint) -> None:
        self.column_menu().popup(self.horizontalHeader().mapToGlobal(pos))

    def scale_columns(self, ratio: float) -> None:
        """Widen (or narrow) every column with the font: zooming must not leave the text
        elided in columns sized for the old font."""
        header = self.horizontalHeader()
        for column in range(header.count()):
            header.resizeSection(column, max(24, round(header.sectionSize(column) * ratio)))

    def update_row_height(self) -> None:
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self.update_row_height()

    def note_before_insert(self) -> None:
        self._scroll_before = self.verticalScrollBar().value()

    def keep_viewport(self, inserted: int) -> None:
        """Shift the scroll position by the inserted rows' height unless we were at the top."""
        before = self._scroll_before
        self._scroll_before = None
        if not before:
            return
        self.updateGeometries()
        bar = self.verticalScrollBar()
        bar.setValue(before + inserted * self.verticalHeader().defaultSectionSize())
