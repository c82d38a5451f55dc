"""The capture store: SQLite (WAL) with one group-committing writer thread (``writer.py``).

``submit()`` queues a capture and returns a future that resolves only after the COMMIT that
holds it returned. ``submit_async()`` is the same for a coroutine (the listener): captures
submitted in one turn of its loop reach the writer together, and one callback per commit
wakes them all.

Durability. ``synchronous=FULL`` in WAL mode: the WAL is fsynced at every commit, so a
capture that was answered with 2xx survives SIGKILL of the process and also an OS crash or
power loss (``NORMAL`` would survive SIGKILL only). Group commit makes FULL cost next to
nothing: measured with the listener under the ingest benchmark, three alternating runs each
gave FULL 6,800 / 6,700 / 7,200 and NORMAL 7,200 / 6,100 / 6,500 webhooks/s (same medians
within noise; commits held ~20 captures either way) - the Python side, not fsync, is the
limit, so FULL stays.

Reads. Readers use their own connections from a small pool (safe from any thread, the Qt
GUI thread included); each call is a short read transaction, so a long export never pins
the WAL and other processes (a headless listener, an export) can share the file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from inspector.core import codec, paths
from inspector.core.capture import Capture, ReplayRecord, SignatureCheck, Verdict
from inspector.core.capture_ids import choose_id
from inspector.core.errors import CaptureIdError, QueryCancelled, StoreError
from inspector.core.store import connections, entities, groups, health, schema
from inspector.core.store.errors import map_error
from inspector.core.store.insert import (
    PreparedRow,
    insert_replays,
    signatures_json,
    verdict_columns,
    write_outcome,
)
from inspector.core.store.query import (
    ANY,
    CAPTURE_COLUMNS,
    NEWEST_FIRST,
    ROW_COLUMNS,
    CaptureQuery,
    CaptureRow,
    SortOrder,
    capture_from,
    indexed_text,
    order_clauses,
    row_from,
    where_clauses,
)
from inspector.core.store.writer import (
    INDEX_BATCH,
    ImportChunk,
    Op,
    Pending,
    Writer,
    index_range,
    index_step,
)

__all__ = ["IMPORT_CHUNK", "SALVAGE_RANGE", "Salvaged", "Store"]

_T = TypeVar("_T")

IMPORT_CHUNK = 500
_IDLE_READERS = 4
BACKFILL_ROWS = 200
"""Rows of an upgraded store indexed per background write transaction: small enough that
captures arriving meanwhile wait only tens of milliseconds for their commit."""
WINDOW_START = 8192
"""The first seq window of an indexed page (see Store._windowed_page)."""
_CANCEL_EVERY = 20_000
"""SQLite VM instructions between two looks at a read's cancel flag (~1 ms): each look
takes the GIL from the GUI thread, so not much more often than that."""


def _backfill_step(conn: sqlite3.Connection) -> int:
    """Index the next ``BACKFILL_ROWS`` seqs of an upgraded store, newest first; returns how
    many seqs are left (0: the indexes are complete)."""
    found = conn.execute("SELECT todo FROM search_backfill").fetchone()
    if found is None:
        return 0
    todo = int(found[0])
    low = max(todo - BACKFILL_ROWS, 0)
    index_range(conn, low, todo)
    if low == 0:
        conn.execute("DELETE FROM search_backfill")
    else:
        conn.execute("UPDATE search_backfill SET todo = ?", (low,))
    return low


SALVAGE_RANGE = 500
"""Seqs a salvage reads in one query; a range that fails is read again one seq at a time."""


class Salvaged:
    """What :meth:`Store.iter_salvaged` got out: ``exported`` captures read whole, ``skipped``
    rows that could not be read (a damaged page, or stored data that no longer decodes)."""

    def __init__(self) -> None:
        self.exported = 0
        self.skipped = 0


class Store:
    """SQLite capture store. Thread-safe; one instance per file per process is enough."""

    def __init__(
        self,
        path: Path,
        *,
        retention: int | None = None,
        readonly: bool = False,
        check: bool = True,
    ) -> None:
        """``check``: run SQLite's quick check when opening for writing (see ``health.py``);
        the window passes False and checks in the background instead, off its cold start."""
        if retention is not None and retention < 1:
            raise ValueError("retention must be at least 1 (or None for no limit)")
        self.path = Path(path)
        self.retention = retention
        self.readonly = readonly
        self._lock = threading.Lock()
        self._closed = False
        self._idle: list[sqlite3.Connection] = []
        # submit_async() captures gathered per loop iteration, keyed by their loop; each
        # dict entry is only touched from its own loop's thread.
        self._gathering: dict[asyncio.AbstractEventLoop, list[Pending]] = {}
        self._queued = 0
        self._queued_bytes = 0
        """Captures (and body bytes) submitted to the writer, counted under ``_lock``; the
        writer counts what it took (``backlog``)."""
        self._writer: Writer | None = None
        self.checked: health.Health | None = None
        self._search_ready = False
        self._backfill: threading.Thread | None = None
        if readonly:
            if not self.path.is_file():
                raise StoreError(
                    f"{self.path} does not exist: check the path or --data-dir "
                    f"(nothing has been captured there yet?)."
                )
            conn = connections.connect(self.path, store_readonly=self.readonly, reader=True)
            try:
                schema.check_version(self.path, conn, schema.user_version(conn), readonly=True)
            except sqlite3.Error as error:
                conn.close()
                raise map_error(error, self.path, "open") from error
            except BaseException:
                conn.close()
                raise
            self._idle.append(conn)
            return
        checked: list[health.Health] = []
        conn = connections.open_writer(self.path, check=check, checked=checked)
        # The open's quick check: ``finished`` False when it ran out of time on a big store,
        # which the listener mentions.
        self.checked = checked[0] if checked else None
        try:
            pending = conn.execute("SELECT 1 FROM search_backfill").fetchone() is not None
            self._writer = Writer(self.path, conn, retention)
        except sqlite3.Error as error:
            conn.close()
            raise map_error(error, self.path, "open") from error
        if pending:
            self._backfill = threading.Thread(
                target=self._fill_indexes, name="inspector-store-backfill", daemon=True
            )
            self._backfill.start()

    @classmethod
    def open(cls, data_dir: Path, *, retention: int | None = None, check: bool = True) -> Store:
        """Open (creating if needed) the store in the inspector's data dir."""
        try:
            directory = paths.ensure_data_dir(data_dir)
        except OSError as error:
            raise map_error(error, data_dir / paths.STORE_FILENAME, "open") from error
        return cls(directory / paths.STORE_FILENAME, retention=retention, check=check)

    def check_health(self, budget_s: float | None = health.QUICK_CHECK_BUDGET_S) -> health.Health:
        """SQLite's quick check on a reader connection (the window runs it in a worker)."""
        with self._reader("check") as conn:
            return health.quick_check(conn, budget_s)

    @property
    def commit_count(self) -> int:
        """Write transactions committed by this instance (group commit shows as < captures)."""
        return self._writer.commit_count if self._writer is not None else 0

    # ---------------------------------------------------------------- connections

    def _fill_indexes(self) -> None:
        """The background fill of an upgraded store's search indexes (schema 8): one short
        write transaction at a time, queued behind whatever captures are waiting, until done
        or the store closes. Meanwhile the filter scans, as it did before the upgrade."""
        while True:
            try:
                left = self._call("index captures for search", _backfill_step)
            except StoreError:
                return  # closed (or the disk refuses): the next open carries on
            if not left:
                return
            # Captures queued meanwhile go first; the GIL and the disk get a breather.
            time.sleep(0.002)

    def search_indexed(self) -> bool:
        """True once the search indexes cover every stored capture (an upgraded store fills
        them in the background; until then the text filter scans)."""
        with self._reader("read") as conn:
            return self._indexed(conn)

    def catch_up_search(self) -> int:
        """Add every capture the search indexes lack to them now, a batch per write
        transaction (the writer otherwise does this when enough have gathered or it is
        idle; until then the filter scans those rows). Returns how many were added."""
        total = 0
        while True:
            done = self._call("index captures for search", index_step)
            total += done
            if done < INDEX_BATCH:
                return total

    def _indexed(self, conn: sqlite3.Connection) -> bool:
        if not self._search_ready:
            # Once complete it stays complete: nothing adds work to search_backfill again.
            self._search_ready = conn.execute("SELECT 1 FROM search_backfill").fetchone() is None
        return self._search_ready

    @contextlib.contextmanager
    def _cancellable(
        self, action: str, cancel: Callable[[], bool] | None
    ) -> Iterator[sqlite3.Connection]:
        """A reader whose statements stop (:class:`QueryCancelled`) once ``cancel()`` is
        true: a superseded filter query at a million rows gives its thread back at once."""
        with self._reader(action) as conn:
            if cancel is None:
                yield conn
                return
            conn.set_progress_handler(lambda: 1 if cancel() else 0, _CANCEL_EVERY)
            try:
                yield conn
            except sqlite3.OperationalError as error:
                if cancel():
                    raise QueryCancelled(f"{action}: superseded") from error
                raise
            finally:
                conn.set_progress_handler(None, 0)

    @contextlib.contextmanager
    def _reader(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"The capture store {self.path} is closed ({action}).")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = connections.connect(self.path, store_readonly=self.readonly, reader=True)
        try:
            yield conn
        except sqlite3.Error as error:
            raise map_error(error, self.path, action) from error
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < _IDLE_READERS
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    # ---------------------------------------------------------------- writing

    def submit(self, capture: Capture) -> concurrent.futures.Future[Capture]:
        """Queue a capture for the next group commit; never blocks.

        The future resolves after COMMIT returned, with ``seq`` and ``attempt`` filled, or
        fails with a StoreError.
        """
        future: concurrent.futures.Future[Capture] = concurrent.futures.Future()
        with self._lock:
            if self._closed or self._writer is None:
                future.set_exception(self._not_writable())
                return future
            self._writer.queue.put(Pending(capture, future))
            self._queued += 1
            self._queued_bytes += len(capture.body)
        return future

    def _not_writable(self) -> StoreError:
        reason = "is closed" if self._closed else "was opened read-only"
        return StoreError(f"The capture store {self.path} {reason}: the webhook was not stored.")

    def submit_async(
        self, capture: Capture, *, payload_problems: str | None = None
    ) -> asyncio.Future[Capture]:
        """Like :meth:`submit`, for a coroutine: call it on a running asyncio loop and await it.

        The writer wakes the loop once per group commit for every capture in it, instead of
        once per capture as ``asyncio.wrap_future(submit(...))`` would; at thousands of
        captures a second that difference is a good part of the listener's loop time.
        Cancelling the future does not unqueue the capture.

        The capture is handed over: the future's result is the same object, given its
        ``seq`` and ``attempt`` in place (a copy per capture cost more than the rest of its
        insert), so the caller must not share it before then. ``payload_problems``, when
        the caller already parsed the body, is the ``payload.stored_fields`` of it.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Capture] = loop.create_future()
        if self._closed or self._writer is None:
            future.set_exception(self._not_writable())
            return future
        # Captures submitted during one turn of the loop go to the writer together: one
        # queue hand-over (and at most one writer wake-up) per turn instead of per capture.
        gathering = self._gathering.get(loop)
        if gathering is None:
            gathering = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathering.append(Pending(capture, future, loop, payload_problems))
        with self._lock:  # several loops may share a store; uncontended, this is cheap
            self._queued += 1
            self._queued_bytes += len(capture.body)
        return future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        gathered = self._gathering.pop(loop)
        with self._lock:
            if not (self._closed or self._writer is None):
                self._writer.queue.put(gathered)
                return
        failure = self._not_writable()
        for pending in gathered:
            if not pending.future.done():
                pending.future.set_exception(failure)

    def backlog(self) -> tuple[int, int]:
        """(captures, body bytes) submitted and not yet taken up by the writer: what waits
        in memory. The group being written is not counted (it is bounded by what was let
        in). The listener refuses new captures above its bound (back-pressure)."""
        writer = self._writer
        if writer is None:
            return 0, 0
        return self._queued - writer.taken, self._queued_bytes - writer.taken_bytes

    def add(self, capture: Capture) -> Capture:
        return self.submit(capture).result()

    def _writer_for(self, action: str) -> Writer:
        """The writer, or StoreError; hold ``_lock`` when queueing to it, so close() cannot
        slip its stop in between the check and the put."""
        if self._closed or self._writer is None:
            reason = "is closed" if self._closed else "was opened read-only"
            raise StoreError(f"The capture store {self.path} {reason} ({action} failed).")
        return self._writer

    def _call(self, action: str, run: Callable[[sqlite3.Connection], _T]) -> _T:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._lock:
            self._writer_for(action).queue.put(Op(run, future, action))
        return future.result()

    def add_many(self, captures: Iterable[Capture]) -> int:
        """Import: keeps ids, skips ids already stored; one transaction per chunk.

        ``seq`` and ``attempt`` are assigned afresh: both describe this store, not the
        one the captures came from.
        """
        added = 0
        chunk: list[Capture] = []
        for capture in captures:
            chunk.append(capture)
            if len(chunk) >= IMPORT_CHUNK:
                added += self._call("import", ImportChunk(self._writer_for("import"), chunk))
                chunk = []
        if chunk:
            added += self._call("import", ImportChunk(self._writer_for("import"), chunk))
        return added

    def import_batch(
        self, captures: Sequence[Capture | PreparedRow]
    ) -> concurrent.futures.Future[int]:
        """Queue one import transaction (as :meth:`add_many` does per chunk) without waiting
        for it: the future gives how many were new. The importer reads the next batch while
        this one is written, so parsing and SQLite overlap."""
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        with self._lock:
            writer = self._writer_for("import")
            writer.queue.put(Op(ImportChunk(writer, captures), future, "import"))
        return future

    def record_outcome(self, capture: Capture) -> concurrent.futures.Future[bool]:
        """Record how a stored capture was answered - its response, the rule that answered
        and the forward target's answer - in a write of its own (the capture itself was
        committed before anything acted on it). The future says whether it was still stored."""
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        with self._lock:
            if self._closed or self._writer is None:
                future.set_exception(self._not_writable())
                return future
            self._writer.queue.put(
                Op(lambda conn: write_outcome(conn, capture), future, "record the answer")
            )
        return future

    def add_replay(self, capture_id: str, replay: ReplayRecord) -> None:
        """Record one replay of a stored capture (delivered or not), after its original."""

        def run(conn: sqlite3.Connection) -> None:
            insert_replays(conn, capture_id, [replay])

        self._call("record the replay", run)

    def replays(self, capture_id: str) -> tuple[ReplayRecord, ...]:
        """Every replay of a capture, oldest first."""
        with self._reader("read") as conn:
            rows = conn.execute(
                "SELECT record FROM replays WHERE capture_id = ? ORDER BY seq", (capture_id,)
            ).fetchall()
        return tuple(codec.decode_replay(json.loads(r[0])) for r in rows)

    def _with_replays(self, conn: sqlite3.Connection, captures: list[Capture]) -> list[Capture]:
        if not captures:
            return captures
        rows = conn.execute(
            "SELECT capture_id, record FROM replays WHERE capture_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY seq",
            (json.dumps([c.id for c in captures]),),
        ).fetchall()
        if not rows:
            return captures
        found: dict[str, list[ReplayRecord]] = {}
        for capture_id, record in rows:
            found.setdefault(capture_id, []).append(codec.decode_replay(json.loads(record)))
        return [c.with_(replays=tuple(found[c.id])) if c.id in found else c for c in captures]

    def update_signatures(self, updates: Iterable[tuple[str, Sequence[SignatureCheck]]]) -> int:
        """Replace the signature checks of the given captures; returns how many changed."""
        rows: list[tuple[Any, ...]] = []
        for capture_id, checks in updates:
            rows.append((*verdict_columns(checks), signatures_json(checks), capture_id))
        if not rows:
            return 0

        def run(conn: sqlite3.Connection) -> int:
            changed = 0
            for row in rows:
                cur = conn.execute(
                    "UPDATE captures SET flex_verdict = ?, flex_key = ?, fluent_verdict = ?, "
                    "fluent_key = ? WHERE id = ? RETURNING seq",
                    (row[0], row[1], row[2], row[3], row[5]),
                )
                found = cur.fetchone()
                if found is None:
                    continue
                conn.execute(
                    "UPDATE capture_data SET signatures_json = ? WHERE seq = ?", (row[4], found[0])
                )
                changed += 1
            return changed

        return self._call("re-verify", run)

    def delete(self, capture_ids: Iterable[str]) -> int:
        ids = json.dumps(sorted(set(capture_ids)))
        writer = self._writer_for("delete")

        def run(conn: sqlite3.Connection) -> int:
            conn.execute(
                "DELETE FROM capture_data WHERE seq IN (SELECT seq FROM captures "
                "WHERE id IN (SELECT value FROM json_each(?)))",
                (ids,),
            )
            conn.execute(
                "DELETE FROM replays WHERE capture_id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
            cur = conn.execute(
                "DELETE FROM captures WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
            writer.rows_estimate -= cur.rowcount
            return cur.rowcount

        return self._call("delete", run)

    def clear(self) -> int:
        writer = self._writer_for("clear")

        def run(conn: sqlite3.Connection) -> int:
            # The search indexes are emptied in one step each, not row by row through the
            # delete triggers (minutes at a million); the triggers are back before COMMIT.
            for name in schema.SEARCH_TRIGGER_NAMES:
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute("DELETE FROM capture_data")
            conn.execute("DELETE FROM replays")
            removed = conn.execute("DELETE FROM captures").rowcount
            conn.execute("INSERT INTO captures_fts (captures_fts) VALUES ('delete-all')")
            conn.execute("INSERT INTO bodies_fts (bodies_fts) VALUES ('delete-all')")
            conn.execute("DELETE FROM search_backfill")
            for trigger in schema.SEARCH_TRIGGERS:
                conn.execute(trigger)
            writer.rows_estimate = 0
            return removed

        return self._call("clear", run)

    # ---------------------------------------------------------------- reading

    def get(self, capture_id: str) -> Capture | None:
        """The full capture, body and all, or None when it is not (or no longer) stored."""
        with self._reader("read") as conn:
            r = conn.execute(
                f"SELECT {CAPTURE_COLUMNS} FROM captures AS c JOIN capture_data AS d "
                f"ON d.seq = c.seq WHERE c.id = ?",
                (capture_id,),
            ).fetchone()
            if r is None:
                return None
            return self._with_replays(conn, [capture_from(r)])[0]

    def resolve_id(self, prefix: str) -> str:
        """The full id of the one capture whose id is ``prefix`` or starts with it (as git
        takes a unique prefix of a commit); a :class:`CaptureIdError` says why not."""
        text = prefix.strip()
        if not text:
            raise CaptureIdError("Give a capture id (or a unique prefix of one).")
        limit = 11
        with self._reader("read") as conn:
            # A range on the unique index: as fast as an exact match, at any store size.
            rows = conn.execute(
                "SELECT id FROM captures WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (text, text + "\U0010ffff", limit),
            ).fetchall()
        return choose_id(text, [r[0] for r in rows], where=str(self.path), limit=limit)

    def row(self, capture_id: str) -> CaptureRow | None:
        with self._reader("read") as conn:
            r = conn.execute(
                f"SELECT {ROW_COLUMNS} FROM captures AS c WHERE c.id = ?", (capture_id,)
            ).fetchone()
        return row_from(r) if r is not None else None

    def page(
        self,
        query: CaptureQuery = ANY,
        *,
        before_seq: int | None = None,
        limit: int = 200,
        order: SortOrder = NEWEST_FIRST,
        after: CaptureRow | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> list[CaptureRow]:
        """One page in ``order`` (newest first by default).

        ``after`` is the last row of the previous page (keyset paging: no OFFSET, so every
        page costs the same however deep). ``before_seq`` only bounds the rows read to
        ``seq < before_seq`` - the table's snapshot, so that rows stored later reach it once,
        through ``since()``; in the default order it alone also pages. ``cancel`` is polled
        while the query runs: once true it stops with :class:`QueryCancelled`.
        """
        with self._cancellable("read", cancel) as conn:
            indexed = self._indexed(conn)
            if indexed and query.text and indexed_text(query) and order.key == "seq":
                return self._windowed_page(conn, query, before_seq, limit, order, after)
            clauses, params = where_clauses(query, indexed=indexed)
            if before_seq is not None:
                clauses.append("c.seq < ?")
                params.append(before_seq)
            order_by, keyset, keyset_params = order_clauses(order, after)
            clauses += keyset
            params += keyset_params
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = conn.execute(
                f"SELECT {ROW_COLUMNS} FROM captures AS c {where} {order_by} LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [row_from(r) for r in rows]

    def _windowed_page(
        self,
        conn: sqlite3.Connection,
        query: CaptureQuery,
        before_seq: int | None,
        limit: int,
        order: SortOrder,
        after: CaptureRow | None,
    ) -> list[CaptureRow]:
        """A page in seq order from the search indexes, a growing seq window at a time.

        ``seq IN (index lookup)`` alone makes SQLite collect every match first - 90,000 rows
        for an event name at a million captures, ~0.3 s of lookups - where a page needs 200.
        Windows from the page's edge on (8,192 seqs, then 4x wider each time) stop as soon
        as the page is full; a rare text costs about two passes over its index entries."""
        hi = before_seq if before_seq is not None else self._max_seq_on(conn) + 1
        lo = 1
        if after is not None:
            if order.descending:
                hi = min(hi, after.seq)
            else:
                lo = after.seq + 1
        rows: list[Any] = []
        width = WINDOW_START
        direction = "DESC" if order.descending else "ASC"
        while len(rows) < limit and lo < hi:
            window = (max(lo, hi - width), hi) if order.descending else (lo, min(hi, lo + width))
            clauses, params = where_clauses(query, indexed=True, window=window)
            rows += conn.execute(
                f"SELECT {ROW_COLUMNS} FROM captures AS c WHERE {' AND '.join(clauses)} "
                f"ORDER BY c.seq {direction} LIMIT ?",
                [*params, limit - len(rows)],
            ).fetchall()
            if order.descending:
                hi = window[0]
            else:
                lo = window[1]
            width *= 4
        return [row_from(r) for r in rows]

    @staticmethod
    def _max_seq_on(conn: sqlite3.Connection) -> int:
        found: int = conn.execute("SELECT coalesce(max(seq), 0) FROM captures").fetchone()[0]
        return found

    def since(
        self, after_seq: int, query: CaptureQuery = ANY, limit: int = 1000
    ) -> list[CaptureRow]:
        """Rows with seq > after_seq, oldest first (live refresh, other processes' writes)."""
        clauses, params = where_clauses(query)
        clauses.append("c.seq > ?")
        params.append(after_seq)
        with self._reader("read") as conn:
            rows = conn.execute(
                f"SELECT {ROW_COLUMNS} FROM captures AS c WHERE {' AND '.join(clauses)} "
                f"ORDER BY c.seq ASC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [row_from(r) for r in rows]

    def count(
        self,
        query: CaptureQuery = ANY,
        *,
        up_to: int | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> int:
        """How many captures match; ``up_to``: only those with seq <= it (a snapshot)."""
        with self._cancellable("count", cancel) as conn:
            clauses, params = where_clauses(query, indexed=self._indexed(conn))
            if up_to is not None:
                if not clauses:
                    # count(*) over a seq range walks the wide table (~0.5 s at a million);
                    # the whole count uses the narrowest index. One statement, one snapshot.
                    found_all: int = conn.execute(
                        "SELECT (SELECT count(*) FROM captures) - "
                        "(SELECT count(*) FROM captures WHERE seq > ?)",
                        (up_to,),
                    ).fetchone()[0]
                    return found_all
                clauses.append("c.seq <= ?")
                params.append(up_to)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            found: int = conn.execute(
                f"SELECT count(*) FROM captures AS c {where}", params
            ).fetchone()[0]
        return found

    def max_seq(self) -> int:
        with self._reader("read") as conn:
            found: int = conn.execute("SELECT coalesce(max(seq), 0) FROM captures").fetchone()[0]
        return found

    def iter_captures(self, query: CaptureQuery = ANY, *, batch: int = 500) -> Iterator[Capture]:
        """Every matching capture, oldest first, fetched ``batch`` at a time (for export).

        Each batch is its own short read, so captures stored meanwhile are included and a
        long export never holds the database.
        """
        with self._reader("export") as conn:
            clauses, params = where_clauses(query, indexed=self._indexed(conn))
        clauses.append("c.seq > ?")
        sql = (
            f"SELECT {CAPTURE_COLUMNS} FROM captures AS c JOIN capture_data AS d "
            f"ON d.seq = c.seq WHERE {' AND '.join(clauses)} ORDER BY c.seq ASC LIMIT ?"
        )
        last = 0
        while True:
            with self._reader("export") as conn:
                rows = conn.execute(sql, [*params, last, batch]).fetchall()
                captures = self._with_replays(conn, [capture_from(r) for r in rows])
            if not rows:
                return
            yield from captures
            last = rows[-1][0]
            if len(rows) < batch:
                return

    def iter_salvaged(self, tally: Salvaged) -> Iterator[Capture]:
        """Every capture that can still be read from a damaged store, oldest first.

        Reads seq ranges; a range that hits a damaged page is read again one seq at a time,
        so one bad page costs only the rows on it, each counted in ``tally.skipped``. A
        capture whose replays cannot be read comes out without them.
        """
        sql = (
            f"SELECT {CAPTURE_COLUMNS} FROM captures AS c JOIN capture_data AS d "
            f"ON d.seq = c.seq WHERE c.seq BETWEEN ? AND ? ORDER BY c.seq"
        )
        highest = self._salvage_highest_seq()
        for low in range(1, highest + 1, SALVAGE_RANGE):
            high = min(highest, low + SALVAGE_RANGE - 1)
            with self._reader("salvage") as conn:
                try:
                    rows = conn.execute(sql, (low, high)).fetchall()
                    captures = [capture_from(r) for r in rows]
                except Exception:
                    captures = list(self._salvage_one_by_one(conn, sql, low, high, tally))
                with contextlib.suppress(Exception):
                    # When the replays cannot be read, the captures still come out whole.
                    captures = self._with_replays(conn, captures)
            tally.exported += len(captures)
            yield from captures

    def _salvage_one_by_one(
        self, conn: sqlite3.Connection, sql: str, low: int, high: int, tally: Salvaged
    ) -> Iterator[Capture]:
        for seq in range(low, high + 1):
            try:
                row = conn.execute(sql, (seq, seq)).fetchone()
                if row is not None:
                    yield capture_from(row)
            except Exception:
                # Anything at all: a damaged page raises sqlite3.DatabaseError, damaged
                # content a decoding error; either way this row is lost, the rest is not.
                tally.skipped += 1

    def _salvage_highest_seq(self) -> int:
        """The highest seq ever given out, from whichever record of it is still readable."""
        for sql in (
            "SELECT seq FROM sqlite_sequence WHERE name = 'captures'",
            "SELECT max(seq) FROM captures",
            "SELECT max(seq) FROM capture_data",
        ):
            try:
                with self._reader("salvage") as conn:
                    found = conn.execute(sql).fetchone()
            except StoreError:
                continue
            if found is not None and found[0] is not None:
                return int(found[0])
        return 0

    def distinct(
        self,
        column: Literal["event_name", "entity_type", "method"],
        within: CaptureQuery = ANY,
        *,
        cancel: Callable[[], bool] | None = None,
    ) -> list[tuple[str, int]]:
        """(value, count) pairs of a column among the captures ``within`` matches, sorted by
        value; empty values left out. ``cancel`` as for :meth:`page`."""
        if column not in ("event_name", "entity_type", "method"):
            raise ValueError(f"distinct() does not support column {column!r}")
        rows = self._grouped(within, f"c.{column}", f"c.{column} != ''", cancel=cancel)
        return sorted((str(value), int(n)) for value, n in rows)

    def verdict_counts(
        self, within: CaptureQuery = ANY, *, cancel: Callable[[], bool] | None = None
    ) -> dict[tuple[Verdict, Verdict], int]:
        """How many captures ``within`` matches have each (flex, fluent) verdict pair: any
        signature filter's count is a sum of these. ``cancel`` as for :meth:`page`."""
        rows = self._grouped(within, "c.flex_verdict, c.fluent_verdict", cancel=cancel)
        return {(Verdict(flex), Verdict(fluent)): int(n) for flex, fluent, n in rows}

    def _grouped(
        self,
        within: CaptureQuery,
        columns: str,
        *extra: str,
        cancel: Callable[[], bool] | None = None,
    ) -> list[Any]:
        """``columns..., count(*)`` per distinct value among the captures ``within`` matches."""
        with self._cancellable("count", cancel) as conn:
            clauses, params = where_clauses(within, indexed=self._indexed(conn))
            clauses.extend(extra)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            return conn.execute(
                f"SELECT {columns}, count(*) FROM captures AS c {where} GROUP BY {columns}",
                params,
            ).fetchall()

    # Retry groups and entity timelines: the SQL lives in groups.py and entities.py.

    def group_page(
        self, query: CaptureQuery = ANY, *, before_seq: int | None = None, limit: int = 200
    ) -> list[groups.RetryGroup]:
        """Deliveries folded by event id, newest group first; see ``store/groups.py``."""
        with self._reader("read") as conn:
            return groups.group_page(conn, query, before_seq=before_seq, limit=limit)

    def group_count(self, query: CaptureQuery = ANY) -> int:
        with self._reader("count") as conn:
            return groups.group_count(conn, query)

    def group(self, key: str, query: CaptureQuery = ANY) -> groups.RetryGroup | None:
        """One group by event id (or capture id, for a capture without an event id)."""
        with self._reader("read") as conn:
            return groups.group_for(conn, key, query)

    def entity_rows(self, ref: str, *, limit: int = entities.TIMELINE_LIMIT) -> list[CaptureRow]:
        """Captures whose root entity ref or entity ref is ``ref``, oldest first."""
        with self._reader("read") as conn:
            return entities.entity_rows(conn, ref, limit=limit)

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Store everything already submitted, stop the writer, close connections."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
        # Submitted captures checked _closed under the lock, so all are queued before this.
        if self._writer is not None:
            self._writer.stop()
        if self._backfill is not None:
            self._backfill.join()
        for conn in idle:
            conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"
