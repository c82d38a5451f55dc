"""A hex dump as a table model: Offset | Hex | ASCII, 16 bytes a row.

Rows are formatted only when a view asks for them (i.e. when painted), so a 10 MB body costs
nothing until it is scrolled through.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontDatabase

__all__ = ["BYTES_PER_ROW", "HexModel", "ascii_row", "hex_row"]

BYTES_PER_ROW = 16
OFFSET, HEX, ASCII = range(3)
_HEADERS = ("Offset", "Hex", "ASCII")
_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else ord(".") for b in range(256))
_HEX_WIDTH = BYTES_PER_ROW * 3  # two digits and one space a byte, plus the middle gap, less one

AnyIndex = QModelIndex | QPersistentModelIndex


def hex_row(chunk: bytes) -> str:
    """``48 65 6c 6c 6f 20 77 6f  72 6c 64`` padded to a full row so columns line up."""
    half = BYTES_PER_ROW // 2
    left = chunk[:half].hex(" ")
    right = chunk[half:].hex(" ")
    text = f"{left}  {right}" if right else left
    return text.ljust(_HEX_WIDTH)


def ascii_row(chunk: bytes) -> str:
    """Printable ASCII as itself, every other byte as ``.``."""
    return chunk.translate(_PRINTABLE).decode("ascii")


class HexModel(QAbstractTableModel):
    """Read-only hex view of one body."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._body = b""
        self._font: QFont | None = None

    def set_body(self, body: bytes) -> None:
        self.beginResetModel()
        self._body = bytes(body)
        self.endResetModel()

    @property
    def body(self) -> bytes:
        return self._body

    def offset_of(self, index: AnyIndex) -> int:
        """Byte offset of the first byte in ``index``'s row."""
        return index.row() * BYTES_PER_ROW if index.isValid() else 0

    def row_bytes(self, row: int) -> bytes:
        start = row * BYTES_PER_ROW
        return self._body[start : start + BYTES_PER_ROW]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return -(-len(self._body) // BYTES_PER_ROW)

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
                return f"{row * BYTES_PER_ROW:08x}"
            chunk = self.row_bytes(row)
            if column == HEX:
                return hex_row(chunk)
            if column == ASCII:
                return ascii_row(chunk)
        elif role == Qt.ItemDataRole.FontRole:
            if self._font is None:
                self._font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
            return self._font
        elif role == Qt.ItemDataRole.ToolTipRole and column == OFFSET:
            return f"byte {row * BYTES_PER_ROW:,}"
        return None
