"""A lazy tree model over an already-parsed JSON value (columns Key | Value | Type).

Nothing walks the whole document up front: a node's children are created the first time a
view asks for them, at most ``CHUNK`` at a time, and the rest arrive through
``canFetchMore``/``fetchMore``. A 100k-item array therefore shows instantly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QGuiApplication, QPalette

from inspector.core.text import escape_control
from inspector.gui.jsondoc import compact_json, json_kind, scalar_text

__all__ = ["CHUNK", "FIND_LIMIT", "JsonTreeModel", "RowPath"]

CHUNK = 1000
"""Children created per fetch; also how many a node shows before the view asks for more."""

FIND_LIMIT = 500
"""find() stops after this many matches."""

_DISPLAY_LIMIT = 300
_TOOLTIP_LIMIT = 2000
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")

KEY, VALUE, TYPE = range(3)
_HEADERS = ("Key", "Value", "Type")

AnyIndex = QModelIndex | QPersistentModelIndex
RowPath = tuple[int, ...]
"""Row numbers from the top level down to one node."""


class _Node:
    """One value in the document. ``children`` stays None until someone asks for them."""

    __slots__ = ("children", "key", "keys", "parent", "row", "size", "value")

    def __init__(self, parent: _Node | None, row: int, key: str | int | None, value: object):
        self.parent = parent
        self.row = row
        self.key = key
        self.value = value
        self.size = len(value) if isinstance(value, dict | list) else 0
        self.children: list[_Node] | None = None
        self.keys: list[str] | None = None


def _preview(value: object) -> str:
    if isinstance(value, dict):
        n = len(value)
        return f"{{{n:,} key{'' if n == 1 else 's'}}}"
    if isinstance(value, list):
        n = len(value)
        return f"[{n:,} item{'' if n == 1 else 's'}]"
    return _one_line(scalar_text(value), _DISPLAY_LIMIT)


def _one_line(text: str, limit: int) -> str:
    # A multi-line value in a one-line cell would be clipped silently, and an ESC or a bidi
    # override from the sender would act instead of show: make every control visible.
    if len(text) > limit:
        text = text[:limit] + "…"
    return escape_control(text)


def path_segment(key: str | int | None) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    if _IDENTIFIER.match(key):
        return f".{key}"
    return "[" + compact_json(key) + "]"


class JsonTreeModel(QAbstractItemModel):
    """Key | Value | Type over one JSON value; children are created lazily, in chunks."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = _Node(None, 0, None, {})
        self._document: object = None
        self._has_document = False
        # Slots connected to our reset/insert signals (views, model testers) may call
        # fetchMore() while that change is still being announced; nesting an insert inside
        # it would corrupt their bookkeeping, so such calls are ignored (fetchMore is a hint).
        self._announcing = False

    # -- document ---------------------------------------------------------------------------

    def set_document(self, value: object) -> None:
        """Show ``value`` (dict, list or scalar). Cheap: no children are created here."""
        self.beginResetModel()
        self._document = value
        self._has_document = True
        if isinstance(value, dict | list):
            self._root = _Node(None, 0, None, value)
        else:
            # A scalar document still needs one visible row; its wrapper list is not data.
            self._root = _Node(None, 0, None, [value])
        self._end_reset()

    def _end_reset(self) -> None:
        self._announcing = True
        try:
            self.endResetModel()
        finally:
            self._announcing = False

    def clear(self) -> None:
        self.beginResetModel()
        self._root = _Node(None, 0, None, {})
        self._document = None
        self._has_document = False
        self._end_reset()

    @property
    def document(self) -> object:
        return self._document

    @property
    def has_document(self) -> bool:
        return self._has_document

    # -- node plumbing ---------------------------------------------------------------------

    def _is_scalar_wrapper(self, node: _Node) -> bool:
        return node is self._root and not isinstance(self._document, dict | list)

    def _make_children(self, node: _Node, start: int, stop: int) -> list[_Node]:
        value = node.value
        if start >= stop:
            return []
        if isinstance(value, dict):
            if node.keys is None:
                node.keys = list(value)
            keys = node.keys
            return [_Node(node, r, keys[r], value[keys[r]]) for r in range(start, stop)]
        assert isinstance(value, list)
        if self._is_scalar_wrapper(node):
            return [_Node(node, 0, None, value[0])]
        return [_Node(node, r, r, value[r]) for r in range(start, stop)]

    def _children(self, node: _Node) -> list[_Node]:
        # The first chunk appears without insert signals: nobody has seen this node's row
        # count yet, so from the outside it always had these rows.
        if node.children is None:
            node.children = self._make_children(node, 0, min(node.size, CHUNK))
        return node.children

    def _node(self, index: AnyIndex) -> _Node:
        if not index.isValid():
            return self._root
        node = index.internalPointer()
        assert isinstance(node, _Node)
        return node

    def _index_of(self, node: _Node, column: int = 0) -> QModelIndex:
        if node is self._root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    def _grow(self, node: _Node, upto: int) -> None:
        """Make at least ``upto`` children exist (rounded up to a chunk), with signals."""
        children = self._children(node)
        have = len(children)
        if upto <= have:
            return
        target = min(node.size, -(-upto // CHUNK) * CHUNK)
        if target <= have:
            return
        self._announcing = True
        try:
            self.beginInsertRows(self._index_of(node), have, target - 1)
            children.extend(self._make_children(node, have, target))
            self.endInsertRows()
        finally:
            self._announcing = False

    # -- QAbstractItemModel ----------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column < 0 or column >= len(_HEADERS) or row < 0:
            return QModelIndex()
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        node = self._node(parent)
        children = self._children(node)
        if row >= len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        node = self._node(index)
        parent = node.parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._children(self._node(parent)))

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return False
        return self._node(parent).size > 0

    def canFetchMore(self, parent: AnyIndex) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        node = self._node(parent)
        return len(self._children(node)) < node.size

    def fetchMore(self, parent: AnyIndex) -> None:
        if self._announcing or (parent.isValid() and parent.column() != 0):
            return
        node = self._node(parent)
        self._grow(node, len(self._children(node)) + CHUNK)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(_HEADERS)
        ):
            return _HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self._node(index)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == KEY:
                return self._key_text(node)
            if column == VALUE:
                return _preview(node.value)
            if column == TYPE:
                return json_kind(node.value)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == KEY:
                return self._path_of(node)
            if column == VALUE and node.size == 0:
                text = scalar_text(node.value)
                return escape_control(
                    text if len(text) <= _TOOLTIP_LIMIT else text[:_TOOLTIP_LIMIT] + "…"
                )
        elif role == Qt.ItemDataRole.ForegroundRole and (
            column == TYPE or (column == VALUE and isinstance(node.value, dict | list))
        ):
            return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        return None

    # -- public helpers ----------------------------------------------------------------------

    def _key_text(self, node: _Node) -> str:
        key = node.key
        if key is None:
            return "(value)"
        if isinstance(key, int):
            return f"[{key}]"
        return escape_control(key) if key else '""'

    def _path_of(self, node: _Node) -> str:
        parts: list[str] = []
        current: _Node | None = node
        while current is not None and current is not self._root:
            parts.append(path_segment(current.key))
            current = current.parent
        return "$" + "".join(reversed(parts))

    def json_path(self, index: AnyIndex) -> str:
        """JSONPath of the value at ``index``, e.g. ``$.items[0].attributes["weird key"]``."""
        return self._path_of(self._node(index))

    def value_at(self, index: AnyIndex) -> object:
        """The Python value at ``index``; the whole document for an invalid index."""
        if not index.isValid():
            return self._document
        return self._node(index).value

    def value_text(self, index: AnyIndex) -> str:
        """Scalars as plain text (strings unquoted), containers as compact JSON."""
        value = self.value_at(index)
        if isinstance(value, dict | list):
            return compact_json(value)
        return scalar_text(value)

    def find(self, text: str, limit: int = FIND_LIMIT) -> list[QModelIndex]:
        """Indexes (column 0) whose key or scalar value contains ``text``, case-insensitive.

        Document order; stops after ``limit`` matches. Rows on the way to each match are
        fetched so a view can select and scroll to them.
        """
        return self.indexes_for_paths(self.finder(text, limit)())

    def finder(self, text: str, limit: int = FIND_LIMIT) -> Callable[[], list[RowPath]]:
        """A function that searches the current document and returns row paths.

        It touches no Qt object, so it may run in a worker thread (documents are never
        mutated); turn its result into indexes with :meth:`indexes_for_paths` on the GUI
        thread, after checking the document was not replaced meanwhile.
        """
        needle = text.casefold()
        root = self._root.value
        if not needle or not self._has_document:
            return list
        return lambda: _find_paths(root, needle, limit)

    def indexes_for_paths(self, paths: list[RowPath]) -> list[QModelIndex]:
        return [self._materialize(path) for path in paths]

    def _materialize(self, path: tuple[int, ...]) -> QModelIndex:
        node = self._root
        for position in path:
            self._grow(node, position + 1)
            node = self._children(node)[position]
        return self._index_of(node)


def _find_paths(root: object, needle: str, limit: int) -> list[tuple[int, ...]]:
    # An explicit stack, not recursion: documents can be nested close to the parser's limit.
    found: list[tuple[int, ...]] = []
    stack: list[tuple[str | None, object, tuple[int, ...]]] = []

    def push_children(value: object, path: tuple[int, ...]) -> None:
        if isinstance(value, dict):
            items = list(value.items())
            for pos in range(len(items) - 1, -1, -1):
                key, child = items[pos]
                stack.append((key, child, (*path, pos)))
        elif isinstance(value, list):
            for pos in range(len(value) - 1, -1, -1):
                stack.append((None, value[pos], (*path, pos)))

    push_children(root, ())
    while stack and len(found) < limit:
        key, value, path = stack.pop()
        if isinstance(value, dict | list):
            if key is not None and needle in key.casefold():
                found.append(path)
            push_children(value, path)
        elif (key is not None and needle in key.casefold()) or needle in scalar_text(
            value
        ).casefold():
            found.append(path)
    return found
