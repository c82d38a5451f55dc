"""The live capture table: a Qt model over the store with lazy paging and batched inserts.

Painting must stay cheap. Every call from Qt into Python must take the GIL, which the
listener's threads hold much of the time under load, so the count of calls per repaint is
what matters, not their speed: the model answers all roles of a cell in one ``multiData()``
call (Qt's delegates ask for seven roles per cell), leaves ``flags()`` to C++, and every row's
display strings are formatted once, when the row is loaded, into a tuple that is only indexed.

Counts are exact: the total and the matching count are advanced only from rows read back
with ``since()`` past a sequence number, never from notifications, so a row seen by
``since()`` before its notification arrived is not counted twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from inspector.core.capture import Capture, SignatureHeader, Verdict
from inspector.core.errors import InspectorError
from inspector.core.redact import REDACTED, Badge, badge, badge_detail
from inspector.core.store import NEWEST_FIRST, CaptureQuery, CaptureRow, SortOrder, Store
from inspector.core.store.query import sort_value
from inspector.core.text import escape_control, format_size
from inspector.gui.delegates.verdict_badge import VERDICT_ROLE

ID_ROLE = Qt.ItemDataRole.UserRole + 2
"""The capture id of a row (any column)."""
SEQ_ROLE = Qt.ItemDataRole.UserRole + 3
_ANY_QUERY = CaptureQuery()
_T = TypeVar("_T")

PAGE_SIZE = 200
BATCH_INTERVAL_MS = 50
BUSY_BATCH_INTERVAL_MS = 200
"""The live-batch interval while captures arrive fast: each batch repaints the whole viewport
(rows move down), and under load a repaint is slow (GIL), so fewer, larger batches."""
BUSY_BATCH_ROWS = 20
"""A batch with at least this many captures means "arriving fast" (400/s at 50 ms)."""
# A consistent (count, max seq) pair needs no commit between the two reads; under a live
# load a few tries usually find a quiet moment.
_COUNT_TRIES = 4
# A burst larger than this between two ticks is cheaper to show by reloading the first page
# than by inserting it row by row into a view the user cannot follow anyway.
MAX_LIVE_BATCH = 5000
MAX_ROWS_PER_TICK = 100
"""At most this many rows are read and inserted per live tick; a larger backlog continues
on the next tick, ``CATCH_UP_MS`` later. Reading and formatting ~200 rows at once (a busy
tick's worth at 1,000/s) stalled the event loop past 50 ms while other threads held the GIL."""
CATCH_UP_MS = 0

COL_TIME = 0
COL_METHOD = 1
COL_PATH = 2
COL_EVENT = 3
COL_ENTITY_TYPE = 4
COL_ENTITY_REF = 5
COL_STATUS = 6
COL_RESPONSE = 7
COL_SIZE = 8
COL_FLEX = 9
COL_FLUENT = 10
COL_ATTEMPT = 11
COL_ENTITY_NOW = 12
COL_RULE = 13

COLUMNS: tuple[str, ...] = (
    "Time",
    "Method",
    "Path",
    "Event",
    "Entity type",
    "Entity ref",
    "Status",
    "Response",
    "Size",
    SignatureHeader.FLEX.value,
    SignatureHeader.FLUENT.value,
    "Attempt",
    "Entity now",
    "Rule",
)
COLUMN_TIPS: tuple[str, ...] = (
    "When the request arrived (local time)",
    "HTTP method",
    "Request path and query",
    "Fluent event name",
    "Event entityType",
    "Event entityRef",
    "Event entityStatus",
    "HTTP status the inspector answered",
    "Body size",
    "flex.signature: RSA PKCS#1 v1.5 with MD5 over the raw body",
    "fluent-signature: RSA PKCS#1 v1.5 with SHA-512 over the raw body",
    "Delivery number among captures with the same event id (retries)",
    "The entity's status now, from its latest GraphQL follow-up (auto follow-up or Run in "
    "the GraphQL tab); Status is what the webhook said",
    "The response rule that answered (empty: the default answer), and a failed forward",
)
BADGE_COLUMNS = (COL_FLEX, COL_FLUENT)
SORT_KEYS_BY_COLUMN: dict[int, str] = {
    COL_TIME: "seq",
    COL_METHOD: "method",
    COL_PATH: "path",
    COL_EVENT: "event_name",
    COL_ENTITY_TYPE: "entity_type",
    COL_ENTITY_REF: "entity_ref",
    COL_STATUS: "entity_status",
    COL_RESPONSE: "response_status",
    COL_SIZE: "size",
    COL_FLEX: "flex_verdict",
    COL_FLUENT: "fluent_verdict",
    COL_ATTEMPT: "attempt",
}
"""The store's sort key per column. Entity now is not in the capture store (it comes from
the follow-up history), so it does not sort."""
# Columns where the interesting end is the big one: a first click sorts them descending.
_DESCENDING_FIRST = frozenset({COL_TIME, COL_SIZE, COL_RESPONSE, COL_ATTEMPT})
# Entity-now values that are not a status but a failed look-up.
_PROBLEMS = frozenset({"error", "not found"})
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter
_ALIGN = {COL_RESPONSE: _CENTER, COL_SIZE: _RIGHT, COL_ATTEMPT: _CENTER}
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_PER_COLUMN = frozenset({_FONT, _ALIGNMENT})
# Roles the delegates ask for that this model never serves: answered without a lookup.
_UNSERVED = frozenset(
    int(r.value)
    for r in (
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.CheckStateRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.SizeHintRole,
        Qt.ItemDataRole.EditRole,
        Qt.ItemDataRole.StatusTipRole,
        Qt.ItemDataRole.WhatsThisRole,
        Qt.ItemDataRole.AccessibleDescriptionRole,
    )
)

_CAUSES = {
    Verdict.INVALID: "no configured key verifies this body - wrong environment's or region's "
    "key, or the body was changed after signing",
    Verdict.MISSING: "header missing - a proxy may have dropped it (nginx ignores dotted "
    "header names by default)",
    Verdict.MALFORMED: "not a usable signature (not base64, or the wrong length for every key)",
    Verdict.NO_KEY: "no public key configured - add Fluent's key for this environment (Ctrl+K)",
}


def format_time(moment: datetime) -> str:
    local = moment.astimezone()
    return local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def verdict_tooltip(header: SignatureHeader, verdict: Verdict, key: str | None) -> str:
    if verdict is Verdict.VALID:
        return (
            f"{header.value}: valid - verified with key '{key}'"
            if key
            else (f"{header.value}: valid")
        )
    return f"{header.value}: {verdict.label} - {_CAUSES.get(verdict, '')}"


def event_cell(row: CaptureRow) -> str:
    """The Event column: the event name, or why there is none (an empty cell looked like a
    parsing bug), marked when the payload breaks Fluent's Event model."""
    if row.payload_problems:
        return f"⚠ {row.event_name or '(payload)'}"
    if row.event_name:
        return row.event_name
    if row.rejected:
        return "(rejected)"
    kind = row.content_type.split(";", 1)[0].strip() or "no content type"
    # "application/" says nothing here and pushed the telling part past the column's end.
    return f"— not a Fluent event ({kind.removeprefix('application/')})"


def row_badge(row: CaptureRow, header: SignatureHeader) -> Badge:
    """What a row's badge shows: its verdict, or "redacted" (``core/redact.py``)."""
    verdict = row.flex if header is SignatureHeader.FLEX else row.fluent
    return verdict if row.redacted is None else badge(verdict, header, row.redacted)


def _badge_text(shown: Badge) -> str:
    return f"{shown.symbol} {shown.label}"


def row_verdict_tooltip(row: CaptureRow, header: SignatureHeader) -> str:
    flex = header is SignatureHeader.FLEX
    verdict, key = (row.flex, row.flex_key) if flex else (row.fluent, row.fluent_key)
    if row.redacted is not None and row_badge(row, header) is REDACTED:
        # The key name is the imported file's: shown escaped like every value from outside.
        return escape_control(f"{header.value}: {badge_detail(verdict, key, row.redacted)}")
    return verdict_tooltip(header, verdict, key)


def row_cells(row: CaptureRow) -> tuple[str, ...]:
    """Every display string of a row, computed once when the row is loaded."""
    path = f"{row.path}?{row.query}" if row.query else row.path
    # Everything but the time, size, verdicts and attempt came from the request.
    cells = (
        format_time(row.received_at),
        row.method,
        path,
        event_cell(row),
        row.entity_type,
        row.entity_ref,
        row.entity_status,
        str(row.response_status),
        format_size(row.size),
        _badge_text(row_badge(row, SignatureHeader.FLEX)),
        _badge_text(row_badge(row, SignatureHeader.FLUENT)),
        f"{row.attempt}/{row.attempts}" if row.event_id else "",
        "",  # Entity now: looked up live, never cached here
        rule_text(row),
    )
    return tuple(map(escape_control, cells))


def rule_text(row: CaptureRow) -> str:
    """The Rule cell: which rule answered, and a forward that failed (the capture's mark)."""
    parts = [row.rule] if row.rule else []
    if row.forward_error:
        parts.append(f"forward failed: {row.forward_error}")
    return " · ".join(parts)


class CaptureTableModel(QAbstractTableModel):
    """Newest capture first. Older rows are paged in on demand; new ones arrive in batches."""

    rows_inserted_at_top = Signal(int)
    """Emitted after a live batch of n rows was inserted at row 0."""
    counts_changed = Signal(int, int)
    """(captures matching the filter, captures in the store)."""
    error = Signal(object)
    """An InspectorError from the store (shown by the window, never raised into Qt)."""
    order_changed = Signal(int, Qt.SortOrder)
    """(column, order) the rows are now sorted by (also when a click asked for a column that
    cannot sort, so the view puts its indicator back)."""

    def __init__(
        self,
        store: Store,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
        batch_interval_ms: int = BATCH_INTERVAL_MS,
        status_lookup: Callable[[Sequence[CaptureRow]], Mapping[str, str]] | None = None,
        max_rows_per_tick: int = MAX_ROWS_PER_TICK,
    ) -> None:
        """``status_lookup`` gives loaded rows' "Entity now" statuses from saved follow-ups,
        keyed by capture id (asked once per page of rows, each row only the first time it is
        loaded from the store). ``max_rows_per_tick`` bounds one live tick's work."""
        super().__init__(parent)
        self._store = store
        self._status_lookup = status_lookup
        self._entity_now: dict[str, str] = {}
        self._looked_up: set[str] = set()
        self._page_size = page_size
        self._tick_rows = max(1, max_rows_per_tick)
        self._query = CaptureQuery()
        self._order = NEWEST_FIRST
        self._rows: list[CaptureRow] = []
        self._cells: list[tuple[str, ...]] = []
        self._exhausted = True
        self._max_seq = 0
        """Rows matching the query with seq <= this are loaded or counted in ``matching``."""
        self._total_seq = 0
        """Every stored row with seq <= this is counted in ``total``."""
        self._matching = 0
        self._total = 0
        self._bold = QFont()
        self._bold.setBold(True)
        self._error_color = QColor("#dc2626")
        # Per column: the roles whose answer does not depend on the row.
        self._static: list[dict[int, object]] = [{} for _ in COLUMNS]
        self._static[COL_METHOD][_FONT] = self._bold
        for column, align in _ALIGN.items():
            self._static[column][_ALIGNMENT] = int(align.value)
        self._batch_interval_ms = batch_interval_ms
        self._busy_interval_ms = max(batch_interval_ms, BUSY_BATCH_INTERVAL_MS)
        self._timer = QTimer(self)
        self._timer.setInterval(batch_interval_ms)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        self.reload()

    # -- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def multiData(
        self,
        index: QModelIndex | QPersistentModelIndex,
        roleDataSpan: QModelRoleDataSpan | QModelRoleData,
    ) -> None:
        """Every role a delegate asks for, in one call from Qt (one GIL hand-over per cell)."""
        spans: Iterable[QModelRoleData] = (
            (roleDataSpan,) if isinstance(roleDataSpan, QModelRoleData) else roleDataSpan  # type: ignore[assignment]
        )
        if not index.isValid():
            for item in spans:
                item.clearData()
            return
        r = index.row()
        c = index.column()
        static = self._static[c]
        for item in spans:
            role = item.role()
            if role == _DISPLAY:
                value: object = (
                    self._cells[r][c]
                    if c != COL_ENTITY_NOW
                    else self._entity_now.get(self._rows[r].id, "")
                )
            elif role in _UNSERVED:
                value = None
            elif role in _PER_COLUMN:
                value = static.get(role)
            elif role == _FOREGROUND:
                value = self._foreground(r, c)
            else:
                value = self.data(index, role)
            if value is None:
                item.clearData()
            else:
                item.setData(value)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid():
            return None
        r = index.row()
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if c == COL_ENTITY_NOW:
                return self._entity_now.get(self._rows[r].id, "")
            return self._cells[r][c]
        if role in _UNSERVED:
            return None
        if role == VERDICT_ROLE:
            if c == COL_FLEX:
                return row_badge(self._rows[r], SignatureHeader.FLEX)
            if c == COL_FLUENT:
                return row_badge(self._rows[r], SignatureHeader.FLUENT)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole or role == Qt.ItemDataRole.FontRole:
            return self._static[c].get(int(role))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, c)
        if role == ID_ROLE:
            return self._rows[r].id
        if role == SEQ_ROLE:
            return self._rows[r].seq
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(r, c)
        return None

    def _foreground(self, r: int, c: int) -> QColor | None:
        if c == COL_RESPONSE and self._rows[r].response_status >= 400:
            return self._error_color
        if c == COL_ENTITY_NOW and self._entity_now.get(self._rows[r].id) in _PROBLEMS:
            return self._error_color
        if c == COL_RULE and self._rows[r].forward_error:
            return self._error_color
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section not in SORT_KEYS_BY_COLUMN:
                return COLUMN_TIPS[section] + " (does not sort: it is not in the capture store)"
            return COLUMN_TIPS[section] + " - click to sort"
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            descending = section in _DESCENDING_FIRST
            return Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the store (the view calls this on a header click): ORDER BY with keyset
        paging, so the order covers every stored row, not just the loaded pages."""
        key = SORT_KEYS_BY_COLUMN.get(column)
        if key is None:
            self.order_changed.emit(*self.sort_column())
            return
        self.set_order(SortOrder(key, order == Qt.SortOrder.DescendingOrder))

    def sort_column(self) -> tuple[int, Qt.SortOrder]:
        column = next(c for c, k in SORT_KEYS_BY_COLUMN.items() if k == self._order.key)
        qt_order = (
            Qt.SortOrder.DescendingOrder
            if self._order.descending
            else (Qt.SortOrder.AscendingOrder)
        )
        return column, qt_order

    @property
    def order(self) -> SortOrder:
        return self._order

    def set_order(self, order: SortOrder) -> None:
        if order != self._order:
            self._order = order
            self.reload()
        self.order_changed.emit(*self.sort_column())

    # flags() is deliberately not overridden: QAbstractTableModel's C++ default (enabled,
    # selectable, never has children) is what this table needs, and the view asks for it per
    # painted cell - a Python override would cost one more GIL hand-over each time.

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:
        if parent.isValid() or self._exhausted:
            return
        # Rows stored after the snapshot reach the table through since(), never here.
        after = self._rows[-1] if self._rows else None
        rows = self._safe(
            lambda: self._store.page(
                self._query,
                before_seq=self._max_seq + 1,
                limit=self._page_size,
                order=self._order,
                after=after,
            )
        )
        if rows is None:
            self._exhausted = True
            return
        if len(rows) < self._page_size:
            self._exhausted = True
        if not rows:
            return
        self._look_up(rows)
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self._cells.extend(row_cells(row) for row in rows)
        self.endInsertRows()

    # -- public API -----------------------------------------------------------------------
    @property
    def query(self) -> CaptureQuery:
        return self._query

    @property
    def matching(self) -> int:
        return self._matching

    @property
    def total(self) -> int:
        return self._total

    @property
    def batch_interval_ms(self) -> int:
        """The live-batch interval while captures arrive slowly (busy: at least 200 ms)."""
        return self._batch_interval_ms

    def set_batch_interval(self, ms: int, busy_ms: int | None = None) -> None:
        self._batch_interval_ms = ms
        self._busy_interval_ms = max(ms, BUSY_BATCH_INTERVAL_MS if busy_ms is None else busy_ms)
        self._timer.setInterval(ms)

    def set_query(self, query: CaptureQuery) -> None:
        self._query = query
        self.reload()

    def reload(self) -> None:
        """Reset to the first page of the current query (filter change, import, clear)."""
        self._timer.stop()
        self._timer.setInterval(self._batch_interval_ms)
        self.beginResetModel()
        self._rows = []
        self._cells = []
        self._exhausted = False
        # The counts' snapshot also bounds the first page, so that live rows are picked up
        # (and counted) exactly once, by since(), whether they arrive before or after it.
        snapshot = self._snapshot_counts()
        if snapshot is None:
            self._exhausted = True
        else:
            rows = self._safe(
                lambda: self._store.page(
                    self._query, before_seq=snapshot + 1, limit=self._page_size, order=self._order
                )
            )
            rows = rows or []
            self._look_up(rows)
            self._rows = rows
            self._cells = [row_cells(row) for row in rows]
            self._exhausted = len(rows) < self._page_size
        self.endResetModel()
        if snapshot is not None:
            self.counts_changed.emit(self._matching, self._total)

    def capture_added(self, capture: Capture | None = None) -> None:
        """A capture was committed (any thread's notification, delivered on the GUI thread).

        Only a wake-up: rows and counts are read back with since(), which applies the filter
        and sees each row once, however late or early its notification comes."""
        del capture
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Insert what was stored since the last tick (at most ``max_rows_per_tick`` rows, the
        oldest first; the rest on the next tick) as one block at the top; also what a poll
        timer calls when another process writes the store."""
        self._timer.stop()
        cap = self._tick_rows
        filtered = self._query != _ANY_QUERY
        arrived: list[CaptureRow] | None = []
        if filtered:
            # The total counts every capture, the filtered read below only the matching ones.
            arrived = self._safe(lambda: self._store.since(self._total_seq, _ANY_QUERY, cap))
            if arrived is None:
                return
        rows = self._safe(lambda: self._store.since(self._max_seq, self._query, cap))
        if rows is None or arrived is None:
            return
        if not filtered:
            arrived = rows
        more = len(rows) >= cap or len(arrived) >= cap
        if more and self._backlog() >= MAX_LIVE_BATCH:
            self.reload()
            return
        counted = len(arrived)
        if arrived:
            self._total_seq = max(self._total_seq, arrived[-1].seq)
        if rows:
            self._max_seq = max(self._max_seq, rows[-1].seq)
        if len(rows) < cap:
            # Rows commit in seq order, so no row at or below the total's mark can still
            # match unseen (the filtered read came after the total's and saw all it could):
            # skipping them keeps the filtered read short when nothing matches.
            self._max_seq = max(self._max_seq, self._total_seq)
        at_top = self._order == NEWEST_FIRST
        if rows:
            rows.reverse()  # since() is oldest first; the table is newest first
            self._refresh_attempts(rows)
            if at_top:
                self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
                self._rows[0:0] = rows
                self._cells[0:0] = [row_cells(row) for row in rows]
                self.endInsertRows()
            else:
                self._insert_sorted(rows)
        if counted or rows:
            self._total += counted
            self._matching += len(rows)
            self.counts_changed.emit(self._matching, self._total)
        if rows and at_top:
            self.rows_inserted_at_top.emit(len(rows))
        if more:
            # A backlog: the rest on the next tick, after the loop has run other events.
            self._timer.setInterval(CATCH_UP_MS)
            self._timer.start()
            return
        # Adaptive batching: while captures pour in, insert (and repaint) less often.
        busy = counted >= BUSY_BATCH_ROWS
        self._timer.setInterval(self._busy_interval_ms if busy else self._batch_interval_ms)
        if counted:
            # More may be on the way without a notification (another process writing the
            # store, or the tail of a burst); one more look costs a cheap since().
            self._timer.start()

    def set_entity_status(self, capture_id: str, status: str) -> None:
        """Show the entity's current status (from a follow-up) in the capture's row."""
        self._looked_up.add(capture_id)
        if self._entity_now.get(capture_id) == status:
            return
        self._entity_now[capture_id] = status
        row = self.row_of(capture_id)
        if row is not None:
            cell = self.index(row, COL_ENTITY_NOW)
            self.dataChanged.emit(cell, cell)

    def entity_status(self, capture_id: str) -> str | None:
        return self._entity_now.get(capture_id)

    def row_at(self, row: int) -> CaptureRow:
        return self._rows[row]

    def rows(self) -> Sequence[CaptureRow]:
        return tuple(self._rows)

    def row_of(self, capture_id: str) -> int | None:
        for i, row in enumerate(self._rows):
            if row.id == capture_id:
                return i
        return None

    def remove_ids(self, capture_ids: Iterable[str]) -> int:
        """Delete captures from the store and the rows showing them."""
        wanted = set(capture_ids)
        if not wanted:
            return 0
        deleted = self._safe(lambda: self._store.delete(wanted))
        if deleted is None:
            return 0
        for capture_id in wanted:
            self._entity_now.pop(capture_id, None)
            self._looked_up.discard(capture_id)
        loaded = [row.seq for row in self._rows if row.id in wanted]
        # Remove from the bottom so earlier indices stay valid; one call per contiguous run.
        index = len(self._rows) - 1
        while index >= 0:
            if self._rows[index].id in wanted:
                end = index
                while index - 1 >= 0 and self._rows[index - 1].id in wanted:
                    index -= 1
                self.beginRemoveRows(QModelIndex(), index, end)
                del self._rows[index : end + 1]
                del self._cells[index : end + 1]
                self.endRemoveRows()
            index -= 1
        if deleted == len(loaded):
            # Exactly the loaded rows went: every one was counted in matching, and in the
            # total unless it was read after the total's mark (filtered reads can run ahead).
            self._matching -= deleted
            self._total -= sum(1 for seq in loaded if seq <= self._total_seq)
            self.counts_changed.emit(self._matching, self._total)
        else:
            self._recount()
        return deleted

    def clear_all(self) -> int:
        cleared = self._safe(self._store.clear)
        self.forget_all()
        return cleared or 0

    def forget_all(self) -> None:
        """Drop every loaded row and cached status and re-read the store (after a clear that
        ran in a worker, so the GUI thread never waits on a large delete)."""
        self._entity_now.clear()
        self._looked_up.clear()
        self.reload()

    def refresh_rows(self) -> None:
        """Re-read the loaded rows (signatures re-verified) without losing the selection."""
        if not self._rows:
            return
        fresh: dict[str, CaptureRow] = {}
        # By seq range, whatever the table's order: sorted rows are not a contiguous range.
        oldest = min(row.seq for row in self._rows)
        before = max(row.seq for row in self._rows) + 1
        while True:
            page = self._safe(
                functools.partial(self._store.page, self._query, before_seq=before, limit=1000)
            )
            if not page:
                break
            fresh.update((row.id, row) for row in page)
            before = page[-1].seq
            if before <= oldest or len(page) < 1000:
                break
        for i, row in enumerate(self._rows):
            new = fresh.get(row.id)
            if new is not None and new != row:
                self._rows[i] = new
                self._cells[i] = row_cells(new)
        self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    # -- internals ------------------------------------------------------------------------
    def _look_up(self, rows: Iterable[CaptureRow]) -> None:
        lookup = self._status_lookup
        if lookup is None:
            return
        fresh = [row for row in rows if row.id not in self._looked_up]
        if not fresh:
            return
        self._looked_up.update(row.id for row in fresh)
        for capture_id, status in lookup(fresh).items():
            if status:
                self._entity_now[capture_id] = status

    def _insert_sorted(self, rows: Iterable[CaptureRow]) -> None:
        """Live rows in a sorted table go where the order puts them among the loaded rows.
        One that sorts after the last loaded row is left for fetchMore(), whose keyset read
        (bounded by the live mark, which now includes it) finds it in its place."""
        order = self._order
        for row in rows:
            key = (sort_value(row, order), row.seq)
            lo, hi = 0, len(self._rows)
            while lo < hi:
                mid = (lo + hi) // 2
                other = (sort_value(self._rows[mid], order), self._rows[mid].seq)
                if (other > key) if order.descending else (other < key):
                    lo = mid + 1
                else:
                    hi = mid
            if lo == len(self._rows) and not self._exhausted:
                continue
            self.beginInsertRows(QModelIndex(), lo, lo)
            self._rows.insert(lo, row)
            self._cells.insert(lo, row_cells(row))
            self.endInsertRows()

    def _tooltip(self, r: int, c: int) -> str | None:
        row = self._rows[r]
        if c == COL_FLEX:
            return row_verdict_tooltip(row, SignatureHeader.FLEX)
        if c == COL_FLUENT:
            return row_verdict_tooltip(row, SignatureHeader.FLUENT)
        if c == COL_TIME:
            return row.received_at.astimezone().isoformat(sep=" ", timespec="milliseconds")
        if c == COL_RESPONSE and row.rejected:
            return f"Rejected: {row.rejected}"
        if c == COL_ATTEMPT and row.event_id:
            return f"Delivery {row.attempt} of {row.attempts} with event id {row.event_id}"
        if c == COL_EVENT and row.payload_problems:
            return f"Payload problems (Fluent's Event model): {row.payload_problems}"
        if (
            c == COL_PATH
            or (c == COL_RULE and row.forward_error)
            or (c == COL_EVENT and not row.event_name)
        ):
            return self._cells[r][c]
        if c == COL_ENTITY_NOW and row.id in self._entity_now:
            said = f"; the webhook said {row.entity_status}" if row.entity_status else ""
            return f"{row.entity_type} status now: {self._entity_now[row.id]}{said}"
        return None

    def _refresh_attempts(self, new_rows: list[CaptureRow]) -> None:
        """A retry raises the total of earlier deliveries of the same event ("1/1" -> "1/2")."""
        totals: dict[str, int] = {}
        for row in new_rows:
            if row.event_id and row.attempt > 1:
                totals[row.event_id] = max(totals.get(row.event_id, 0), row.attempts)
        if not totals:
            return
        for i, row in enumerate(self._rows):
            total = totals.get(row.event_id)
            if total is not None and row.attempts < total:
                self._rows[i] = replace(row, attempts=total)
                self._cells[i] = row_cells(self._rows[i])
                cell = self.index(i, COL_ATTEMPT)
                self.dataChanged.emit(cell, cell)
        for i, row in enumerate(new_rows):
            total = totals.get(row.event_id)
            if total is not None and row.attempts < total:
                new_rows[i] = replace(row, attempts=total)

    def _recount(self) -> None:
        """Recount after rows were deleted (keeps the loaded rows and the live marks)."""
        if self._snapshot_counts(keep_marks=True) is not None:
            self.counts_changed.emit(self._matching, self._total)

    def _backlog(self) -> int:
        """About how many stored rows the live marks are behind (0 when the store fails)."""
        latest = self._safe(self._store.max_seq)
        return 0 if latest is None else latest - min(self._max_seq, self._total_seq)

    def _snapshot_counts(self, *, keep_marks: bool = False) -> int | None:
        """Count the store and the query at one moment and set the live marks to it.

        The counts are only exact together with the highest seq they include: a row
        committed between count() and max_seq() would be counted again (or never) by the next
        since(). With no such commit in between - the store only appends - the pair is
        consistent; under a constant load a few tries usually find the gap, and the last try
        is kept (off by at most the rows of one group commit until the next reload).
        """
        result: tuple[int, int, int] | None = None
        for _ in range(_COUNT_TRIES):
            before = self._safe(self._store.max_seq)
            if before is None:
                return None
            total = self._safe(lambda: self._store.count(_ANY_QUERY))
            if total is None:
                return None
            matching: int | None = total
            if self._query != _ANY_QUERY:
                matching = self._safe(lambda: self._store.count(self._query))
            if matching is None:
                return None
            after = self._safe(self._store.max_seq)
            if after is None:
                return None
            result = (after, total, matching)
            if after == before:
                break
        assert result is not None
        seq, self._total, self._matching = result
        if keep_marks:
            # Deletions only: the marks stay where the loaded rows and counts left them.
            return seq
        self._max_seq = seq
        self._total_seq = seq
        return seq

    def _safe(self, fn: Callable[[], _T]) -> _T | None:
        try:
            return fn()
        except InspectorError as exc:
            self.error.emit(exc)
            return None
