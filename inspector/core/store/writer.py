"""The store's one writer thread and its group commit.

Every write in this process goes through one writer thread, so the process never contends
with itself for SQLite's write lock. A queued capture waits for whatever else is queued (up
to about ``MAX_BATCH``); the group is inserted in ONE transaction and the futures resolve
only after COMMIT returned. Under load this turns N fsyncs into one, which is what lets
"answer only after the capture is on disk" keep up.

The ingest path was tuned with ``bench/ingest.py`` (wrk, 32 connections, RSA-1024) on the
2-core dev box; what mattered, in order: attempt numbering read one index entry instead of
counting every earlier delivery of the event (O(n) per commit before); time-ordered capture
ids (UUIDv7), so the unique id index grows at its right edge instead of dirtying one random
page per capture; futures resolved per commit instead of per capture; a short wait for the
group to fill when busy (``GROUP_DELAY_S``); multi-row INSERTs; less Python per row.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from inspector.core.capture import Capture
from inspector.core.errors import StoreError
from inspector.core.store.errors import map_error
from inspector.core.store.insert import (
    PreparedRow,
    insert,
    insert_imported,
    insert_replays,
    rows_for,
    write_outcome,
    write_redaction,
)
from inspector.core.store.schema import BODY_TEXT_BYTES

__all__ = [
    "INDEX_BATCH",
    "MAX_BATCH",
    "ImportChunk",
    "Op",
    "Pending",
    "Writer",
    "index_range",
    "index_step",
]

_T = TypeVar("_T")

log = logging.getLogger("inspector.core.store")

MAX_BATCH = 1000
"""Most captures committed in one transaction; bounds latency of the first one queued."""
GROUP_DELAY_S = 0.0005
"""Under load, how long the writer lets a small group of captures fill before committing.

Left to itself the writer commits whatever has arrived the moment it is free, and under
load that settles at a few captures per commit: each commit then pays a WAL sync and
rewrites the same index and table pages for very few rows. Waiting half a millisecond when
the previous commit ended less than BUSY_WINDOW_S ago (never when idle, so a lone webhook
is not delayed) took the listener benchmark from ~10 to ~17-22 captures per commit, from
~15.5 to ~13 KiB written to disk per capture, and ~5% more webhooks/s."""
GROUP_TARGET = 32
"""A group this large is committed without waiting."""
BUSY_WINDOW_S = 0.002
INDEX_BATCH = 500
"""Captures the writer adds to the search indexes in one transaction (schema 9): once this
many wait, or whatever waits once it is idle for INDEX_IDLE_S. ~26 us a row in batches
(~13 ms a batch, which captures arriving meanwhile wait for), against ~210 us a row when
each group commit indexed its own rows."""
INDEX_IDLE_S = 0.05
INDEX_RECHECK_S = 5.0
"""An idle writer with nothing to index still looks this often: another process (a CLI
import beside the window) may have added captures the indexes lack."""


def index_range(conn: sqlite3.Connection, low: int, high: int) -> None:
    """Add the captures with ``low < seq <= high`` to both search indexes (the catch-up
    here, and the background fill of a store upgraded to schema 8)."""
    conn.execute(
        "INSERT INTO captures_fts (rowid, search) SELECT seq, search FROM captures "
        "WHERE seq > ? AND seq <= ?",
        (low, high),
    )
    conn.execute(
        "INSERT INTO bodies_fts (rowid, body) SELECT seq, "
        f"CAST(substr(body, 1, {BODY_TEXT_BYTES}) AS TEXT) FROM capture_data "
        "WHERE seq > ? AND seq <= ?",
        (low, high),
    )


def index_step(conn: sqlite3.Connection, rows: int = INDEX_BATCH) -> int:
    """Add the next ``rows`` captures above search_indexed.upto to both search indexes, in
    the current transaction; returns how many (fewer than ``rows``: caught up). Relative to
    what the file says, so writers of two processes never index a row twice."""
    upto = conn.execute("SELECT upto FROM search_indexed").fetchone()[0]
    hi, count = conn.execute(
        "SELECT max(seq), count(*) FROM "
        "(SELECT seq FROM captures WHERE seq > ? ORDER BY seq LIMIT ?)",
        (upto, rows),
    ).fetchone()
    if not count:
        return 0
    index_range(conn, upto, hi)
    conn.execute("UPDATE search_indexed SET upto = ?", (hi,))
    return int(count)


# --------------------------------------------------------------------------- writer plumbing


@dataclass(slots=True)
class Pending:
    capture: Capture
    future: concurrent.futures.Future[Capture] | asyncio.Future[Capture]
    loop: asyncio.AbstractEventLoop | None = None
    """Set for submit_async(): the loop that owns ``future``; its capture is handed over
    and completed in place."""
    payload_problems: str | None = None
    """Precomputed ``payload.stored_fields`` of the body (None: compute it here)."""


@dataclass(slots=True)
class Op:
    """A non-capture write run on the writer thread in its own transaction."""

    run: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]
    action: str


class _Stop:
    pass


_STOP = _Stop()
_Queued = Pending | list[Pending] | Op | _Stop


def _resolve(future: concurrent.futures.Future[_T], value: _T) -> None:
    # The caller may have cancelled (client went away); the capture is stored regardless.
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(value)


def _fail(future: concurrent.futures.Future[Any], error: BaseException) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_exception(error)


_Outcome = tuple["asyncio.Future[Capture]", "Capture | BaseException"]


def _settle_on_loop(outcomes: list[_Outcome]) -> None:
    # Runs on the submitter's loop: one callback wakes every coroutine of a group commit.
    for future, outcome in outcomes:
        if future.done():  # cancelled: the client went away; the capture is stored anyway
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _settle(batch: Sequence[Pending], outcomes: Sequence[Capture | BaseException]) -> None:
    """Hand every pending capture its outcome, waking each asyncio loop only once."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for pending, outcome in zip(batch, outcomes, strict=True):
        future = pending.future
        if pending.loop is None:
            assert isinstance(future, concurrent.futures.Future)
            if isinstance(outcome, BaseException):
                _fail(future, outcome)
            else:
                _resolve(future, outcome)
        else:
            assert isinstance(future, asyncio.Future)
            by_loop.setdefault(pending.loop, []).append((future, outcome))
    for loop, items in by_loop.items():
        # A loop closed meanwhile has nobody left waiting.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _numbered(capture: Capture, seq: int, attempt: int, handed_over: bool) -> Capture:
    """The capture with its store numbers. A handed-over capture (submit_async: built for
    this one submission, referenced by nobody else until its future resolves) is completed
    in place; dataclasses.replace() rebuilt all 20 fields, ~14 us per capture."""
    if not handed_over:
        return replace(capture, seq=seq, attempt=attempt)
    object.__setattr__(capture, "seq", seq)
    object.__setattr__(capture, "attempt", attempt)
    return capture


class Writer:
    """The writer thread: owns the one writing connection and the queue feeding it."""

    def __init__(self, path: Path, conn: sqlite3.Connection, retention: int | None) -> None:
        self.path = path
        self.retention = retention
        self.queue: queue.SimpleQueue[_Queued] = queue.SimpleQueue()
        self.rows_estimate = self._count_rows(conn) if retention is not None else 0
        self.commit_count = 0
        """Write transactions committed (group commit shows as fewer than captures)."""
        self.taken = 0
        self.taken_bytes = 0
        """Captures (and their body bytes) taken off the queue; only this thread writes
        them, so the store's count of what it queued minus these is the backlog."""
        self.unindexed = 1
        """About how many stored captures the search indexes lack (unknown at open: a step
        at the first idle moment tells). Only this thread uses it."""
        self._index_wait = INDEX_IDLE_S
        """How long the queue must stay empty before the next catch-up step: none while a
        backlog (an import) is being indexed, batch after batch."""
        self.index_failed: str | None = None
        self.conn: sqlite3.Connection | None = conn
        self.thread = threading.Thread(target=self._run, name="inspector-store-writer")
        self.thread.daemon = True
        self.thread.start()

    def stop(self) -> None:
        """Write everything queued so far, then close (joins unless called on the thread)."""
        self.queue.put(_STOP)
        # A future's done-callback runs on the writer thread; it cannot wait for itself.
        if self.thread is not threading.current_thread():
            self.thread.join()

    def unstorable(self, error: Exception) -> StoreError:
        failure = StoreError(
            f"The capture could not be stored in {self.path} ({error!r}): this is a bug; "
            f"please report it."
        )
        failure.__cause__ = error
        return failure

    def _run(self) -> None:
        carry: _Queued | None = None
        last_commit = -1.0
        while True:
            if carry is not None:
                item = carry
            else:
                wait = self._index_wait if self.unindexed else INDEX_RECHECK_S
                try:
                    item = self.queue.get(timeout=wait)
                except queue.Empty:
                    self._index()  # idle: catch the search indexes up (a read when none)
                    continue
            carry = None
            if isinstance(item, _Stop):
                # Everything queued before the stop has been written by now (FIFO).
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                return
            if isinstance(item, Op):
                self._run_op(item)
                continue
            batch = item if isinstance(item, list) else [item]
            waited = False
            while len(batch) < MAX_BATCH:
                try:
                    following = self.queue.get_nowait()
                except queue.Empty:
                    if (
                        waited
                        or len(batch) >= GROUP_TARGET
                        or time.monotonic() - last_commit > BUSY_WINDOW_S
                    ):
                        break
                    # Busy and the group is small: let it fill. See GROUP_DELAY_S.
                    waited = True
                    time.sleep(GROUP_DELAY_S)
                    continue
                if isinstance(following, Pending):
                    batch.append(following)
                elif isinstance(following, list):
                    batch += following
                else:
                    carry = following
                    break
            self.taken_bytes += sum([len(p.capture.body) for p in batch])
            self.taken += len(batch)
            self._write_batch(batch)
            self.unindexed += len(batch)
            if self.unindexed >= INDEX_BATCH:
                self._index()
            last_commit = time.monotonic()

    def _unindexed_rows(self) -> bool:
        conn = self.conn
        assert conn is not None
        found = conn.execute(
            "SELECT 1 FROM captures WHERE seq > (SELECT upto FROM search_indexed) LIMIT 1"
        ).fetchone()
        return found is not None

    def _index(self) -> None:
        """One batch of the search indexes' catch-up (index_step). A failure is logged once
        and the writer carries on: captures are stored whatever the index does, and the
        filter reads the rows the index lacks by scanning."""
        try:
            # Nothing to do (the usual case at open): no write transaction, no write lock.
            done = self._transaction(index_step, counted=False) if self._unindexed_rows() else 0
        except Exception as error:  # the writer must outlive any single failure
            message = (
                str(map_error(error, self.path, "index captures for search"))
                if isinstance(error, sqlite3.Error)
                else repr(error)
            )
            if message != self.index_failed:
                log.warning("search index not updated: %s", message)
            self.index_failed = message
            self.unindexed = 0  # try again once more captures arrive
            return
        self.index_failed = None
        more = done >= INDEX_BATCH
        self.unindexed = max(self.unindexed - done, 1) if more else 0
        self._index_wait = 0.0 if more else INDEX_IDLE_S

    def _transaction(self, run: Callable[[sqlite3.Connection], _T], *, counted: bool = True) -> _T:
        """``run`` in one write transaction; ``counted`` False: not in commit_count (the
        search indexes' catch-up is not a write the store's callers asked for)."""
        conn = self.conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = run(conn)
            self._trim(conn)
            conn.execute("COMMIT")
            if counted:
                self.commit_count += 1
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return result

    def _run_op(self, op: Op) -> None:
        try:
            result = self._transaction(op.run)
        except sqlite3.Error as error:
            _fail(op.future, map_error(error, self.path, op.action))
        except Exception as error:  # the writer must outlive any single failure
            _fail(op.future, error)
        else:
            _resolve(op.future, result)

    def _write_batch(self, batch: list[Pending]) -> None:
        def run(conn: sqlite3.Connection) -> list[Capture]:
            numbers = insert(
                conn, [(p.capture, *rows_for(p.capture, p.payload_problems)) for p in batch]
            )
            self.rows_estimate += len(numbers)
            return [
                _numbered(p.capture, seq, attempt, p.loop is not None)
                for p, (seq, attempt) in zip(batch, numbers, strict=True)
            ]

        try:
            stored = self._transaction(run)
        except sqlite3.IntegrityError:
            # One bad capture (a duplicate id) must not fail the others: retry one by one.
            if len(batch) > 1:
                for pending in batch:
                    self._write_batch([pending])
                return
            duplicate = StoreError(
                f"A capture with id {batch[0].capture.id} is already stored in "
                f"{self.path}: the webhook was not stored again."
            )
            _settle(batch, [duplicate])
            return
        except sqlite3.Error as error:
            mapped = map_error(error, self.path, "store")
            _settle(batch, [mapped] * len(batch))
            return
        except Exception as error:
            if len(batch) > 1:
                for pending in batch:
                    self._write_batch([pending])
                return
            _settle(batch, [self.unstorable(error)])
            return
        _settle(batch, stored)

    def _trim(self, conn: sqlite3.Connection) -> None:
        """Apply retention inside the current write transaction.

        Rows are counted only when the running estimate passes the cap by 1% (at least
        one row), and then cut back to the cap: one DELETE per ~1% of the cap, not one per
        commit. Doing it before COMMIT means that when add() returns the cap holds.
        """
        cap = self.retention
        if cap is None or self.rows_estimate <= cap + max(1, cap // 100):
            return
        cutoff = conn.execute(
            "SELECT seq FROM captures ORDER BY seq DESC LIMIT 1 OFFSET ?", (cap,)
        ).fetchone()
        if cutoff is not None:
            conn.execute("DELETE FROM capture_data WHERE seq <= ?", (cutoff[0],))
            conn.execute("DELETE FROM captures WHERE seq <= ?", (cutoff[0],))
            # Replays go with their original; the EXISTS keeps this free when there are none.
            conn.execute(
                "DELETE FROM replays WHERE EXISTS (SELECT 1 FROM replays) AND capture_id "
                "NOT IN (SELECT id FROM captures)"
            )
        self.rows_estimate = self._count_rows(conn)

    @staticmethod
    def _count_rows(conn: sqlite3.Connection) -> int:
        count: int = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
        return count

    # ---------------------------------------------------------------- reading


class ImportChunk:
    """One add_many() or import_batch() chunk: drop ids already stored (or repeated), insert
    the rest. Items are captures, or records already turned into rows (PreparedRow)."""

    def __init__(self, writer: Writer, captures: Sequence[Capture | PreparedRow]) -> None:
        self.writer = writer
        self.captures = captures

    def __call__(self, conn: sqlite3.Connection) -> int:
        ids = json.dumps([c.id for c in self.captures])
        present = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM captures WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
        }
        rows: list[PreparedRow] = []
        full: list[Capture] = []
        for item in self.captures:
            if item.id in present:
                continue
            present.add(item.id)
            if isinstance(item, PreparedRow):
                rows.append(item)
            else:
                full.append(item)
                rows.append(PreparedRow(item.id, item.event_id, *rows_for(item)))
        if rows:
            insert_imported(conn, rows)
            # What a plain insert leaves out: how it was answered, and its replays.
            for capture in full:
                if capture.rule is not None or capture.forward is not None:
                    write_outcome(conn, capture)
                if capture.replays:
                    insert_replays(conn, capture.id, capture.replays)
                if capture.redacted is not None:
                    write_redaction(conn, capture)
        self.writer.rows_estimate += len(rows)
        # Indexed for search once the writer is idle: an import is not slowed by it.
        self.writer.unindexed += len(rows)
        return len(rows)
