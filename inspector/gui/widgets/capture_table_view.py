"""The capture table's view: fixed-height rows, and a viewport that stays put while live
rows arrive at the top."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

__all__ = ["CaptureTableView"]


class CaptureTableView(QTableView):
    """Keeps the rows the user is looking at in place while new rows arrive at the top."""

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
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
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
        self._scroll_before: int | None = None

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
