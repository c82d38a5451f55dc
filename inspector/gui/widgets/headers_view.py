"""Request or response headers in received order and case, duplicates kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
)
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import SignatureHeader
from inspector.core.text import escape_control
from inspector.gui.widgets.json_view import CopyKeyFilter

__all__ = ["HeadersModel", "HeadersView", "format_headers"]

NUMBER, NAME, VALUE = range(3)
_HEADERS = ("#", "Name", "Value")
_SIGNATURES = {header.value: header for header in SignatureHeader}
_DISPLAY_LIMIT = 1000

AnyIndex = QModelIndex | QPersistentModelIndex


def format_headers(pairs: Sequence[tuple[str, str]]) -> str:
    """``Name: value`` lines, as received."""
    return "\n".join(f"{name}: {value}" for name, value in pairs)


def signature_header(name: str) -> SignatureHeader | None:
    return _SIGNATURES.get(name.lower())


class HeadersModel(QAbstractTableModel):
    """# | Name | Value; signature headers in bold."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pairs: list[tuple[str, str]] = []
        self._bold: QFont | None = None

    def set_headers(self, headers: Sequence[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._pairs = [(str(name), str(value)) for name, value in headers]
        self.endResetModel()

    @property
    def headers(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def pair(self, row: int) -> tuple[str, str]:
        return self._pairs[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._pairs)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(_HEADERS)
        ):
            return _HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._pairs):
            return None
        name, value = self._pairs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NUMBER:
                return str(index.row() + 1)
            if column == NAME:
                return escape_control(name)
            if column == VALUE:
                shown = value if len(value) <= _DISPLAY_LIMIT else value[:_DISPLAY_LIMIT] + "…"
                # One line, control characters visible: the sender chose these bytes.
                return escape_control(shown)
        elif role == Qt.ItemDataRole.FontRole and column != NUMBER and signature_header(name):
            if self._bold is None:
                self._bold = QFont()
                self._bold.setBold(True)
            return self._bold
        elif role == Qt.ItemDataRole.ToolTipRole:
            signature = signature_header(name)
            if column == NAME and signature is not None:
                return f"Signature header: {signature.algorithm} over the exact body bytes"
            if column == VALUE:
                return escape_control(value if len(value) <= 4000 else value[:4000] + "…")
        elif role == Qt.ItemDataRole.TextAlignmentRole and column == NUMBER:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class HeadersView(QWidget):
    """A table of headers with copy actions; used for request and response headers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = HeadersModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("headersTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        columns = self.table.horizontalHeader()
        columns.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        columns.setSectionResizeMode(NUMBER, QHeaderView.ResizeMode.ResizeToContents)
        columns.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        columns.setStretchLastSection(True)
        columns.resizeSection(NAME, 180)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("headersCount")
        self.copy_selected_button = QToolButton(self)
        self.copy_selected_button.setText("Copy selected")
        self.copy_selected_button.setToolTip("Copy the selected headers as 'Name: value' lines")
        self.copy_selected_button.setAutoRaise(True)
        self.copy_selected_button.clicked.connect(self.copy_selected)
        self.copy_all_button = QToolButton(self)
        self.copy_all_button.setText("Copy all")
        self.copy_all_button.setToolTip("Copy every header as 'Name: value' lines")
        self.copy_all_button.setAutoRaise(True)
        self.copy_all_button.clicked.connect(self.copy_all)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        bar.addWidget(self.copy_selected_button)
        bar.addWidget(self.copy_all_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.setFocusProxy(self.table)

        self._copy_filter = CopyKeyFilter(self.table, self.copy_selected)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.set_headers([])

    def set_headers(self, headers: Sequence[tuple[str, str]]) -> None:
        self.model.set_headers(headers)
        count = len(headers)
        self.count_label.setText(
            "No headers" if count == 0 else f"{count} header{'' if count == 1 else 's'}"
        )
        self._update_actions()

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def copy_selected(self) -> None:
        rows = self.selected_rows()
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().row()]
        if rows:
            pairs = [self.model.pair(row) for row in rows]
            QGuiApplication.clipboard().setText(format_headers(pairs))

    def copy_value(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            QGuiApplication.clipboard().setText(self.model.pair(index.row())[1])

    def copy_all(self) -> None:
        if self.model.rowCount():
            QGuiApplication.clipboard().setText(format_headers(self.model.headers))

    def _update_actions(self) -> None:
        self.copy_all_button.setEnabled(self.model.rowCount() > 0)
        self.copy_selected_button.setEnabled(bool(self.selected_rows()))

    def _show_menu(self, pos: QPoint) -> None:
        if not self.model.rowCount():
            return
        menu = QMenu(self)
        selected = menu.addAction("Copy selected", self.copy_selected)
        selected.setEnabled(bool(self.selected_rows()))
        value = menu.addAction("Copy value", self.copy_value)
        value.setEnabled(self.table.currentIndex().isValid())
        menu.addAction("Copy all", self.copy_all)
        menu.popup(self.table.viewport().mapToGlobal(pos))
