"""The JSON tab: a lazy tree of the body with find, bounded expand-all and copy actions."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from inspector.core.text import format_size
from inspector.gui.jsondoc import JsonParseResult, parse_json_body
from inspector.gui.models.json_tree import FIND_LIMIT, JsonTreeModel, RowPath
from inspector.gui.widgets.flow import flow_row

__all__ = [
    "EXPAND_LIMIT",
    "OFF_THREAD_BYTES",
    "CopyKeyFilter",
    "JsonView",
    "LatestOnlyRunner",
    "format_size",
]

OFF_THREAD_BYTES = 256 * 1024
"""Bodies larger than this are parsed (and searched) in a worker thread."""

EXPAND_LIMIT = 5000
"""Expand all stops after this many nodes: the view would crawl beyond it."""

_AUTO_EXPAND_ROWS = 50


class _Failed:
    """A job's exception, delivered as a value so the GUI thread decides what to show."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class LatestOnlyRunner(QObject):
    """Runs functions in the global thread pool and delivers only the newest one's result.

    ``submit()`` supersedes any job still running: its result is dropped when it arrives, so a
    slow parse of an old body can never overwrite a newer one. Callbacks run on the GUI thread.
    """

    _done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ticket = 0
        self._callback: Callable[[Any], None] | None = None
        self._done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._callback is not None

    def submit(self, fn: Callable[[], Any], on_result: Callable[[Any], None]) -> None:
        self._ticket += 1
        ticket = self._ticket
        self._callback = on_result
        done = self._done

        def job() -> None:
            try:
                result: Any = fn()
            except Exception as exc:  # delivered, not lost in the pool thread
                result = _Failed(exc)
            # RuntimeError: the owning widget was deleted meanwhile; nobody wants the result.
            with contextlib.suppress(RuntimeError):
                done.emit(ticket, result)

        QThreadPool.globalInstance().start(job)

    def cancel(self) -> None:
        self._ticket += 1
        self._callback = None

    @Slot(int, object)
    def _deliver(self, ticket: int, result: object) -> None:
        if ticket != self._ticket or self._callback is None:
            return
        callback, self._callback = self._callback, None
        if isinstance(result, _Failed):
            raise result.error
        callback(result)


class CopyKeyFilter(QObject):
    """Routes the platform Copy key (Ctrl+C / Cmd+C) on an item view to ``callback``.

    Item views claim Copy for themselves (copying one cell's text) before any QShortcut
    sees it, so the key is taken at the event level instead.
    """

    def __init__(self, view: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(view)
        self._callback = callback
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        wanted = (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride)
        if (
            kind in wanted
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Copy)
        ):
            if kind == QEvent.Type.KeyPress:
                self._callback()
            event.accept()  # on ShortcutOverride: "deliver this key to the view"
            return True
        return False


class JsonView(QWidget):
    """Shows a JSON body as a lazy tree. Bodies that are not JSON get a note, not a crash."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = JsonTreeModel(self)
        self._parser = LatestOnlyRunner(self)
        self._searcher = LatestOnlyRunner(self)
        self._large = False
        self._matches: list[QModelIndex] = []
        self._match_text = ""
        self._match_pos = -1
        self._matches_capped = False

        self.tree = QTreeView(self)
        self.tree.setObjectName("jsonTree")
        self.tree.setModel(self._model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 220)
        header.resizeSection(2, 70)

        self.expand_button = self._button("Expand all", "Expand every node (up to 5,000)")
        self.expand_button.clicked.connect(self.expand_all)
        self.collapse_button = self._button("Collapse all", "Collapse every node")
        self.collapse_button.clicked.connect(self.tree.collapseAll)
        self.find_edit = QLineEdit(self)
        self.find_edit.setObjectName("jsonFind")
        self.find_edit.setPlaceholderText("Find key or value (Enter: next, Shift+Enter: previous)")
        self.find_edit.setClearButtonEnabled(True)
        self.find_edit.returnPressed.connect(self.find_next)
        self.find_edit.textChanged.connect(self._forget_matches)
        self.match_label = QLabel(self)
        self.match_label.setObjectName("jsonMatches")
        self.copy_value_button = self._button("Copy value", "Copy the selected value (Ctrl+C)")
        self.copy_value_button.clicked.connect(self.copy_value)
        self.copy_path_button = self._button("Copy path", "Copy the JSONPath of the selection")
        self.copy_path_button.clicked.connect(self.copy_path)

        self.note = QLabel(self)
        self.note.setObjectName("jsonNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()

        # The find box comes last so that in a narrow pane it wraps onto a row of its own
        # and every button stays in view (no horizontal scrolling in the GraphQL tab).
        self.find_edit.setMinimumWidth(160)
        bar = flow_row(
            self,
            self.expand_button,
            self.collapse_button,
            self.copy_value_button,
            self.copy_path_button,
            self.find_edit,
            self.match_label,
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(bar)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)
        self.setFocusProxy(self.tree)

        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.focus_find)
        previous = QShortcut(QKeySequence("Shift+Return"), self.find_edit)
        previous.setContext(Qt.ShortcutContext.WidgetShortcut)
        previous.activated.connect(self.find_previous)
        self._copy_filter = CopyKeyFilter(self.tree, self.copy_value)
        self._update_actions()

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    # -- content -----------------------------------------------------------------------------

    @property
    def model(self) -> JsonTreeModel:
        return self._model

    @property
    def parsing(self) -> bool:
        """True while a large body is being parsed in the background."""
        return self._parser.busy

    def set_body(self, body: bytes) -> None:
        """Show raw body bytes; large bodies are parsed off the GUI thread."""
        self._reset()
        self._large = len(body) > OFF_THREAD_BYTES
        if self._large:
            self._set_note(f"Parsing {format_size(len(body))} of JSON…")
            data = bytes(body)
            self._parser.submit(lambda: parse_json_body(data), self._show_parsed)
        else:
            self._show_parsed(parse_json_body(body))

    def set_value(self, value: object) -> None:
        """Show an already-parsed value (e.g. a GraphQL result)."""
        self._reset()
        self._model.set_document(value)
        self._auto_expand()

    def clear(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._parser.cancel()
        self._searcher.cancel()
        self._large = False
        self._forget_matches()
        self._model.clear()
        self._set_note("")

    def _show_parsed(self, result: JsonParseResult) -> None:
        if result.error is not None:
            self._model.clear()
            self._set_note(result.error)
        else:
            self._model.set_document(result.value)
            self._set_note("")
            self._auto_expand()
        self._update_actions()

    def _auto_expand(self) -> None:
        # Small documents (a typical Fluent event) read best with the first level open.
        if self._model.rowCount() <= _AUTO_EXPAND_ROWS:
            self.tree.expandToDepth(0)
        self._update_actions()

    def _set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _update_actions(self) -> None:
        has = self._model.has_document
        for widget in (self.expand_button, self.collapse_button, self.find_edit):
            widget.setEnabled(has)
        for widget in (self.copy_value_button, self.copy_path_button):
            widget.setEnabled(has)

    # -- expand ------------------------------------------------------------------------------

    def expand_all(self, limit: int = EXPAND_LIMIT) -> int:
        """Expand breadth-first up to ``limit`` nodes; returns how many were expanded."""
        model = self._model
        queue: deque[QModelIndex] = deque(model.index(row, 0) for row in range(model.rowCount()))
        expanded = 0
        more = False
        self.tree.setUpdatesEnabled(False)
        try:
            while queue:
                index = queue.popleft()
                if not model.hasChildren(index):
                    continue
                if expanded >= limit:
                    more = True
                    break
                self.tree.expand(index)
                expanded += 1
                more = more or model.canFetchMore(index)
                queue.extend(model.index(row, 0, index) for row in range(model.rowCount(index)))
        finally:
            self.tree.setUpdatesEnabled(True)
        if more:
            self._set_note(
                f"Expanded the first {expanded:,} nodes only; the document is larger. "
                "Expand the rest by hand or use Find."
            )
        return expanded

    # -- find --------------------------------------------------------------------------------

    def focus_find(self) -> None:
        self.find_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_edit.selectAll()

    def find_next(self) -> None:
        self._step(+1)

    def find_previous(self) -> None:
        self._step(-1)

    def _forget_matches(self) -> None:
        self._searcher.cancel()
        self._matches = []
        self._match_text = ""
        self._match_pos = -1
        self.match_label.clear()

    def _step(self, direction: int) -> None:
        text = self.find_edit.text()
        if not text or not self._model.has_document:
            return
        if text != self._match_text:
            self._search(text, direction)
            return
        if not self._matches:
            return
        self._match_pos = (self._match_pos + direction) % len(self._matches)
        self._select_match()

    def _search(self, text: str, direction: int) -> None:
        finder = self._model.finder(text, FIND_LIMIT)
        self._match_text = text

        def done(paths: list[RowPath]) -> None:
            self._matches = self._model.indexes_for_paths(paths)
            self._matches_capped = len(paths) >= FIND_LIMIT
            self._match_pos = 0 if direction > 0 else len(self._matches) - 1
            self._select_match()

        if self._large:
            self.match_label.setText("Searching…")
            self._searcher.submit(finder, done)
        else:
            done(finder())

    def _select_match(self) -> None:
        if not self._matches:
            self.match_label.setText("No matches")
            return
        index = self._matches[self._match_pos]
        if not index.isValid():
            return
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        total = f"{len(self._matches):,}{'+' if self._matches_capped else ''}"
        self.match_label.setText(f"{self._match_pos + 1:,} of {total}")

    @property
    def matches(self) -> list[QModelIndex]:
        return list(self._matches)

    # -- copy --------------------------------------------------------------------------------

    def _current(self) -> QModelIndex:
        index = self.tree.currentIndex()
        return index.siblingAtColumn(0) if index.isValid() else QModelIndex()

    def copy_value(self) -> None:
        """Copy the selected value (the whole document when nothing is selected)."""
        if self._model.has_document:
            QGuiApplication.clipboard().setText(self._model.value_text(self._current()))

    def copy_path(self) -> None:
        if self._model.has_document:
            QGuiApplication.clipboard().setText(self._model.json_path(self._current()))

    def copy_key(self) -> None:
        index = self._current()
        if index.isValid():
            QGuiApplication.clipboard().setText(str(self._model.data(index) or ""))

    @Slot(QPoint)
    def _show_menu(self, pos: QPoint) -> None:
        if not self._model.has_document:
            return
        menu = QMenu(self)
        menu.addAction("Copy value", self.copy_value)
        menu.addAction("Copy JSON path", self.copy_path)
        menu.addAction("Copy key", self.copy_key)
        menu.addSeparator()
        menu.addAction("Expand all", self.expand_all)
        menu.addAction("Collapse all", self.tree.collapseAll)
        menu.popup(self.tree.viewport().mapToGlobal(pos))
