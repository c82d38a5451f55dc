"""A GraphQL query editor: highlighting, validation marks and schema-aware completion.

Validation parses and validates the text with graphql-core against the profile's schema
(debounced); errors are underlined in place and published with line:column. Completion
(Ctrl+Space) works on a tolerant scan of the text before the cursor: it follows the braces
to find the enclosing selection path, resolves the types from the root operation type, and
offers the fields of that type, or the arguments of the field whose parentheses hold the
cursor. It therefore works on the half-written, invalid queries people complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    parse,
    validate,
)
from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QPalette,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QPlainTextEdit, QTextEdit, QWidget

from inspector.gui.widgets.highlighter import PaletteHighlighter

__all__ = [
    "VALIDATION_DELAY_MS",
    "CompletionContext",
    "Diagnostic",
    "GraphQLEditor",
    "GraphQLHighlighter",
    "completion_context",
    "diagnose",
    "graphql_colours",
]

VALIDATION_DELAY_MS = 300

# --------------------------------------------------------------------------------------
# Highlighting

# (light background, dark background); each readable on white / #1e1e1e.
_COLOURS = {
    "keyword": ("#af00db", "#c586c0"),
    "type": ("#267f99", "#4ec9b0"),
    "field": ("#001080", "#9cdcfe"),
    "argument": ("#795e26", "#dcdcaa"),
    "variable": ("#0070c1", "#4fc1ff"),
    "string": ("#a31515", "#ce9178"),
    "number": ("#098658", "#b5cea8"),
    "comment": ("#008000", "#6a9955"),
    "punctuation": ("#5a5a5a", "#a8a8a8"),
}
_KEYWORDS = frozenset(
    {"query", "mutation", "subscription", "fragment", "on", "true", "false", "null"}
)
_TOKEN = re.compile(
    r"(?P<comment>#.*)"
    r'|(?P<blockstring>""")'
    r'|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<variable>\$[_A-Za-z][_0-9A-Za-z]*)"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)(?P<colon>\s*:)?"
    r"|(?P<punctuation>\.\.\.|[!&()\[\]{}|:=@])"
)
_IN_BLOCK_STRING = 1


def graphql_colours(palette: QPalette) -> dict[str, QColor]:
    """Token colours for ``palette``: the dark set when the text background is dark."""
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return {name: QColor(pair[1] if dark else pair[0]) for name, pair in _COLOURS.items()}


def _utf16(text: str, index: int) -> int:
    """Qt counts UTF-16 code units; Python counts code points."""
    prefix = text[:index]
    if prefix.isascii():
        return index
    return len(prefix.encode("utf-16-le")) // 2


class GraphQLHighlighter(PaletteHighlighter):
    """Keywords, type names, fields, arguments, $variables, strings, numbers, comments."""

    def colours(self, palette: QPalette) -> dict[str, QColor]:
        return graphql_colours(palette)

    def token_format(self, name: str, colour: QColor) -> QTextCharFormat:
        fmt = super().token_format(name, colour)
        if name == "comment":
            fmt.setFontItalic(True)
        elif name == "keyword":
            fmt.setFontWeight(QFont.Weight.DemiBold)
        return fmt

    def _set(self, text: str, start: int, end: int, kind: str) -> None:
        begin = _utf16(text, start)
        self.setFormat(begin, _utf16(text, end) - begin, self._formats[kind])

    def highlightBlock(self, text: str) -> None:
        self.setCurrentBlockState(0)
        pos = 0
        if self.previousBlockState() == _IN_BLOCK_STRING:
            close = text.find('"""')
            if close < 0:
                self._set(text, 0, len(text), "string")
                self.setCurrentBlockState(_IN_BLOCK_STRING)
                return
            self._set(text, 0, close + 3, "string")
            pos = close + 3
        previous_word = ""
        for match in _TOKEN.finditer(text, pos):
            kind = match.lastgroup
            start, end = match.span()
            if kind == "blockstring":
                close = text.find('"""', end)
                if close < 0:
                    self._set(text, start, len(text), "string")
                    self.setCurrentBlockState(_IN_BLOCK_STRING)
                    return
                self._set(text, start, close + 3, "string")
                # Tokens inside the string are skipped by restarting after it.
                self._highlight_rest(text, close + 3)
                return
            if kind == "colon":
                kind = "name"
            if kind == "name":
                word = match.group("name")
                end = match.end("name")
                if word in _KEYWORDS:
                    kind = "keyword"
                elif match.group("colon"):
                    kind = "argument"
                elif word[0].isupper() or previous_word == "on":
                    kind = "type"
                else:
                    kind = "field"
                previous_word = word
            if kind is not None:
                self._set(text, start, end, kind)

    def _highlight_rest(self, text: str, pos: int) -> None:
        # A block string closed mid-line: colour the remainder like a fresh line.
        rest = text[pos:]
        if not rest.strip():
            return
        for match in _TOKEN.finditer(text, pos):
            kind = match.lastgroup
            if kind in (None, "blockstring"):
                continue
            if kind == "name":
                word = match.group("name")
                kind = "keyword" if word in _KEYWORDS else "field"
                self._set(text, match.start(), match.end("name"), kind)
            elif kind != "colon":
                self._set(text, match.start(), match.end(), kind)


# --------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in the query text, at a 1-based line and column (code points)."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.message}"


def _diagnostics_from(error: GraphQLError) -> list[Diagnostic]:
    message = error.message
    locations = error.locations or []
    if not locations:
        return [Diagnostic(1, 1, message)]
    return [Diagnostic(loc.line, loc.column, message) for loc in locations[:1]]


def diagnose(text: str, schema: GraphQLSchema | None) -> list[Diagnostic]:
    """Syntax errors always; schema errors (unknown fields, wrong arguments...) with a schema."""
    if not text.strip():
        return []
    try:
        document = parse(text)
    except GraphQLError as error:
        return _diagnostics_from(error)
    if schema is None:
        return []
    try:
        errors = validate(schema, document)
    except (GraphQLError, TypeError) as exc:
        return [Diagnostic(1, 1, f"could not validate: {exc}")]
    found: list[Diagnostic] = []
    for problem in errors:
        found.extend(_diagnostics_from(problem))
    return sorted(found, key=lambda d: (d.line, d.column))


# --------------------------------------------------------------------------------------
# Completion

_SCAN = re.compile(
    r'(?P<ws>[\s,]+)|(?P<comment>#[^\n]*)|(?P<blockstring>"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$))'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"?)|(?P<spread>\.\.\.)|(?P<name>[_A-Za-z][_0-9A-Za-z]*)'
    r"|(?P<number>-?\d[\d.eE+-]*)|(?P<punct>[!$&()\[\]{}|:=@.])|(?P<other>.)",
    re.DOTALL,
)
_OPERATIONS = ("query", "mutation", "subscription")
_PREFIX = re.compile(r"[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True, slots=True)
class CompletionContext:
    """What may be typed at a cursor: ``items`` to offer, ``prefix`` already typed."""

    items: tuple[str, ...]
    prefix: str
    kind: str
    """"field", "argument", "type", "keyword" or "" (nothing to offer)."""
    parent_type: str = ""
    """The type whose fields (or the field whose arguments) are offered."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for match in _SCAN.finditer(text):
        kind = match.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind in ("string", "blockstring", "number"):
            out.append("<value>")
        else:
            out.append(match.group())
    return out


def _fields_of(type_: Any) -> dict[str, Any]:
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        return dict(type_.fields)
    return {}


def completion_context(
    schema: GraphQLSchema | None, text: str, offset: int | None = None
) -> CompletionContext:
    """What to offer at ``offset`` (default: end of ``text``) in a possibly invalid query."""
    before = text if offset is None else text[:offset]
    match = _PREFIX.search(before)
    prefix = ""
    if match is not None and (match.start() == 0 or before[match.start() - 1] != "$"):
        prefix = match.group()
        before = before[: match.start()]
    elif match is not None:
        return CompletionContext((), match.group(), "")
    if schema is None:
        return CompletionContext((), prefix, "")
    tokens = _tokens(before)

    # Frames: ("brace", descriptor) for selection sets, ("object", None) for object values,
    # ("paren", owner) for arguments / variable definitions, ("bracket", None) for lists.
    frames: list[tuple[str, Any]] = []
    opened: dict[int, int] = {}
    paren_starts: list[int] = []
    for index, token in enumerate(tokens):
        if token == "(":
            paren_starts.append(index)
            owner = tokens[index - 1] if index else ""
            is_directive = index >= 2 and tokens[index - 2] == "@"
            in_selection = any(kind == "brace" for kind, _ in frames)
            frames.append(
                ("paren", (owner, "directive" if is_directive else "field", in_selection))
            )
        elif token == ")":
            if paren_starts:
                opened[index] = paren_starts.pop()
            if frames and frames[-1][0] == "paren":
                frames.pop()
        elif token == "[":
            frames.append(("bracket", None))
        elif token == "]":
            if frames and frames[-1][0] == "bracket":
                frames.pop()
        elif token == "{":
            if frames and frames[-1][0] in ("paren", "object", "bracket"):
                frames.append(("object", None))
            else:
                frames.append(("brace", _selection_owner(tokens, index, opened, frames)))
        elif token == "}" and frames and frames[-1][0] in ("brace", "object"):
            frames.pop()

    parent = _resolve(schema, [d for kind, d in frames if kind == "brace"])
    last = tokens[-1] if tokens else ""
    top = frames[-1] if frames else None

    if top is not None and top[0] == "paren":
        owner, owner_kind, in_selection = top[1]
        if last == ":" or not in_selection:
            if not in_selection and last == ":":
                names = sorted(
                    name
                    for name, t in schema.type_map.items()
                    if not name.startswith("__")
                    and not isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
                    and not isinstance(t, GraphQLUnionType)
                )
                return CompletionContext(tuple(names), prefix, "type")
            return CompletionContext((), prefix, "")
        if owner_kind == "directive":
            directive = schema.get_directive(owner)
            args = sorted(directive.args) if directive is not None else []
            return CompletionContext(tuple(args), prefix, "argument", f"@{owner}")
        field = _fields_of(parent).get(owner)
        args = sorted(field.args) if field is not None else []
        parent_name = getattr(parent, "name", "")
        return CompletionContext(tuple(args), prefix, "argument", f"{parent_name}.{owner}")

    if top is None or top[0] != "brace":
        if not tokens or last == "}":
            return CompletionContext((*_OPERATIONS, "fragment"), prefix, "keyword")
        return CompletionContext((), prefix, "")
    if last == "on":
        names = sorted(
            name
            for name, t in schema.type_map.items()
            if not name.startswith("__")
            and isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        )
        return CompletionContext(tuple(names), prefix, "type")
    if last == "...":
        return CompletionContext(("on",), prefix, "keyword")
    if parent is None:
        return CompletionContext((), prefix, "")
    names = sorted(_fields_of(parent))
    if not isinstance(parent, GraphQLInputObjectType):
        names.append("__typename")
    return CompletionContext(tuple(names), prefix, "field", parent.name)


def _selection_owner(
    tokens: list[str], index: int, opened: dict[int, int], frames: list[tuple[str, Any]]
) -> tuple[str, str]:
    """What the ``{`` at ``index`` selects on: ("op", kind), ("type", T) or ("field", f)."""
    j = index - 1
    while j >= 0:
        if tokens[j] == ")" and j in opened:
            j = opened[j] - 1
            continue
        if j >= 1 and tokens[j - 1] == "@":  # a directive: skip it
            j -= 2
            continue
        break
    at_top = not any(kind == "brace" for kind, _ in frames)
    if j < 0:
        return ("op", "query")
    word = tokens[j]
    before = tokens[j - 1] if j >= 1 else ""
    if at_top:
        if word in _OPERATIONS:
            return ("op", word)
        if before in _OPERATIONS:
            return ("op", before)
        if before == "on":
            return ("type", word)
        return ("op", "query")
    if before == "on":
        return ("type", word)
    if word == "...":
        return ("same", "")
    return ("field", word)


def _resolve(schema: GraphQLSchema, path: list[tuple[str, str]]) -> Any:
    current: Any = None
    for kind, name in path:
        if kind == "op":
            current = {
                "query": schema.query_type,
                "mutation": schema.mutation_type,
                "subscription": schema.subscription_type,
            }.get(name)
        elif kind == "type":
            current = schema.get_type(name)
        elif kind == "field":
            field = _fields_of(current).get(name)
            current = get_named_type(field.type) if field is not None else None
        # "same": an inline fragment without a type condition keeps the type.
    return current


# --------------------------------------------------------------------------------------
# The editor


class GraphQLEditor(QPlainTextEdit):
    """Query editor. ``set_schema(None)`` turns validation against a schema and completion off
    (syntax errors are still marked)."""

    diagnostics_changed = Signal(list)
    """list[Diagnostic] after each (debounced) validation."""
    completion_shown = Signal(list)
    """The items offered by the completion popup (for tests and status lines)."""

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
        self.completer.setModelSorting(QCompleter.ModelSorting.CaseInsensitivelySortedModel)
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
            start = block.position() + _utf16(line, column)
            end = block.position() + _utf16(line, min(len(line), column + length))
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
        cursor.setPosition(block.position() + _utf16(block.text(), max(0, column - 1)))
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
        """Show the popup for the cursor position (Ctrl+Space)."""
        context = self.completion_items()
        if not context.items:
            self._popup().hide()
            return context
        self._model.setStringList(list(context.items))
        self.completer.setCompletionPrefix(context.prefix)
        popup = self._popup()
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(
            max(200, popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width())
        )
        self.completer.complete(rect)
        self.completion_shown.emit(list(context.items))
        return context

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
            match = _PREFIX.search(self._text_before_cursor())
            prefix = match.group() if match else ""
            if not prefix and event.text() and not event.text().isalnum():
                popup.hide()
                return
            self.completer.setCompletionPrefix(prefix)
            popup.setCurrentIndex(self.completer.completionModel().index(0, 0))

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self.highlighter.set_palette(self.palette())
