"""The Raw tab: the body exactly as received, as text (optionally pretty JSON) or as hex."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.gui.file_dialogs import save_file_name
from inspector.gui.jsondoc import parse_json_body, pretty_json
from inspector.gui.models.hex_model import HexModel, hex_width
from inspector.gui.widgets.flow import flow_row
from inspector.gui.widgets.highlighter import JsonHighlighter
from inspector.gui.widgets.json_view import OFF_THREAD_BYTES, LatestOnlyRunner, format_size

__all__ = ["HIGHLIGHT_LIMIT", "TEXT_LIMIT", "RawMode", "RawView"]

TEXT_LIMIT = 1024 * 1024
"""At most this many bytes (or characters, when pretty) go into the text editor: laying out
more freezes the window for a noticeable time. Copy and Save always use the whole body."""

HIGHLIGHT_LIMIT = 200_000
"""Syntax colouring runs over the whole text on the GUI thread, so only below this size."""


class RawMode(enum.StrEnum):
    TEXT = "text"
    HEX = "hex"


@dataclass(frozen=True, slots=True)
class _Pretty:
    text: str | None
    error: str | None


def _pretty(body: bytes) -> _Pretty:
    result = parse_json_body(body)
    if result.error is not None:
        return _Pretty(None, result.error)
    return _Pretty(pretty_json(result.value), None)


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if "json" in content_type.lower():
        return True
    head = body[:64].lstrip(b" \t\r\n\xef\xbb\xbf")
    return head[:1] in (b"{", b"[")


def _cut_utf8(body: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of ``body``, never splitting a UTF-8 character."""
    if len(body) <= limit:
        return body
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the start of a character.
    while cut > 0 and (body[cut] & 0xC0) == 0x80:
        cut -= 1
    return body[:cut]


class RawView(QWidget):
    """Exact body bytes: Text (with optional Pretty JSON and colouring) or Hex."""

    wrap_changed = Signal(bool)
    """The user turned text wrapping on or off (the window remembers it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._body = b""
        self._content_type = ""
        self._utf8_ok = True
        self._has_nul = False
        self._jsonish = False
        self._pretty: _Pretty | None = None
        self._pretty_runner = LatestOnlyRunner(self)
        self._text_key: tuple[int, bool] | None = None
        self._mode_note = ""
        self._text_note = ""

        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("rawText")
        self.text.setReadOnly(True)
        self.text.setFont(fixed)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._highlighter = JsonHighlighter(self.text.document(), self.text.palette())
        self._highlighter.setDocument(None)

        self.hex_model = HexModel(self)
        self.hex = QTableView(self)
        self.hex.setObjectName("rawHex")
        self.hex.setModel(self.hex_model)
        self.hex.setFont(fixed)
        self.hex.setShowGrid(False)
        self.hex.setWordWrap(False)
        self.hex.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.hex.verticalHeader().hide()
        metrics = QFontMetrics(fixed)
        rows = self.hex.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(metrics.height() + 4)
        columns = self.hex.horizontalHeader()
        columns.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        columns.setStretchLastSection(True)
        self._fit_hex()
        self.hex.viewport().installEventFilter(self)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.text)
        self.stack.addWidget(self.hex)

        self.text_button = self._button("Text", "Show the body as UTF-8 text", checkable=True)
        self.hex_button = self._button("Hex", "Show the exact bytes in hex", checkable=True)
        self._modes = QButtonGroup(self)
        self._modes.setExclusive(True)
        self._modes.addButton(self.text_button)
        self._modes.addButton(self.hex_button)
        self.text_button.setChecked(True)
        self.text_button.toggled.connect(self._mode_toggled)
        self.pretty_button = self._button(
            "Pretty", "Re-indent JSON with 2 spaces (view only)", checkable=True
        )
        self.pretty_button.toggled.connect(self._refresh_text)
        self.wrap_button = self._button(
            "Wrap", "Wrap long lines in the text view (remembered)", checkable=True
        )
        self.wrap_button.setObjectName("rawWrap")
        self.wrap_button.toggled.connect(self._set_wrap)
        self.copy_button = self._button("Copy body", "Copy the whole body as text")
        self.copy_button.clicked.connect(self.copy_body)
        self.save_button = self._button("Save body…", "Write the exact body bytes to a file")
        self.save_button.clicked.connect(self._ask_save)
        self.size_label = QLabel(self)
        self.size_label.setObjectName("rawSize")

        self.note = QLabel(self)
        self.note.setObjectName("rawNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()

        # Wraps in a narrow pane (the GraphQL tab's result column) instead of widening it;
        # the size label takes the spare width, keeping the copy buttons on the right.
        self.size_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.size_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar = flow_row(
            self,
            self.text_button,
            self.hex_button,
            self.pretty_button,
            self.wrap_button,
            self.size_label,
            self.copy_button,
            self.save_button,
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(bar)
        layout.addWidget(self.note)
        layout.addWidget(self.stack, 1)
        self.setFocusProxy(self.text)
        self.clear()

    def _button(self, text: str, tip: str, checkable: bool = False) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(checkable)
        button.setAutoRaise(True)
        return button

    # -- content -----------------------------------------------------------------------------

    @property
    def body(self) -> bytes:
        return self._body

    @property
    def mode(self) -> RawMode:
        return RawMode.HEX if self.hex_button.isChecked() else RawMode.TEXT

    @property
    def pretty_available(self) -> bool:
        return self._pretty is not None and self._pretty.text is not None

    def clear(self) -> None:
        self.set_body(b"")

    def set_body(self, body: bytes, content_type: str = "") -> None:
        """Show ``body``; binary bodies (not UTF-8, or with NUL bytes) open in Hex."""
        self._pretty_runner.cancel()
        self._body = bytes(body)
        self._content_type = content_type
        self._utf8_ok = _is_utf8(self._body)
        self._has_nul = b"\x00" in self._body
        self._jsonish = self._utf8_ok and not self._has_nul and _looks_like_json(body, content_type)
        self._pretty = None
        self._text_key = None
        self.hex_model.set_body(self._body)
        self.size_label.setText(format_size(len(self._body)) if self._body else "")
        for button in (self.copy_button, self.save_button):
            button.setEnabled(bool(self._body))

        binary = not self._utf8_ok or self._has_nul
        if binary:
            reason = "is not valid UTF-8" if not self._utf8_ok else "contains NUL bytes"
            self._mode_note = f"The body {reason}: showing the exact bytes in hex."
        else:
            self._mode_note = ""
        self._prepare_pretty()
        self._set_mode(RawMode.HEX if binary else RawMode.TEXT)

    def _prepare_pretty(self) -> None:
        button = self.pretty_button
        if not self._body:
            self._pretty = _Pretty(None, "The body is empty")
        elif not self._utf8_ok or self._has_nul:
            self._pretty = _Pretty(None, "The body is binary, not JSON text")
        elif not self._jsonish:
            self._pretty = _Pretty(None, "The body does not look like JSON")
        elif len(self._body) > OFF_THREAD_BYTES:
            button.setEnabled(False)
            button.setToolTip("Checking whether the body is JSON…")
            body = self._body
            self._pretty_runner.submit(lambda: _pretty(body), self._pretty_ready)
            return
        else:
            self._pretty = _pretty(self._body)
        self._update_pretty_button()

    def _pretty_ready(self, pretty: _Pretty) -> None:
        self._pretty = pretty
        self._update_pretty_button()
        if self.pretty_button.isChecked():
            self._refresh_text()

    def _update_pretty_button(self) -> None:
        pretty = self._pretty
        button = self.pretty_button
        available = pretty is not None and pretty.text is not None
        if self.hex_button.isChecked() and available:
            button.setEnabled(False)
            button.setToolTip("Pretty applies to the text view: switch to Text")
            return
        if available:
            button.setEnabled(True)
            button.setToolTip("Re-indent JSON with 2 spaces (view only; Copy and Save stay exact)")
        else:
            button.setEnabled(False)
            reason = pretty.error if pretty is not None and pretty.error else "Not JSON"
            button.setToolTip(f"Pretty is off: {reason}")

    # -- modes -------------------------------------------------------------------------------

    def set_mode(self, mode: RawMode) -> None:
        self._set_mode(mode)

    def _set_mode(self, mode: RawMode) -> None:
        button = self.hex_button if mode == RawMode.HEX else self.text_button
        if not button.isChecked():
            button.setChecked(True)  # toggles text_button, which lands in _mode_toggled
        else:
            self._mode_toggled()

    # -- hex fit, wrap -----------------------------------------------------------------------

    def _hex_widths(self, per_row: int) -> tuple[int, int, int]:
        metrics = QFontMetrics(self.hex.font())
        pad = metrics.horizontalAdvance("0") * 2
        return (
            metrics.horizontalAdvance("0" * 8) + pad,
            metrics.horizontalAdvance("0" * hex_width(per_row)) + pad,
            metrics.horizontalAdvance("0" * per_row) + pad,
        )

    def _fit_hex(self) -> None:
        """16 bytes a row when the view is wide enough for all three columns, else 8: the
        text column must always be visible (at the default width it was cut off)."""
        available = self.hex.viewport().width()
        per_row = 16 if sum(self._hex_widths(16)) <= available else 8
        self.hex_model.set_bytes_per_row(per_row)
        columns = self.hex.horizontalHeader()
        for column, width in enumerate(self._hex_widths(per_row)):
            columns.resizeSection(column, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.hex.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_hex()
        return super().eventFilter(watched, event)

    @property
    def wrap(self) -> bool:
        return self.wrap_button.isChecked()

    def set_wrap(self, on: bool) -> None:
        self.wrap_button.setChecked(on)

    def _set_wrap(self, on: bool) -> None:
        self.text.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if on else QPlainTextEdit.LineWrapMode.NoWrap
        )
        self.wrap_changed.emit(on)

    def _mode_toggled(self, _checked: bool = False) -> None:
        hex_mode = self.hex_button.isChecked()
        # Pretty and Wrap are about the text view; in Hex they would do nothing.
        self._update_pretty_button()
        self.wrap_button.setEnabled(not hex_mode)
        self.stack.setCurrentWidget(self.hex if hex_mode else self.text)
        self.setFocusProxy(self.hex if hex_mode else self.text)
        if not hex_mode:
            self._refresh_text()
        self._show_note()

    def _refresh_text(self, _checked: bool = False) -> None:
        if self.hex_button.isChecked():
            self._show_note()
            return
        want_pretty = self.pretty_button.isChecked() and self.pretty_available
        key = (id(self._body), want_pretty)
        if key == self._text_key:
            return
        self._text_key = key
        notes: list[str] = []
        if want_pretty:
            assert self._pretty is not None and self._pretty.text is not None
            full = self._pretty.text
            shown = full[:TEXT_LIMIT]
            if len(shown) < len(full):
                notes.append(
                    f"Showing the first {format_size(TEXT_LIMIT)} of the pretty text; "
                    "Copy body copies all of the exact body."
                )
        else:
            raw = _cut_utf8(self._body, TEXT_LIMIT)
            shown = raw.decode("utf-8", errors="replace")
            if len(raw) < len(self._body):
                notes.append(
                    f"Showing the first {format_size(len(raw))} of "
                    f"{format_size(len(self._body))}; Copy body copies all of it."
                )
        if not self._utf8_ok:
            notes.append(
                "The body is not valid UTF-8: undecodable bytes show as \ufffd. "
                "Hex shows the exact bytes."
            )
        colour = self._jsonish and len(shown) <= HIGHLIGHT_LIMIT
        if self._jsonish and not colour:
            notes.append("Syntax colouring is off for a body this large.")
        # Detach first: colouring a megabyte while it is inserted would freeze the window.
        self._highlighter.setDocument(None)
        self.text.setPlainText(shown)
        if colour:
            self._highlighter.setDocument(self.text.document())
        self._text_note = " ".join(notes)
        self._show_note()

    def _show_note(self) -> None:
        parts = [self._mode_note] if self._mode_note else []
        if not self.hex_button.isChecked() and self._text_note:
            parts.append(self._text_note)
        if not self._body:
            parts = ["The body is empty (0 bytes)."]
        text = " ".join(parts)
        self.note.setText(text)
        self.note.setVisible(bool(text))

    @property
    def shown_text(self) -> str:
        return self.text.toPlainText()

    # -- copy / save -------------------------------------------------------------------------

    def copy_body(self) -> None:
        """Copy the whole body: as text (undecodable bytes replaced) and as the exact bytes."""
        mime = QMimeData()
        mime.setText(self._body.decode("utf-8", errors="replace"))
        mime.setData("application/octet-stream", self._body)
        QGuiApplication.clipboard().setMimeData(mime)

    def save_body(self, path: str | Path) -> None:
        """Write the exact body bytes to ``path``. Raises OSError."""
        Path(path).write_bytes(self._body)

    def _ask_save(self) -> None:
        suffix = ".json" if self._jsonish else ".txt" if self._utf8_ok else ".bin"
        path, _ = save_file_name(self, "Save body", f"body{suffix}", "All files (*)")
        if not path:
            return
        try:
            self.save_body(path)
        except OSError as exc:
            QMessageBox.warning(
                self,
                "Body not saved",
                f"Could not write {path}: {exc.strerror or exc}.\n"
                "Choose another folder, or check permissions and free disk space.",
            )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._highlighter.set_palette(self.text.palette())
        super().changeEvent(event)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
