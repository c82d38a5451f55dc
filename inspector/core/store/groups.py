"""Retries folded by event id: one :class:`RetryGroup` per event id, paged like ``Store.page``.

Fluent resends a delivery that timed out with the same event ``id``; a group is every
capture matching a :class:`CaptureQuery` that shares an event id, oldest attempt first, and
a capture without an event id is a group of its own. Groups come newest first, ordered by
their latest matching capture (the *head*); the next page is
``group_page(conn, query, before_seq=page[-1].seq)``, as with ``Store.page``.

Why a page stays a page at any store size: the page query walks ``captures`` by ``seq``
descending (the primary key, so no sort) and keeps a row only when no later matching
capture has its event id. Within an event id attempts grow with seq (``insert.py`` numbers
each delivery max + 1), so "no later one" is ``attempt`` greater than this one's: a probe of
the ``(event_id, attempt)`` index. A page therefore reads about ``limit`` x (average group
size) rows, never the whole table; ``tests/core/store/test_groups.py`` checks the plan and
counts the work at 100,000 rows. The members of the page's groups then come by event id
through the same index.

Answers. Each attempt carries the HTTP status the listener answered, the response rule that
answered (``captures.rule``, schema 4; None for the default answer) and why forwarding it
failed (``captures.forward_error``; None when not forwarded or fine): :attr:`Answer.rule`
and :attr:`Answer.forward_error`, read with the rest of the row (``ROW_COLUMNS``).

The facade's ``Store.group_page``, ``Store.group_count`` and ``Store.group`` wrap these.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inspector.core.capture import Verdict
from inspector.core.rows import CaptureRow
from inspector.core.store.query import ANY, ROW_COLUMNS, CaptureQuery, row_from, where_clauses

__all__ = [
    "Answer",
    "Attempt",
    "RetryGroup",
    "group_count",
    "group_for",
    "group_page",
    "page_sql",
]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one delivery got back from us."""

    status: int
    """The HTTP status the listener answered."""
    rule: str | None = None
    """The response rule that answered; None for the default answer."""
    forward_error: str | None = None
    """Why forwarding this delivery failed; None when not forwarded, or fine."""

    @property
    def ok(self) -> bool:
        """2xx: Fluent counts the delivery as done and stops retrying."""
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery of a group: its table row (verdicts included) and its answer."""

    row: CaptureRow
    answer: Answer

    @property
    def capture_id(self) -> str:
        return self.row.id

    @property
    def received_at(self) -> datetime:
        return self.row.received_at

    @property
    def flex(self) -> Verdict:
        return self.row.flex

    @property
    def fluent(self) -> Verdict:
        return self.row.fluent


@dataclass(frozen=True, slots=True)
class RetryGroup:
    """The matching deliveries of one event id (or one capture without an event id)."""

    key: str
    """The event id, or the capture id of a capture without one: unique per page."""
    event_id: str
    """"" for a capture without an event id."""
    attempts: tuple[Attempt, ...]
    """Oldest first; never empty."""

    @property
    def head(self) -> CaptureRow:
        """The latest matching delivery: what the folded row shows."""
        return self.attempts[-1].row

    @property
    def seq(self) -> int:
        """The head's seq: pass the last group's as ``before_seq`` for the next page."""
        return self.head.seq

    @property
    def count(self) -> int:
        return len(self.attempts)

    @property
    def first_at(self) -> datetime:
        return self.attempts[0].received_at

    @property
    def last_at(self) -> datetime:
        return self.attempts[-1].received_at

    @property
    def span(self) -> timedelta:
        """Time from the first delivery to the last."""
        return self.last_at - self.first_at

    @property
    def gaps(self) -> tuple[timedelta, ...]:
        """Time between consecutive deliveries (one fewer than attempts)."""
        times = [a.received_at for a in self.attempts]
        return tuple(later - earlier for earlier, later in itertools.pairwise(times))

    @property
    def succeeded(self) -> bool:
        """Some delivery was answered 2xx."""
        return any(a.answer.ok for a in self.attempts)

    @property
    def all_verified(self) -> bool:
        """Both signatures verified on every delivery."""
        return all(a.flex is Verdict.VALID and a.fluent is Verdict.VALID for a in self.attempts)


def _matching_cte(query: CaptureQuery) -> tuple[str, list[Any]]:
    # The filter as a CTE whose own alias is ``c`` (where_clauses speaks of c.*), so the
    # "is there a later matching delivery?" probe can apply the same filter.
    clauses, params = where_clauses(query)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return (
        f"matching AS (SELECT c.seq AS seq, c.event_id AS event_id, c.attempt AS attempt "
        f"FROM captures AS c {where})",
        params,
    )


def page_sql(
    query: CaptureQuery = ANY, *, before_seq: int | None = None, limit: int = 200
) -> tuple[str, list[Any]]:
    """The SQL (and parameters) selecting a page's heads as ``ROW_COLUMNS`` rows."""
    cte, cte_params = _matching_cte(query)
    clauses, params = where_clauses(query)
    if before_seq is not None:
        clauses.append("c.seq < ?")
        params.append(before_seq)
    clauses.append(
        "(c.event_id = '' OR NOT EXISTS (SELECT 1 FROM matching AS m "
        "WHERE m.event_id = c.event_id AND m.attempt > c.attempt))"
    )
    sql = (
        f"WITH {cte} SELECT {ROW_COLUMNS} FROM captures AS c "
        f"WHERE {' AND '.join(clauses)} ORDER BY c.seq DESC LIMIT ?"
    )
    return sql, [*cte_params, *params, limit]


_MEMBER_ORDER = "ORDER BY c.event_id, c.attempt, c.seq"
_NO_EVENT = "c.event_id = ''"


def _answer(row: CaptureRow) -> Answer:
    return Answer(status=row.response_status, rule=row.rule, forward_error=row.forward_error)


def _members(
    conn: sqlite3.Connection, query: CaptureQuery, heads: Sequence[CaptureRow]
) -> dict[str, list[CaptureRow]]:
    event_ids = sorted({h.event_id for h in heads if h.event_id})
    if not event_ids:
        return {}
    clauses, params = where_clauses(query)
    clauses.insert(0, "c.event_id IN (SELECT value FROM json_each(?))")
    rows = conn.execute(
        f"SELECT {ROW_COLUMNS} FROM captures AS c WHERE {' AND '.join(clauses)} {_MEMBER_ORDER}",
        [json.dumps(event_ids), *params],
    ).fetchall()
    found: dict[str, list[CaptureRow]] = {}
    for r in rows:
        row = row_from(r)
        found.setdefault(row.event_id, []).append(row)
    return found


def _group(head: CaptureRow, members: Sequence[CaptureRow]) -> RetryGroup:
    # A delivery stored after the page query read its head belongs to a newer page (the
    # group moved to the top): leave it out so the keyset cursor stays this head's seq.
    rows = [m for m in members if m.seq <= head.seq] or [head]
    return RetryGroup(
        key=head.event_id or head.id,
        event_id=head.event_id,
        attempts=tuple(Attempt(row, _answer(row)) for row in rows),
    )


def group_page(
    conn: sqlite3.Connection,
    query: CaptureQuery = ANY,
    *,
    before_seq: int | None = None,
    limit: int = 200,
) -> list[RetryGroup]:
    """Up to ``limit`` groups, newest head first, heads below ``before_seq`` when given."""
    sql, params = page_sql(query, before_seq=before_seq, limit=limit)
    heads = [row_from(r) for r in conn.execute(sql, params).fetchall()]
    members = _members(conn, query, heads)
    return [_group(head, members.get(head.event_id, [])) for head in heads]


def group_count(conn: sqlite3.Connection, query: CaptureQuery = ANY) -> int:
    """How many groups ``group_page`` would list in all (captures without an event id
    count one each). Unfiltered, the distinct count walks the (event_id, attempt) index."""
    cte, params = _matching_cte(query)
    found: int = conn.execute(
        f"WITH {cte} SELECT (SELECT count(*) FROM matching WHERE event_id = '') + "
        f"(SELECT count(DISTINCT event_id) FROM matching WHERE event_id != '')",
        params,
    ).fetchone()[0]
    return found


def group_for(conn: sqlite3.Connection, key: str, query: CaptureQuery = ANY) -> RetryGroup | None:
    """The group of an event id, or of the capture with that id when it has no event id;
    None when nothing matches (for refreshing one folded row when a retry arrives)."""
    clauses, params = where_clauses(query)
    rows = conn.execute(
        f"SELECT {ROW_COLUMNS} FROM captures AS c WHERE "
        f"{' AND '.join(['c.event_id = ?', *clauses])} {_MEMBER_ORDER}",
        [key, *params],
    ).fetchall()
    if not rows:
        rows = conn.execute(
            f"SELECT {ROW_COLUMNS} FROM captures AS c WHERE "
            f"{' AND '.join(['c.id = ?', _NO_EVENT, *clauses])}",
            [key, *params],
        ).fetchall()
    if not rows:
        return None
    members = [row_from(r) for r in rows]
    return _group(members[-1], members)
