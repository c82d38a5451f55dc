"""The side-by-side diff of two captures (``core/diff.py`` computes it; this only shows it).

Top: both captures (time, event, entity, answer, both verdicts) and one sentence on the body.
Tabs: *Side by side*, both bodies pretty-printed with every changed, added or removed value's
lines highlighted (JSON: by path, so key order and whitespace never show; text: the lines of
the unified diff); *Changes*, one row per path (A's value, B's value); *Headers*, one row per
header that differs (names case-insensitive).
"""

from __future__ import annotations

import difflib
import html
import json
from collections.abc import Iterator

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import Capture, SignatureHeader, Verdict
from inspector.core.capture_ids import MIN_SHORT
from inspector.core.diff import CaptureDiff, Change, json_path
from inspector.core.text import escape_control
from inspector.gui import theme

__all__ = ["CHANGE_COLORS", "DiffDialog", "DiffView", "pretty_lines"]

MAX_CELL = 300
"""Characters of a value a Changes cell shows (the side-by-side view has all of it)."""
MAX_PRETTY_BYTES = 4 * 1024 * 1024
"""Bodies larger than this are shown in the side-by-side view as text, not re-indented."""

CHANGE_COLORS: dict[Change, tuple[str, str]] = {
    # (light background, dark background)
    Change.ADDED: ("#d8f5dc", "#1f4a2a"),
    Change.REMOVED: ("#fbdada", "#5a2424"),
    Change.CHANGED: ("#fff0c2", "#5a4a1a"),
}
_LABELS = {Change.ADDED: "added", Change.REMOVED: "removed", Change.CHANGED: "changed"}


def pretty_lines(value: object) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """``value`` as indented JSON lines, and each path's (first, last) line.

    Paths are named as ``core/diff.py`` names them (:func:`json_path`), so a change's path
    finds its lines."""
    lines: list[str] = []
    spans: dict[str, tuple[int, int]] = {}

    def emit(item: object, path: str, indent: str, prefix: str, comma: str) -> None:
        start = len(lines)
        if isinstance(item, dict) and item:
            lines.append(f"{indent}{prefix}{{")
            keys = list(item)
            for i, key in enumerate(keys):
                name = json.dumps(key, ensure_ascii=False)
                emit(item[key], json_path(path, key), indent + "  ", f"{name}: ", _comma(i, keys))
            lines.append(f"{indent}}}{comma}")
        elif isinstance(item, list) and item:
            lines.append(f"{indent}{prefix}[")
            for i, element in enumerate(item):
                emit(element, json_path(path, i), indent + "  ", "", _comma(i, item))
            lines.append(f"{indent}]{comma}")
        else:
            lines.append(f"{indent}{prefix}{json.dumps(item, ensure_ascii=False)}{comma}")
        spans[path] = (start, len(lines) - 1)

    emit(value, "$", "", "", "")
    return lines, spans


def _comma(index: int, items: object) -> str:
    return "," if index < len(items) - 1 else ""  # type: ignore[arg-type]


def _parse(body: bytes) -> object:
    if len(body) > MAX_PRETTY_BYTES:
        raise ValueError("too large")
    return json.loads(body.decode("utf-8"))


def _cell(value: object, present: bool) -> str:
    if not present:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _verdicts(capture: Capture) -> str:
    parts = []
    for header in SignatureHeader:
        verdict = capture.signature(header).verdict
        color = "#1b7f3a" if verdict is Verdict.VALID else "#c0392b"
        parts.append(
            f"{header.value} <span style='color:{color}'>{verdict.symbol} {verdict.label}</span>"
        )
    return " &nbsp; ".join(parts)


def side_text(label: str, capture: Capture) -> str:
    """One capture's line at the top (rich text)."""
    event = capture.event
    what = ""
    if event is not None:
        what = " ".join(p for p in (event.name, event.entity_type, event.entity_ref) if p)
        if event.entity_status:
            what += f" [{event.entity_status}]"
    when = capture.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return (
        f"<b>{label}</b> &nbsp;<code>{capture.id[:12]}</code> &nbsp;{when} &nbsp;"
        f"{html.escape(escape_control(what))} &nbsp;→ {capture.response.status}"
        f"<br>{_verdicts(capture)}"
    )


class _Side(QPlainTextEdit):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.highlighted: dict[int, Change] = {}

    def show_lines(self, lines: list[str], marks: dict[int, Change], dark: bool) -> None:
        self.setPlainText("\n".join(lines))
        self.highlighted = dict(marks)
        selections = []
        document = self.document()
        for line, change in sorted(marks.items()):
            block = document.findBlockByNumber(line)
            if not block.isValid():
                continue
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor(CHANGE_COLORS[change][dark]))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(block)
            selection.cursor = cursor
            selections.append(selection)
        self.setExtraSelections(selections)


def _mark(marks: dict[int, Change], span: tuple[int, int] | None, change: Change) -> None:
    if span is None:
        return
    for line in range(span[0], span[1] + 1):
        marks.setdefault(line, change)


def _parents(path: str, spans: dict[str, tuple[int, int]]) -> Iterator[tuple[int, int]]:
    # A value added to (removed from) one side has no lines on the other: point at the
    # line that opens its nearest parent present there instead.
    while path not in spans and path != "$":
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else "$"
    if path in spans:
        yield spans[path][0], spans[path][0]


class DiffView(QWidget):
    """Shows one :class:`CaptureDiff`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a_label = QLabel(self)
        self.b_label = QLabel(self)
        for label in (self.a_label, self.b_label):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
        self.summary = QLabel(self)
        self.summary.setObjectName("diffSummary")
        self.summary.setWordWrap(True)
        font = QFont(self.summary.font())
        font.setBold(True)
        self.summary.setFont(font)
        self.notes = QLabel(self)
        self.notes.setObjectName("diffNotes")
        self.notes.setWordWrap(True)
        self.left = _Side("diffA", self)
        self.right = _Side("diffB", self)
        self.left.verticalScrollBar().valueChanged.connect(self.right.verticalScrollBar().setValue)
        self.right.verticalScrollBar().valueChanged.connect(self.left.verticalScrollBar().setValue)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.left)
        split.addWidget(self.right)
        self.changes = self._table("diffChanges", ("Path", "Change", "A", "B"))
        self.headers = self._table("diffHeaders", ("Header", "Change", "A", "B"))
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(split, "Side by side")
        self.tabs.addTab(self.changes, "Changes")
        self.tabs.addTab(self.headers, "Headers")
        sides = QHBoxLayout()
        sides.addWidget(self.a_label, 1)
        sides.addWidget(self.b_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(sides)
        layout.addWidget(self.summary)
        layout.addWidget(self.notes)
        layout.addWidget(self.tabs, 1)
        self.diff: CaptureDiff | None = None

    def _table(self, name: str, columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns), self)
        table.setObjectName(name)
        table.setHorizontalHeaderLabels(list(columns))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        return table

    # -- showing ---------------------------------------------------------------------------
    def set_diff(self, diff: CaptureDiff) -> None:
        self.diff = diff
        dark = theme.is_dark(self.palette())
        self.a_label.setText(side_text("A", diff.a))
        self.b_label.setText(side_text("B", diff.b))
        body = diff.body
        count = len(body.changes)
        if body.same:
            kind = "JSON: key order and whitespace ignored" if body.is_json else "text"
            self.summary.setText(f"No differences in the body ({kind}).")
        elif body.is_json:
            self.summary.setText(
                f"{count} difference{'s' * (count != 1)} in the body "
                "(JSON: key order and whitespace ignored)."
            )
        else:
            self.summary.setText("The bodies differ (not both JSON: compared as text).")
        headers = len(diff.headers)
        header_note = (
            f"{headers} header difference{'s' * (headers != 1)}." if headers else "Same headers."
        )
        self.notes.setText("  ".join([*(f"Note: {n}." for n in body.notes), header_note]))
        self._fill_changes(diff, dark)
        self._fill_headers(diff, dark)
        self._fill_sides(diff, dark)
        self.tabs.setTabText(1, f"Changes ({count})")
        self.tabs.setTabText(2, f"Headers ({headers})")

    def _row(self, table: QTableWidget, cells: tuple[str, ...], change: Change, dark: bool) -> None:
        row = table.rowCount()
        table.insertRow(row)
        color = QColor(CHANGE_COLORS[change][dark])
        for column, text in enumerate(cells):
            # Paths, values and header lines quote the requests: controls shown, not acted on.
            text = escape_control(text)
            item = QTableWidgetItem(text)
            item.setToolTip(text[:2000])
            item.setBackground(color)
            table.setItem(row, column, item)

    def _fill_changes(self, diff: CaptureDiff, dark: bool) -> None:
        self.changes.setRowCount(0)
        if not diff.body.is_json:
            return
        for c in diff.body.changes:
            cells = (
                c.path,
                _LABELS[c.change],
                _cell(c.old, c.change is not Change.ADDED),
                _cell(c.new, c.change is not Change.REMOVED),
            )
            self._row(self.changes, cells, c.change, dark)

    def _fill_headers(self, diff: CaptureDiff, dark: bool) -> None:
        self.headers.setRowCount(0)
        for h in diff.headers:
            cells = (h.name, _LABELS[h.change], h.old or "", h.new or "")
            self._row(self.headers, cells, h.change, dark)

    def _fill_sides(self, diff: CaptureDiff, dark: bool) -> None:
        a_marks: dict[int, Change] = {}
        b_marks: dict[int, Change] = {}
        if diff.body.is_json:
            try:
                a_lines, a_spans = pretty_lines(_parse(diff.a.body))
                b_lines, b_spans = pretty_lines(_parse(diff.b.body))
            except (ValueError, UnicodeDecodeError, RecursionError):
                pass
            else:
                for c in diff.body.changes:
                    if c.change is Change.ADDED:
                        _mark(b_marks, b_spans.get(c.path), c.change)
                        for span in _parents(c.path, a_spans):
                            _mark(a_marks, span, Change.CHANGED)
                    elif c.change is Change.REMOVED:
                        _mark(a_marks, a_spans.get(c.path), c.change)
                        for span in _parents(c.path, b_spans):
                            _mark(b_marks, span, Change.CHANGED)
                    else:
                        _mark(a_marks, a_spans.get(c.path), c.change)
                        _mark(b_marks, b_spans.get(c.path), c.change)
                self.left.show_lines(a_lines, a_marks, dark)
                self.right.show_lines(b_lines, b_marks, dark)
                return
        a_lines = diff.a.body.decode("utf-8", errors="replace").splitlines()
        b_lines = diff.b.body.decode("utf-8", errors="replace").splitlines()
        if not diff.body.same:
            a_marks, b_marks = _text_marks(a_lines, b_lines)
        self.left.show_lines(a_lines, a_marks, dark)
        self.right.show_lines(b_lines, b_marks, dark)

    def changed_paths(self) -> list[str]:
        """The Changes tab's paths, top to bottom (tests, and the lead's screenshots)."""
        items = (self.changes.item(r, 0) for r in range(self.changes.rowCount()))
        return [item.text() for item in items if item is not None]


def _text_marks(a: list[str], b: list[str]) -> tuple[dict[int, Change], dict[int, Change]]:
    a_marks: dict[int, Change] = {}
    b_marks: dict[int, Change] = {}
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        change = {"replace": Change.CHANGED, "delete": Change.REMOVED, "insert": Change.ADDED}[tag]
        for i in range(i1, i2):
            a_marks[i] = change
        for j in range(j1, j2):
            b_marks[j] = change
    return a_marks, b_marks


class DiffDialog(QDialog):
    """A window of its own (non-modal), so two diffs can be looked at next to each other."""

    def __init__(self, diff: CaptureDiff, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffDialog")
        # 13 digits: UUIDv7 ids share their first 12 (the millisecond) within a burst.
        self.setWindowTitle(f"Compare {diff.a.id[:MIN_SHORT]} with {diff.b.id[:MIN_SHORT]}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.view = DiffView(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view)
        self.view.set_diff(diff)
        self.resize(1100, 700)
