"""The GraphQL query editor widget: highlighting, validation marks, schema-aware completion.

Validation (debounced) and completion are :mod:`.language`; this module puts them on a
``QPlainTextEdit``: errors are underlined in place and published with line:column, and
Ctrl+Space opens a completion popup for the cursor position, filtered by the word typed so
far (case-insensitively) and refiltered as one types on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QPlainTextEdit, QTextEdit, QWidget

from inspector.gui.widgets.graphql.highlight import GraphQLHighlighter
from inspector.gui.widgets.graphql.language import (
    CompletionContext,
    Diagnostic,
    completion_context,
    diagnose,
    utf16,
)

if TYPE_CHECKING:
    from graphql import GraphQLSchema  # imported when a schema is built, not at start

__all__ = ["VALIDATION_DELAY_MS", "GraphQLEditor"]

VALIDATION_DELAY_MS = 300

_WORD_CHAR = re.compile(r"[_0-9A-Za-z]")


class GraphQLEditor(QPlainTextEdit):
    """Query editor. ``set_schema(None)`` turns validation against a schema and completion off
    (syntax errors are still marked)."""

    diagnostics_changed = Signal(list)
    """list[Diagnostic] after each (debounced) validation."""
    completion_shown = Signal(list)
    """The rows the completion popup offers, already filtered by the typed prefix."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphqlEditor")
        self._schema: GraphQLSchema | None = None
        self._diagnostics: list[Diagnostic] = []
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(fixed)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 2)
        self.setPlaceholderText("query { … }   (Ctrl+Space: complete, Ctrl+Enter: run)")
        self.highlighter = GraphQLHighlighter(self.document(), self.palette())

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATION_DELAY_MS)
        self._timer.timeout.connect(self.validate_now)
        self.textChanged.connect(self._timer.start)

        self._model = QStringListModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # Unsorted on purpose: a "sorted" model makes QCompleter binary-search it, and one
        # item out of its order (__typename comes last) then hides every match of a prefix.
        self.completer.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
        self.completer.setMaxVisibleItems(12)
        self.completer.activated.connect(self.insert_completion)

    # -- schema and validation ----------------------------------------------------------

    @property
    def schema(self) -> GraphQLSchema | None:
        return self._schema

    def set_schema(self, schema: GraphQLSchema | None) -> None:
        self._schema = schema
        self.validate_now()

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return list(self._diagnostics)

    def validate_now(self) -> list[Diagnostic]:
        """Validate immediately (the debounce timer calls this after typing stops)."""
        self._timer.stop()
        self._diagnostics = diagnose(self.toPlainText(), self._schema)
        self._mark(self._diagnostics)
        self.diagnostics_changed.emit(list(self._diagnostics))
        return list(self._diagnostics)

    def _mark(self, diagnostics: list[Diagnostic]) -> None:
        selections = []
        colour = QColor("#e51400")
        document = self.document()
        for diagnostic in diagnostics:
            block = document.findBlockByNumber(max(0, diagnostic.line - 1))
            if not block.isValid():
                continue
            line = block.text()
            column = min(max(0, diagnostic.column - 1), len(line))
            word = re.match(r"[_A-Za-z0-9$]+", line[column:])
            length = len(word.group()) if word else 1
            start = block.position() + utf16(line, column)
            end = block.position() + utf16(line, min(len(line), column + length))
            if end <= start:
                # The error is at the end of the line (e.g. "expected }"): mark the last char.
                start = max(block.position(), start - 1)
                end = start + 1
            cursor = QTextCursor(document)
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(colour)
            fmt.setToolTip(diagnostic.message)
            selection.format = fmt
            selection.cursor = cursor
            selections.append(selection)
        self.setExtraSelections(selections)

    def marked_ranges(self) -> list[tuple[int, int]]:
        """(start, end) document positions of the underlined errors."""
        out = []
        for selection in self.extraSelections():
            cursor = selection.cursor
            out.append((cursor.selectionStart(), cursor.selectionEnd()))
        return out

    def go_to(self, line: int, column: int) -> None:
        block = self.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        cursor.setPosition(block.position() + utf16(block.text(), max(0, column - 1)))
        self.setTextCursor(cursor)
        self.setFocus()

    # -- completion -----------------------------------------------------------------------

    def _text_before_cursor(self) -> str:
        cursor = self.textCursor()
        block = cursor.block()
        prefix_text = self.toPlainText()
        # Positions count UTF-16 units; rebuild the Python index from the block's own text.
        line_index = cursor.positionInBlock()
        line = block.text()
        units = 0
        chars = 0
        for ch in line:
            if units >= line_index:
                break
            units += 2 if ord(ch) > 0xFFFF else 1
            chars += 1
        lines = prefix_text.split("\n")
        head = "\n".join(lines[: block.blockNumber()])
        return (head + "\n" if block.blockNumber() else "") + line[:chars]

    def _popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # QCompleter always has one once a widget is set
        return popup

    def completion_items(self) -> CompletionContext:
        """What the completion popup would offer at the cursor."""
        return completion_context(self._schema, self._text_before_cursor())

    def request_completion(self) -> CompletionContext:
        """Show the popup for the cursor position (Ctrl+Space), hidden when nothing fits."""
        context = self.completion_items()
        popup = self._popup()
        if list(context.items) != self._model.stringList():
            self._model.setStringList(list(context.items))
        self.completer.setCompletionPrefix(context.prefix)
        rows = self.completion_rows()
        if not rows:
            popup.hide()
            return context
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        self._place_popup()
        self.completion_shown.emit(rows)
        return context

    def _place_popup(self) -> None:
        # The cursor's line in view first: the popup opens at the cursor, not where the
        # line was before the editor scrolled.
        self.ensureCursorVisible()
        popup = self._popup()
        rect = self.cursorRect()
        rect.setWidth(
            max(200, popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width())
        )
        self.completer.complete(rect)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # The diagnostics line below the editor appears while typing and shrinks it: an open
        # popup follows the cursor instead of floating where the line used to be.
        if self._popup().isVisible():
            self._place_popup()

    def completion_rows(self) -> list[str]:
        """The rows the popup shows now (the items that match the typed prefix)."""
        model = self.completer.completionModel()
        return [str(model.index(row, 0).data()) for row in range(model.rowCount())]

    def insert_completion(self, text: str) -> None:
        cursor = self.textCursor()
        prefix = self.completer.completionPrefix()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
        )
        cursor.insertText(text)
        self.setTextCursor(cursor)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self._popup()
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Enter,
            Qt.Key.Key_Return,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
        ):
            event.ignore()  # the completer's popup handles these
            return
        ctrl = event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier
        )
        if ctrl and event.key() == Qt.Key.Key_Space:
            self.request_completion()
            return
        super().keyPressEvent(event)
        if popup.isVisible():
            typed = event.text()
            if event.key() == Qt.Key.Key_Backspace or _WORD_CHAR.fullmatch(typed):
                # Still in the word (or a digit of it): offer what fits the longer prefix.
                self.request_completion()
            elif typed or event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
                # A space, "(", ":"… ends the word; so does leaving it.
                popup.hide()

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self.highlighter.set_palette(self.palette())
