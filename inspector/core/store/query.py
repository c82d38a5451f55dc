"""Reading the store: filters (:class:`CaptureQuery`) and the SQL that turns rows back into
:class:`CaptureRow` and :class:`Capture` values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from inspector.core import codec
from inspector.core.capture import Capture, Headers, Redaction, ResponseRecord, Verdict
from inspector.core.events import EventSummary
from inspector.core.rows import CaptureRow

__all__ = [
    "ANY",
    "CAPTURE_COLUMNS",
    "EPOCH",
    "MIN_INDEXED",
    "NEWEST_FIRST",
    "ROW_COLUMNS",
    "SORT_KEYS",
    "CaptureQuery",
    "CaptureRow",
    "SortOrder",
    "capture_from",
    "indexed_text",
    "micros",
    "order_clauses",
    "row_from",
    "sort_value",
    "trigram_match",
    "where_clauses",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class CaptureQuery:
    """A filter. Empty sets mean "any"; all given conditions must hold."""

    text: str = ""
    """Case-insensitive substring over path, query, event name, entity ref, entity id,
    entity status, event id and capture id."""
    flex: frozenset[Verdict] = frozenset()
    fluent: frozenset[Verdict] = frozenset()
    entity_types: frozenset[str] = frozenset()
    event_names: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    """Restrict to these capture ids (e.g. export the selection)."""
    payload_problems: bool = False
    """Only events whose body breaks Fluent's Event model (``core/payload.py``)."""
    bodies: bool = False
    """``text`` may also be found in the body (its first ``BODY_TEXT_BYTES`` read as UTF-8,
    A-Z case-insensitive); only for a text of at least ``MIN_INDEXED`` characters."""


ANY = CaptureQuery()

SORT_KEYS: dict[str, str] = {
    "seq": "c.seq",
    "method": "c.method",
    "path": "c.path",
    "event_name": "c.event_name",
    "entity_type": "c.entity_type",
    "entity_ref": "c.entity_ref",
    "entity_status": "c.entity_status",
    "response_status": "c.response_status",
    "size": "c.size",
    "flex_verdict": "c.flex_verdict",
    "fluent_verdict": "c.fluent_verdict",
    "attempt": "c.attempt",
}
"""What the table can be sorted by: a key of this dict names the column it sorts on. Time
sorts by ``seq`` (arrival order, which is what "newest" means even when clocks disagree)."""


@dataclass(frozen=True, slots=True)
class SortOrder:
    """A row order, always made total by ``seq`` in the same direction (keyset paging needs
    every row to have one place)."""

    key: str = "seq"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.key not in SORT_KEYS:
            raise ValueError(f"cannot sort by {self.key!r}")


NEWEST_FIRST = SortOrder()


def sort_value(row: CaptureRow, order: SortOrder) -> Any:
    """The value a row is sorted by (what ``order_clauses`` compares in SQL)."""
    if order.key == "flex_verdict":
        return row.flex.value
    if order.key == "fluent_verdict":
        return row.fluent.value
    return getattr(row, order.key)


def order_clauses(order: SortOrder, after: CaptureRow | None) -> tuple[str, list[str], list[Any]]:
    """``ORDER BY`` text, and the keyset condition for the rows after ``after`` in it.

    The row-value comparison ``(key, seq) < (?, ?)`` walks an index on ``(key)`` (whose
    entries end in the rowid, seq) from the cursor on, so a page deep in a sorted 100,000-row
    table costs what the first page does.
    """
    column = SORT_KEYS[order.key]
    direction = "DESC" if order.descending else "ASC"
    if order.key == "seq":
        sql = f"ORDER BY c.seq {direction}"
        if after is None:
            return sql, [], []
        return sql, [f"c.seq {'<' if order.descending else '>'} ?"], [after.seq]
    sql = f"ORDER BY {column} {direction}, c.seq {direction}"
    if after is None:
        return sql, [], []
    op = "<" if order.descending else ">"
    return sql, [f"({column}, c.seq) {op} (?, ?)"], [sort_value(after, order), after.seq]


def micros(moment: datetime) -> int:
    """A column's time: microseconds since the Unix epoch, UTC."""
    if moment.tzinfo is None:
        # Capture promises aware UTC; a naive value can only sensibly mean UTC.
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _MICRO


def _moment(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def _headers_from(text: str) -> Headers:
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def _redaction_from(text: str | None) -> Redaction | None:
    return None if text is None else codec.decode_redaction(json.loads(text))


def _event_from(text: str | None) -> EventSummary | None:
    return None if text is None else codec.decode_event(json.loads(text))


ROW_COLUMNS = (
    "c.seq, c.id, c.received_at, c.method, c.path, c.query, c.event_id, c.event_name, "
    "c.entity_type, c.entity_id, c.entity_ref, c.entity_status, c.root_entity_type, "
    "c.root_entity_ref, c.response_status, c.size, c.content_type, c.flex_verdict, c.flex_key, "
    "c.fluent_verdict, c.fluent_key, c.attempt, "
    "CASE WHEN c.event_id = '' THEN 1 ELSE "
    "(SELECT count(*) FROM captures AS x WHERE x.event_id = c.event_id) END, "
    "c.rejected, c.remote, c.rule, c.forward_error, c.payload_problems, c.redacted"
)


def row_from(r: Sequence[Any]) -> CaptureRow:
    return CaptureRow(
        seq=r[0],
        id=r[1],
        received_at=_moment(r[2]),
        method=r[3],
        path=r[4],
        query=r[5],
        event_id=r[6],
        event_name=r[7],
        entity_type=r[8],
        entity_id=r[9],
        entity_ref=r[10],
        entity_status=r[11],
        root_entity_type=r[12],
        root_entity_ref=r[13],
        response_status=r[14],
        size=r[15],
        content_type=r[16],
        flex=Verdict(r[17]),
        flex_key=r[18],
        fluent=Verdict(r[19]),
        fluent_key=r[20],
        attempt=r[21],
        attempts=r[22],
        rejected=r[23],
        remote=r[24],
        rule=r[25],
        forward_error=r[26],
        payload_problems=r[27],
        redacted=_redaction_from(r[28]),
    )


CAPTURE_COLUMNS = (
    "c.seq, c.id, c.received_at, c.method, c.target, c.path, c.query, c.remote, c.tls, "
    "c.response_status, c.rejected, c.body_size, c.attempt, d.headers, d.body, "
    "d.response_headers, d.response_body, d.event_json, d.signatures_json, c.rule, "
    "d.forward_json, c.redacted"
)


def capture_from(r: Sequence[Any]) -> Capture:
    return Capture(
        seq=r[0],
        id=r[1],
        received_at=_moment(r[2]),
        method=r[3],
        target=r[4],
        path=r[5],
        query=r[6],
        remote=r[7],
        tls=bool(r[8]),
        response=ResponseRecord(status=r[9], headers=_headers_from(r[15]), body=bytes(r[16])),
        rejected=r[10],
        body_size=r[11],
        attempt=r[12],
        headers=_headers_from(r[13]),
        body=bytes(r[14]),
        event=_event_from(r[17]),
        signatures=codec.decode_signatures(json.loads(r[18])),
        rule=r[19],
        forward=None if r[20] is None else codec.decode_forward(json.loads(r[20])),
        redacted=_redaction_from(r[21]),
    )


MIN_INDEXED = 3
"""The trigram indexes find a text of at least this many characters; a shorter one is
looked for by scanning (the fields only, never the bodies)."""
_BODY_TEXT = "lower(CAST(substr(d.body, 1, 65536) AS TEXT))"  # = schema.BODY_TEXT_BYTES


def trigram_match(text: str) -> str:
    """An FTS5 MATCH for the rows that hold every trigram a substring search for ``text``
    needs (a superset of the rows containing it: the caller rechecks). Each trigram is a
    quoted string, so whatever the user typed - quotes, ``*``, ``AND``, ``:`` - is text,
    never query syntax. Non-overlapping trigrams (plus the last) cover every character."""
    starts = list(range(0, len(text) - 2, 3))
    if starts[-1] != len(text) - 3:
        starts.append(len(text) - 3)
    grams = dict.fromkeys(text[i : i + 3] for i in starts)
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


_TAIL = "(SELECT upto FROM search_indexed)"
"""Captures above this seq are not in the search indexes yet (schema 9: the writer indexes
them in batches); the text filter reads them by scanning, in the same snapshot."""


def _text_clauses(
    query: CaptureQuery, indexed: bool, window: tuple[int, int] | None
) -> tuple[str, list[Any]]:
    text = query.text.lower()
    # A seq window is applied inside the index lookups: FTS5 walks only that rowid range.
    bound = " AND rowid >= ? AND rowid < ?" if window is not None else ""
    bound_params: list[Any] = list(window) if window is not None else []
    # instr() is the exact answer (a scan when alone); the index narrows the rows it reads.
    fields = "instr(c.search, ?) > 0"
    params: list[Any] = [text]
    long_enough = len(text) >= MIN_INDEXED
    if indexed and long_enough:
        # The index's candidates, plus the not yet indexed newest rows (a short seq range).
        fields = (
            f"c.seq IN (SELECT rowid FROM captures_fts WHERE captures_fts MATCH ?{bound} "
            f"UNION ALL SELECT rowid FROM captures WHERE rowid > {_TAIL}{bound}) AND " + fields
        )
        params = [trigram_match(text), *bound_params, *bound_params, *params]
    if not (query.bodies and long_enough):
        return fields, params
    if indexed:
        d_bound = bound.replace("rowid", "d.seq")
        body = (
            "c.seq IN (SELECT b.rowid FROM bodies_fts AS b JOIN capture_data AS d "
            f"ON d.seq = b.rowid WHERE bodies_fts MATCH ?{bound.replace('rowid', 'b.rowid')} "
            f"AND instr({_BODY_TEXT}, ?) > 0 "
            f"UNION ALL SELECT d.seq FROM capture_data AS d WHERE d.seq > {_TAIL}{d_bound} "
            f"AND instr({_BODY_TEXT}, ?) > 0)"
        )
        body_params: list[Any] = [
            trigram_match(text),
            *bound_params,
            text,
            *bound_params,
            text,
        ]
    else:
        # The index is not there yet (an upgraded store being filled): row by row, so a
        # first page stops at its LIMIT.
        body = (
            "EXISTS (SELECT 1 FROM capture_data AS d WHERE d.seq = c.seq "
            f"AND instr({_BODY_TEXT}, ?) > 0)"
        )
        body_params = [text]
    return f"(({fields}) OR {body})", params + body_params


def indexed_text(query: CaptureQuery) -> bool:
    """Whether the search indexes can answer the query's text."""
    return len(query.text) >= MIN_INDEXED


def where_clauses(
    query: CaptureQuery, *, indexed: bool = False, window: tuple[int, int] | None = None
) -> tuple[list[str], list[Any]]:
    """``indexed``: the search indexes are complete and the query reads many rows (not a
    ``seq >`` range of a few new ones, which a scan answers sooner). ``window``: only seqs
    ``lo <= seq < hi`` (Store.page walks the newest rows window by window)."""
    clauses: list[str] = []
    params: list[Any] = []
    if window is not None:
        clauses.append("c.seq >= ? AND c.seq < ?")
        params += window
    if query.text:
        clause, text_params = _text_clauses(query, indexed, window)
        clauses.append(clause)
        params += text_params
    if query.payload_problems:
        # Served by the partial index captures_payload_problems (schema 5).
        clauses.append("c.payload_problems != ''")
    # json_each takes any number of values as one parameter (no variable-count limit).
    sets: list[tuple[str, Iterable[str]]] = [
        ("c.flex_verdict", (v.value for v in query.flex)),
        ("c.fluent_verdict", (v.value for v in query.fluent)),
        ("c.entity_type", query.entity_types),
        ("c.event_name", query.event_names),
        ("c.method", query.methods),
        ("c.id", query.ids),
    ]
    for column, values in sets:
        listed = sorted(values)
        if not listed:
            continue
        if len(listed) == 1:
            clauses.append(f"{column} = ?")
            params.append(listed[0])
        else:
            clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(listed))
    return clauses, params
