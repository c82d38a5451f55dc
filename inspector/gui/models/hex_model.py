"""A hex dump as a table model: Offset | Hex | ASCII, 16 bytes a row (8 in a narrow view).

Rows are formatted only when a view asks for them (i.e. when painted), so a 10 MB body costs
nothing until it is scrolled through.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontDatabase

__all__ = ["BYTES_PER_ROW", "HexModel", "ascii_row", "hex_row", "hex_width"]

BYTES_PER_ROW = 16
OFFSET, HEX, ASCII = range(3)
_HEADERS = ("Offset", "Hex", "ASCII")
_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else ord(".") for b in range(256))

AnyIndex = QModelIndex | QPersistentModelIndex


def hex_width(per_row: int = BYTES_PER_ROW) -> int:
    """Characters in a full row of ``hex_row`` (two digits and a space a byte, one more
    space in the middle, none after the last byte)."""
    return per_row * 3


def hex_row(chunk: bytes, per_row: int = BYTES_PER_ROW) -> str:
    """``48 65 6c 6c 6f 20 77 6f  72 6c 64`` padded to a full row so columns line up."""
    half = per_row // 2
    left = chunk[:half].hex(" ")
    right = chunk[half:].hex(" ")
    text = f"{left}  {right}" if right else left
    return text.ljust(hex_width(per_row))


def ascii_row(chunk: bytes) -> str:
    """Printable ASCII as itself, every other byte as ``.``."""
    return chunk.translate(_PRINTABLE).decode("ascii")


class HexModel(QAbstractTableModel):
    """Read-only hex view of one body."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._body = b""
        self._font: QFont | None = None
        self._per_row = BYTES_PER_ROW

    @property
    def bytes_per_row(self) -> int:
        return self._per_row

    def set_bytes_per_row(self, per_row: int) -> None:
        """16 normally, 8 when the view is too narrow for 16 (the text column must fit)."""
        if per_row != self._per_row:
            self.beginResetModel()
            self._per_row = per_row
            self.endResetModel()

    def set_body(self, body: bytes) -> None:
        self.beginResetModel()
        self._body = bytes(body)
        self.endResetModel()

    @property
    def body(self) -> bytes:
        return self._body

    def offset_of(self, index: AnyIndex) -> int:
        """Byte offset of the first byte in ``index``'s row."""
        return index.row() * self._per_row if index.isValid() else 0

    def row_bytes(self, row: int) -> bytes:
        start = row * self._per_row
        return self._body[start : start + self._per_row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return -(-len(self._body) // self._per_row)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(_HEADERS):
            return _HEADERS[section]
        if orientation == Qt.Orientation.Vertical:
            return f"{section * BYTES_PER_ROW:08x}"
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == OFFSET:
                return f"{row * self._per_row:08x}"
            chunk = self.row_bytes(row)
            if column == HEX:
                return hex_row(chunk, self._per_row)
            if column == ASCII:
                return ascii_row(chunk)
        elif role == Qt.ItemDataRole.FontRole:
            if self._font is None:
                self._font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
            return self._font
        elif role == Qt.ItemDataRole.ToolTipRole and column == OFFSET:
            return f"byte {row * self._per_row:,}"
        return None
