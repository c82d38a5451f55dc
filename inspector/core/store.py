"""The capture store: SQLite (WAL) with one group-committing writer thread.

Layout. ``captures`` holds one row per capture with every column a list, filter or count
reads; the large or detail-only parts (headers, bodies, event JSON, full signature checks)
live in ``capture_data`` keyed by the same ``seq``. Keeping the hot table narrow is what
makes a filtered ``count()`` or a selective ``page()`` over 100,000+ rows a scan of a few
tens of MB instead of every body ever received.

Writes. Every write in this process goes through one writer thread, so the process never
contends with itself for SQLite's write lock. ``submit()`` queues a capture and returns a
future; the writer takes whatever is queued (up to about ``MAX_BATCH``), inserts it in ONE
transaction and resolves the futures only after COMMIT returned. Under load this turns N
fsyncs into one, which is what lets "answer only after the capture is on disk" keep up.
``submit_async()`` is the same for a coroutine (the listener): captures submitted in one
turn of its loop reach the writer together, and one callback per commit wakes them all.

The ingest path was tuned with ``bench/ingest.py`` (wrk, 32 connections, RSA-1024) on the
2-core dev box; what mattered, in order: attempt numbering read one index entry instead of
counting every earlier delivery of the event (O(n) per commit before); time-ordered capture
ids (UUIDv7), so the unique id index grows at its right edge instead of dirtying one random
page per capture; futures resolved per commit instead of per capture; a short wait for the
group to fill when busy (``GROUP_DELAY_S``); multi-row INSERTs; less Python per row.

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
import functools
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from inspector.core import paths
from inspector.core.capture import (
    Capture,
    Headers,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
)
from inspector.core.capture_ids import CaptureIdError, choose_id
from inspector.core.errors import StoreError
from inspector.core.events import EventSummary

__all__ = [
    "SCHEMA_VERSION",
    "CaptureQuery",
    "CaptureRow",
    "Store",
]

_T = TypeVar("_T")
_K = TypeVar("_K")

BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another process's write lock before giving up."""
MAX_BATCH = 1000
"""Most captures committed in one transaction; bounds latency of the first one queued."""
IMPORT_CHUNK = 500
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
_IDLE_READERS = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
# Written to PRAGMA application_id so a foreign SQLite file is told apart from ours.
_APPLICATION_ID = 0x46574931  # "FWI1"


# --------------------------------------------------------------------------- public values


@dataclass(frozen=True, slots=True)
class CaptureRow:
    """Everything the live table draws: no body, no JSON parsing, no crypto."""

    seq: int
    id: str
    received_at: datetime
    method: str
    path: str
    query: str
    event_id: str
    event_name: str
    entity_type: str
    entity_id: str
    entity_ref: str
    entity_status: str
    root_entity_type: str
    root_entity_ref: str
    response_status: int
    size: int
    content_type: str
    flex: Verdict
    flex_key: str | None
    fluent: Verdict
    fluent_key: str | None
    attempt: int
    """Ordinal among captures with the same event id (1 when there is no event id)."""
    attempts: int
    """Captures stored so far with the same event id (1 when there is no event id)."""
    rejected: str | None
    remote: str


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


_ANY = CaptureQuery()


# --------------------------------------------------------------------------- schema


def _migrate_v1(conn: sqlite3.Connection) -> None:
    # AUTOINCREMENT: seq is never reused after delete/clear, so a reader polling
    # since(last_seq) - possibly in another process - cannot miss rows.
    conn.execute(
        """
        CREATE TABLE captures (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            received_at INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
            method TEXT NOT NULL,
            target TEXT NOT NULL,
            path TEXT NOT NULL,
            query TEXT NOT NULL,
            remote TEXT NOT NULL,
            tls INTEGER NOT NULL,
            response_status INTEGER NOT NULL,
            rejected TEXT,
            body_size INTEGER,              -- Capture.body_size as given (NULL = len(body))
            size INTEGER NOT NULL,          -- what the table shows
            content_type TEXT NOT NULL,
            event_id TEXT NOT NULL,         -- '' when the body is not a Fluent event
            event_name TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            entity_ref TEXT NOT NULL,
            entity_status TEXT NOT NULL,
            root_entity_type TEXT NOT NULL,
            root_entity_ref TEXT NOT NULL,
            flex_verdict TEXT NOT NULL,
            flex_key TEXT,
            fluent_verdict TEXT NOT NULL,
            fluent_key TEXT,
            attempt INTEGER NOT NULL,
            search TEXT NOT NULL            -- lower-cased searchable fields, see _search_text()
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE capture_data (
            seq INTEGER PRIMARY KEY,        -- = captures.seq
            headers TEXT NOT NULL,          -- JSON [[name, value], ...] as received
            body BLOB NOT NULL,
            response_headers TEXT NOT NULL,
            response_body BLOB NOT NULL,
            event_json TEXT,                -- EventSummary as JSON, NULL when not an event
            signatures_json TEXT NOT NULL   -- every field of every SignatureCheck
        )
        """
    )
    # event_id: attempt numbering and the attempts column. The others serve the quick
    # filters (and distinct()); each index walked backwards yields seq order per value.
    for column in ("event_id", "event_name", "entity_type", "flex_verdict", "fluent_verdict"):
        conn.execute(f"CREATE INDEX captures_{column} ON captures ({column})")


def _migrate_v2(conn: sqlite3.Connection) -> None:
    # Attempt numbering asks for the highest attempt of an event id inside every write
    # transaction; (event_id, attempt) answers that with one index probe, where counting
    # the earlier deliveries walked all of them (a retry storm made every commit slower).
    # The new index also serves everything the old event_id index did.
    conn.execute("DROP INDEX IF EXISTS captures_event_id")
    conn.execute("CREATE INDEX captures_event_attempt ON captures (event_id, attempt)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_v1, _migrate_v2]
"""Migration ``i`` takes the schema from version ``i`` to ``i + 1``; append, never edit."""
SCHEMA_VERSION = len(MIGRATIONS)


# --------------------------------------------------------------------------- error mapping


def _map_error(error: BaseException, path: Path, action: str) -> StoreError:
    """Turn a sqlite3 (or OS) error into a StoreError that says what to do.

    ``action`` names what failed ("open", "store", "delete"...); for "store" the message
    ends by saying the webhook was not stored, since that is what the user must know.
    """
    name = getattr(error, "sqlite_errorname", "") or ""
    text = str(error)
    lowered = text.lower()
    where = str(path)
    if name.startswith("SQLITE_FULL") or "disk is full" in lowered:
        advice = (
            f"The disk holding {where} is full: free some space, or use --data-dir to pick "
            f"another place"
        )
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in lowered:
        advice = (
            f"Another program holds a write lock on {where} (another inspector, an export "
            f"or a database browser?) and did not release it within {BUSY_TIMEOUT_S:g} s: "
            f"close it and try again, or use --data-dir to pick another place"
        )
    elif (
        name.startswith(("SQLITE_READONLY", "SQLITE_PERM"))
        or "readonly" in lowered
        or isinstance(error, PermissionError)
    ):
        advice = (
            f"{where} is read-only: check the permissions of the file and its folder, "
            f"or use --data-dir to pick another place"
        )
    elif name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in lowered:
        advice = (
            f"{where} is not an inspector database (corrupt, or another file): move it "
            f"away and start again, and the inspector will create a new one"
        )
    elif name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        advice = (
            f"Cannot open {where}: check that its folder exists and is writable, or use "
            f"--data-dir to pick another place"
        )
    elif name.startswith("SQLITE_IOERR") or isinstance(error, OSError):
        advice = (
            f"Reading or writing {where} failed ({text}): check the disk, or use --data-dir "
            f"to pick another place"
        )
    else:
        advice = f"The capture store {where} failed ({text}): this is probably a bug; report it"
    if action == "store":
        message = f"{advice}. The webhook was not stored."
    else:
        message = f"{advice}. ({action.capitalize()} failed.)"
    mapped = StoreError(message)
    mapped.__cause__ = error
    return mapped


# --------------------------------------------------------------------------- (de)serialisation


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        # Capture promises aware UTC; a naive value can only sensibly mean UTC.
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _headers_json(headers: Headers) -> str:
    # ensure_ascii (the default) escapes lone surrogates, so any str round-trips. Pairs
    # are tuples or lists; both encode as [name, value].
    return json.dumps(headers)


def _headers_from(text: str) -> Headers:
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def _signatures_json(checks: Sequence[SignatureCheck]) -> str:
    return json.dumps(
        [
            {
                "header": check.header.value,
                "verdict": check.verdict.value,
                "key_name": check.key_name,
                "received_name": check.received_name,
                "detail": check.detail,
                "hint": check.hint,
            }
            for check in checks
        ]
    )


def _signatures_from(text: str) -> tuple[SignatureCheck, ...]:
    return tuple(
        SignatureCheck(
            header=SignatureHeader(item["header"]),
            verdict=Verdict(item["verdict"]),
            key_name=item["key_name"],
            received_name=item["received_name"],
            detail=item["detail"],
            hint=item["hint"],
        )
        for item in json.loads(text)
    )


_EVENT_FIELDS = (
    "id",
    "name",
    "account_id",
    "retailer_id",
    "entity_id",
    "entity_ref",
    "entity_type",
    "entity_subtype",
    "entity_status",
    "root_entity_id",
    "root_entity_ref",
    "root_entity_type",
    "type",
    "source",
    "scheduled_on",
)


def _event_json(event: EventSummary | None) -> str | None:
    if event is None:
        return None
    # Spelled out rather than looped over _EVENT_FIELDS: this runs once per capture.
    return json.dumps(
        {
            "id": event.id,
            "name": event.name,
            "account_id": event.account_id,
            "retailer_id": event.retailer_id,
            "entity_id": event.entity_id,
            "entity_ref": event.entity_ref,
            "entity_type": event.entity_type,
            "entity_subtype": event.entity_subtype,
            "entity_status": event.entity_status,
            "root_entity_id": event.root_entity_id,
            "root_entity_ref": event.root_entity_ref,
            "root_entity_type": event.root_entity_type,
            "type": event.type,
            "source": event.source,
            "scheduled_on": event.scheduled_on,
            "attributes": event.attributes,
            "missing": event.missing,
        }
    )


def _event_from(text: str | None) -> EventSummary | None:
    if text is None:
        return None
    data = json.loads(text)
    return EventSummary(
        **{name: data.get(name, "") for name in _EVENT_FIELDS},
        attributes=data.get("attributes"),
        missing=tuple(data.get("missing", ())),
    )


def _search_text(capture: Capture, event: EventSummary | None) -> str:
    fields = [capture.path, capture.query, capture.id]
    if event is not None:
        fields += [event.name, event.entity_ref, event.entity_id, event.entity_status, event.id]
    return "\x1f".join(fields).lower()


_CAPTURE_INSERT_COLUMNS = (
    "seq, id, received_at, method, target, path, query, remote, tls, response_status, "
    "rejected, body_size, size, content_type, event_id, event_name, entity_type, entity_id, "
    "entity_ref, entity_status, root_entity_type, root_entity_ref, flex_verdict, flex_key, "
    "fluent_verdict, fluent_key, search, attempt"
)
_CAPTURE_WIDTH = 28
_DATA_INSERT_COLUMNS = (
    "seq, headers, body, response_headers, response_body, event_json, signatures_json"
)
_DATA_WIDTH = 7
# Rows per INSERT statement. One multi-row INSERT is one sqlite3_step, so the writer lets
# go of the GIL (and must win it back from the busy listener loop) once per statement
# rather than twice per row as executemany() does. Every row count up to this gets its own
# cached statement (see _WRITER_STATEMENT_CACHE).
_ROWS_PER_INSERT = 64
_WRITER_STATEMENT_CACHE = 2 * _ROWS_PER_INSERT + 32


@functools.cache
def _insert_sql(table: str, columns: str, width: int, rows: int) -> str:
    row = "(" + ",".join("?" * width) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES " + ",".join([row] * rows)


_Row = tuple[Any, ...]

# Response headers and signature checks repeat from capture to capture (the same JSON
# header, "valid with key X"), so their JSON is cached. Rows are built on the writer thread,
# not by the submitter: the listener's loop is the busier thread, and the writer's Python
# runs while the loop is in socket calls without the GIL.
_JSON_CACHE_LIMIT = 256
_headers_cache: dict[Headers, str] = {}
_signatures_cache: dict[tuple[SignatureCheck, ...], str] = {}


def _cached_json(cache: dict[_K, str], value: _K, encode: Callable[[_K], str]) -> str:
    try:
        text = cache.get(value)
    except TypeError:  # something unhashable (lists instead of tuples): just encode it
        return encode(value)
    if text is None:
        text = encode(value)
        if len(cache) >= _JSON_CACHE_LIMIT:
            cache.clear()
        cache[value] = text
    return text


_NO_EVENT = ("",) * 8


def _rows_for(capture: Capture) -> tuple[_Row, _Row]:
    """The captures row without seq and attempt, and the capture_data row without seq."""
    event = capture.event
    flex = fluent = None
    for check in capture.signatures:
        if check.header is SignatureHeader.FLEX:
            flex = flex or check
        elif check.header is SignatureHeader.FLUENT:
            fluent = fluent or check
    # Same reading as Capture.signature(): a header without a check is MISSING.
    body = capture.body
    response = capture.response
    main = (
        capture.id,
        _micros(capture.received_at),
        capture.method,
        capture.target,
        capture.path,
        capture.query,
        capture.remote,
        int(capture.tls),
        response.status,
        capture.rejected,
        capture.body_size,
        capture.body_size if capture.body_size is not None else len(body),
        capture.content_type,
        *(
            _NO_EVENT
            if event is None
            else (
                event.id,
                event.name,
                event.entity_type,
                event.entity_id,
                event.entity_ref,
                event.entity_status,
                event.root_entity_type,
                event.root_entity_ref,
            )
        ),
        flex.verdict.value if flex else Verdict.MISSING.value,
        flex.key_name if flex else None,
        fluent.verdict.value if fluent else Verdict.MISSING.value,
        fluent.key_name if fluent else None,
        _search_text(capture, event),
    )
    data = (
        _headers_json(capture.headers),
        body if type(body) is bytes else bytes(body),
        _cached_json(_headers_cache, response.headers, _headers_json),
        response.body if type(response.body) is bytes else bytes(response.body),
        _event_json(event),
        _cached_json(_signatures_cache, tuple(capture.signatures), _signatures_json),
    )
    return main, data


_ROW_COLUMNS = (
    "c.seq, c.id, c.received_at, c.method, c.path, c.query, c.event_id, c.event_name, "
    "c.entity_type, c.entity_id, c.entity_ref, c.entity_status, c.root_entity_type, "
    "c.root_entity_ref, c.response_status, c.size, c.content_type, c.flex_verdict, c.flex_key, "
    "c.fluent_verdict, c.fluent_key, c.attempt, "
    "CASE WHEN c.event_id = '' THEN 1 ELSE "
    "(SELECT count(*) FROM captures AS x WHERE x.event_id = c.event_id) END, "
    "c.rejected, c.remote"
)


def _row_from(r: Sequence[Any]) -> CaptureRow:
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
    )


_CAPTURE_COLUMNS = (
    "c.seq, c.id, c.received_at, c.method, c.target, c.path, c.query, c.remote, c.tls, "
    "c.response_status, c.rejected, c.body_size, c.attempt, d.headers, d.body, "
    "d.response_headers, d.response_body, d.event_json, d.signatures_json"
)


def _capture_from(r: Sequence[Any]) -> Capture:
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
        signatures=_signatures_from(r[18]),
    )


def _where(query: CaptureQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.text:
        clauses.append("instr(c.search, ?) > 0")
        params.append(query.text.lower())
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


# --------------------------------------------------------------------------- writer plumbing


@dataclass(slots=True)
class _Pending:
    capture: Capture
    future: concurrent.futures.Future[Capture] | asyncio.Future[Capture]
    loop: asyncio.AbstractEventLoop | None = None
    """Set for submit_async(): the loop that owns ``future``."""


@dataclass(slots=True)
class _Op:
    """A non-capture write run on the writer thread in its own transaction."""

    run: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]
    action: str


class _Stop:
    pass


_STOP = _Stop()
_Queued = _Pending | list[_Pending] | _Op | _Stop


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


def _settle(batch: Sequence[_Pending], outcomes: Sequence[Capture | BaseException]) -> None:
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


# --------------------------------------------------------------------------- the store


class Store:
    """SQLite capture store. Thread-safe; one instance per file per process is enough."""

    def __init__(self, path: Path, *, retention: int | None = None, readonly: bool = False) -> None:
        if retention is not None and retention < 1:
            raise ValueError("retention must be at least 1 (or None for no limit)")
        self.path = Path(path)
        self.retention = retention
        self.readonly = readonly
        self._lock = threading.Lock()
        self._closed = False
        self._idle: list[sqlite3.Connection] = []
        self._queue: queue.SimpleQueue[_Queued] = queue.SimpleQueue()
        # submit_async() captures gathered per loop iteration, keyed by their loop; each
        # dict entry is only touched from its own loop's thread.
        self._gathering: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        self._writer: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._rows_estimate = 0
        self.commit_count = 0
        """Write transactions committed by this instance (group commit shows as < captures)."""
        if readonly:
            if not self.path.is_file():
                raise StoreError(
                    f"{self.path} does not exist: check the path or --data-dir "
                    f"(nothing has been captured there yet?)."
                )
            conn = self._connect(readonly=True)
            try:
                self._check_version(conn, self._user_version(conn), readonly=True)
            except sqlite3.Error as error:
                conn.close()
                raise _map_error(error, self.path, "open") from error
            except BaseException:
                conn.close()
                raise
            self._idle.append(conn)
            return
        self._writer = self._open_writer()
        if retention is not None:
            try:
                self._rows_estimate = self._count_rows(self._writer)
            except sqlite3.Error as error:
                self._writer.close()
                raise _map_error(error, self.path, "open") from error
        self._thread = threading.Thread(target=self._run, name="inspector-store-writer")
        self._thread.daemon = True
        self._thread.start()

    @classmethod
    def open(cls, data_dir: Path, *, retention: int | None = None) -> Store:
        """Open (creating if needed) the store in the inspector's data dir."""
        try:
            directory = paths.ensure_data_dir(data_dir)
        except OSError as error:
            raise _map_error(error, data_dir / paths.STORE_FILENAME, "open") from error
        return cls(directory / paths.STORE_FILENAME, retention=retention)

    # ---------------------------------------------------------------- connections

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        try:
            if self.readonly:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                conn = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=BUSY_TIMEOUT_S,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_S,
                    isolation_level=None,
                    check_same_thread=False,
                    cached_statements=_WRITER_STATEMENT_CACHE,
                )
            if readonly and not self.readonly:
                # A reader connection of a writable store: never write through it by mistake.
                conn.execute("PRAGMA query_only = ON")
        except (sqlite3.Error, OSError) as error:
            raise _map_error(error, self.path, "open") from error
        return conn

    @staticmethod
    def _user_version(conn: sqlite3.Connection) -> int:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _check_version(self, conn: sqlite3.Connection, version: int, *, readonly: bool) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version of the inspector (schema "
                f"{version}; this version knows up to {SCHEMA_VERSION}): upgrade the app, "
                f"or use --data-dir to keep this version's captures elsewhere."
            )
        if readonly and version < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} is not an up-to-date inspector database (schema {version}): "
                f"open it once without read-only mode to upgrade it, or check the path."
            )
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, _APPLICATION_ID):
            raise StoreError(
                f"{self.path} is another program's SQLite database, not an inspector "
                f"database: move it away or use --data-dir to pick another place."
            )

    def _open_writer(self) -> sqlite3.Connection:
        conn = self._connect(readonly=False)
        try:
            # Read the version before changing anything, so a newer app's file is untouched.
            self._check_version(conn, self._user_version(conn), readonly=False)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self.path} cannot be used in WAL mode (journal mode stays {mode!r}; a "
                    f"network drive?): use --data-dir to pick a folder on a local disk."
                )
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._user_version(conn)
                self._check_version(conn, version, readonly=False)
                if version == 0:
                    foreign = conn.execute(
                        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                    ).fetchone()[0]
                    if foreign:
                        raise StoreError(
                            f"{self.path} is another program's SQLite database, not an "
                            f"inspector database: move it away or use --data-dir to pick "
                            f"another place."
                        )
                # Also a write probe: a file we may not write fails here, at open, with a
                # clear message - not later, on the first webhook.
                conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                for step in range(version, SCHEMA_VERSION):
                    MIGRATIONS[step](conn)
                if version != SCHEMA_VERSION:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as error:
            conn.close()
            raise _map_error(error, self.path, "open") from error
        return conn

    @contextlib.contextmanager
    def _reader(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"The capture store {self.path} is closed ({action}).")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect(readonly=True)
        try:
            yield conn
        except sqlite3.Error as error:
            raise _map_error(error, self.path, action) from error
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
            if self._closed or self._thread is None:
                future.set_exception(self._not_writable())
                return future
            self._queue.put(_Pending(capture, future))
        return future

    def _not_writable(self) -> StoreError:
        reason = "is closed" if self._closed else "was opened read-only"
        return StoreError(f"The capture store {self.path} {reason}: the webhook was not stored.")

    def _unstorable(self, error: Exception) -> StoreError:
        failure = StoreError(
            f"The capture could not be stored in {self.path} ({error!r}): this is a bug; "
            f"please report it."
        )
        failure.__cause__ = error
        return failure

    def submit_async(self, capture: Capture) -> asyncio.Future[Capture]:
        """Like :meth:`submit`, for a coroutine: call it on a running asyncio loop and await it.

        The writer wakes the loop once per group commit for every capture in it, instead of
        once per capture as ``asyncio.wrap_future(submit(...))`` would; at thousands of
        captures a second that difference is a good part of the listener's loop time.
        Cancelling the future does not unqueue the capture.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Capture] = loop.create_future()
        if self._closed or self._thread is None:
            future.set_exception(self._not_writable())
            return future
        # Captures submitted during one turn of the loop go to the writer together: one
        # queue hand-over (and at most one writer wake-up) per turn instead of per capture.
        gathering = self._gathering.get(loop)
        if gathering is None:
            gathering = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathering.append(_Pending(capture, future, loop))
        return future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        gathered = self._gathering.pop(loop)
        with self._lock:
            if not (self._closed or self._thread is None):
                self._queue.put(gathered)
                return
        failure = self._not_writable()
        for pending in gathered:
            if not pending.future.done():
                pending.future.set_exception(failure)

    def add(self, capture: Capture) -> Capture:
        return self.submit(capture).result()

    def _call(self, action: str, run: Callable[[sqlite3.Connection], _T]) -> _T:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._lock:
            if self._closed or self._thread is None:
                reason = "is closed" if self._closed else "was opened read-only"
                raise StoreError(f"The capture store {self.path} {reason} ({action} failed).")
            self._queue.put(_Op(run, future, action))
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
                added += self._call("import", _ImportChunk(self, chunk))
                chunk = []
        if chunk:
            added += self._call("import", _ImportChunk(self, chunk))
        return added

    def update_signatures(self, updates: Iterable[tuple[str, Sequence[SignatureCheck]]]) -> int:
        """Replace the signature checks of the given captures; returns how many changed."""
        rows: list[tuple[Any, ...]] = []
        for capture_id, checks in updates:
            # Same reading of the checks as Capture.signature(), so the row matches get().
            probe = _probe_capture(tuple(checks))
            flex = probe.signature(SignatureHeader.FLEX)
            fluent = probe.signature(SignatureHeader.FLUENT)
            rows.append(
                (
                    flex.verdict.value,
                    flex.key_name,
                    fluent.verdict.value,
                    fluent.key_name,
                    _signatures_json(checks),
                    capture_id,
                )
            )
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

        def run(conn: sqlite3.Connection) -> int:
            conn.execute(
                "DELETE FROM capture_data WHERE seq IN (SELECT seq FROM captures "
                "WHERE id IN (SELECT value FROM json_each(?)))",
                (ids,),
            )
            cur = conn.execute(
                "DELETE FROM captures WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
            self._rows_estimate -= cur.rowcount
            return cur.rowcount

        return self._call("delete", run)

    def clear(self) -> int:
        def run(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM capture_data")
            removed = conn.execute("DELETE FROM captures").rowcount
            self._rows_estimate = 0
            return removed

        return self._call("clear", run)

    # ---------------------------------------------------------------- the writer thread

    def _run(self) -> None:
        carry: _Queued | None = None
        last_commit = -1.0
        while True:
            item = carry if carry is not None else self._queue.get()
            carry = None
            if isinstance(item, _Stop):
                # Everything queued before the stop has been written by now (FIFO).
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
                return
            if isinstance(item, _Op):
                self._run_op(item)
                continue
            batch = item if isinstance(item, list) else [item]
            waited = False
            while len(batch) < MAX_BATCH:
                try:
                    following = self._queue.get_nowait()
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
                if isinstance(following, _Pending):
                    batch.append(following)
                elif isinstance(following, list):
                    batch += following
                else:
                    carry = following
                    break
            self._write_batch(batch)
            last_commit = time.monotonic()

    def _transaction(self, run: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._writer
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = run(conn)
            self._trim(conn)
            conn.execute("COMMIT")
            self.commit_count += 1
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return result

    def _run_op(self, op: _Op) -> None:
        try:
            result = self._transaction(op.run)
        except sqlite3.Error as error:
            _fail(op.future, _map_error(error, self.path, op.action))
        except Exception as error:  # the writer must outlive any single failure
            _fail(op.future, error)
        else:
            _resolve(op.future, result)

    def _write_batch(self, batch: list[_Pending]) -> None:
        def run(conn: sqlite3.Connection) -> list[Capture]:
            inserted = _insert(conn, [(p.capture, *_rows_for(p.capture)) for p in batch])
            self._rows_estimate += len(inserted)
            return inserted

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
            mapped = _map_error(error, self.path, "store")
            _settle(batch, [mapped] * len(batch))
            return
        except Exception as error:
            if len(batch) > 1:
                for pending in batch:
                    self._write_batch([pending])
                return
            _settle(batch, [self._unstorable(error)])
            return
        _settle(batch, stored)

    def _trim(self, conn: sqlite3.Connection) -> None:
        """Apply retention inside the current write transaction.

        Rows are counted only when the running estimate passes the cap by 1% (at least
        one row), and then cut back to the cap: one DELETE per ~1% of the cap, not one per
        commit. Doing it before COMMIT means that when add() returns the cap holds.
        """
        cap = self.retention
        if cap is None or self._rows_estimate <= cap + max(1, cap // 100):
            return
        cutoff = conn.execute(
            "SELECT seq FROM captures ORDER BY seq DESC LIMIT 1 OFFSET ?", (cap,)
        ).fetchone()
        if cutoff is not None:
            conn.execute("DELETE FROM capture_data WHERE seq <= ?", (cutoff[0],))
            conn.execute("DELETE FROM captures WHERE seq <= ?", (cutoff[0],))
        self._rows_estimate = self._count_rows(conn)

    @staticmethod
    def _count_rows(conn: sqlite3.Connection) -> int:
        count: int = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
        return count

    # ---------------------------------------------------------------- reading

    def get(self, capture_id: str) -> Capture | None:
        """The full capture, body and all, or None when it is not (or no longer) stored."""
        with self._reader("read") as conn:
            r = conn.execute(
                f"SELECT {_CAPTURE_COLUMNS} FROM captures AS c JOIN capture_data AS d "
                f"ON d.seq = c.seq WHERE c.id = ?",
                (capture_id,),
            ).fetchone()
        return _capture_from(r) if r is not None else None

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
                f"SELECT {_ROW_COLUMNS} FROM captures AS c WHERE c.id = ?", (capture_id,)
            ).fetchone()
        return _row_from(r) if r is not None else None

    def page(
        self,
        query: CaptureQuery = _ANY,
        *,
        before_seq: int | None = None,
        limit: int = 200,
    ) -> list[CaptureRow]:
        """Newest first; pass the last row's seq as ``before_seq`` for the next page."""
        clauses, params = _where(query)
        if before_seq is not None:
            clauses.append("c.seq < ?")
            params.append(before_seq)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._reader("read") as conn:
            rows = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM captures AS c {where} ORDER BY c.seq DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [_row_from(r) for r in rows]

    def since(
        self, after_seq: int, query: CaptureQuery = _ANY, limit: int = 1000
    ) -> list[CaptureRow]:
        """Rows with seq > after_seq, oldest first (live refresh, other processes' writes)."""
        clauses, params = _where(query)
        clauses.append("c.seq > ?")
        params.append(after_seq)
        with self._reader("read") as conn:
            rows = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM captures AS c WHERE {' AND '.join(clauses)} "
                f"ORDER BY c.seq ASC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [_row_from(r) for r in rows]

    def count(self, query: CaptureQuery = _ANY) -> int:
        clauses, params = _where(query)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._reader("count") as conn:
            found: int = conn.execute(
                f"SELECT count(*) FROM captures AS c {where}", params
            ).fetchone()[0]
        return found

    def max_seq(self) -> int:
        with self._reader("read") as conn:
            found: int = conn.execute("SELECT coalesce(max(seq), 0) FROM captures").fetchone()[0]
        return found

    def iter_captures(self, query: CaptureQuery = _ANY, *, batch: int = 500) -> Iterator[Capture]:
        """Every matching capture, oldest first, fetched ``batch`` at a time (for export).

        Each batch is its own short read, so captures stored meanwhile are included and a
        long export never holds the database.
        """
        clauses, params = _where(query)
        clauses.append("c.seq > ?")
        sql = (
            f"SELECT {_CAPTURE_COLUMNS} FROM captures AS c JOIN capture_data AS d "
            f"ON d.seq = c.seq WHERE {' AND '.join(clauses)} ORDER BY c.seq ASC LIMIT ?"
        )
        last = 0
        while True:
            with self._reader("export") as conn:
                rows = conn.execute(sql, [*params, last, batch]).fetchall()
            if not rows:
                return
            for r in rows:
                yield _capture_from(r)
            last = rows[-1][0]
            if len(rows) < batch:
                return

    def distinct(
        self, column: Literal["event_name", "entity_type", "method"]
    ) -> list[tuple[str, int]]:
        """(value, count) pairs of a column, sorted by value; empty values left out."""
        if column not in ("event_name", "entity_type", "method"):
            raise ValueError(f"distinct() does not support column {column!r}")
        with self._reader("read") as conn:
            rows = conn.execute(
                f"SELECT {column}, count(*) FROM captures WHERE {column} != '' "
                f"GROUP BY {column} ORDER BY {column}"
            ).fetchall()
        return [(str(value), int(n)) for value, n in rows]

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Store everything already submitted, stop the writer, close connections."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._thread is not None:
                self._queue.put(_STOP)
            idle, self._idle = self._idle, []
        # A future's done-callback runs on the writer thread; it cannot wait for itself.
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        for conn in idle:
            conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


# The next seq, and per event id of the batch its highest attempt so far, in one statement.
_BATCH_START = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'captures'), 0), "
    "coalesce((SELECT max(seq) FROM captures), 0)) + 1, "
    "(SELECT json_group_object(value, (SELECT max(attempt) FROM captures WHERE event_id = value)) "
    "FROM json_each(?))"
)


def _insert(
    conn: sqlite3.Connection, entries: Sequence[tuple[Capture, _Row, _Row]]
) -> list[Capture]:
    """Insert in the current transaction; returns the captures with seq and attempt set.

    ``entries`` are (capture, *_rows_for(capture)).
    """
    # Attempt = 1 + the highest attempt already stored with this event id, read inside the
    # write transaction so concurrent deliveries (even from another process) get 1, 2, 3...
    event_ids = {c.event.id for c, _, _ in entries if c.event is not None and c.event.id}
    seq, last_json = conn.execute(_BATCH_START, (json.dumps(list(event_ids)),)).fetchone()
    last: dict[str, int | None] = json.loads(last_json)
    mains: list[Any] = []
    datas: list[Any] = []
    stored: list[Capture] = []
    for capture, main, data in entries:
        event = capture.event
        if event is not None and event.id:
            attempt = (last.get(event.id) or 0) + 1
            last[event.id] = attempt
        else:
            attempt = 1
        mains.append(seq)
        mains += main
        mains.append(attempt)
        datas.append(seq)
        datas += data
        stored.append(replace(capture, seq=seq, attempt=attempt))
        seq += 1
    _insert_rows(conn, "captures", _CAPTURE_INSERT_COLUMNS, _CAPTURE_WIDTH, mains)
    _insert_rows(conn, "capture_data", _DATA_INSERT_COLUMNS, _DATA_WIDTH, datas)
    return stored


def _insert_rows(
    conn: sqlite3.Connection, table: str, columns: str, width: int, values: list[Any]
) -> None:
    """Insert ``values`` (rows of ``width`` flattened) with as few statements as allowed."""
    # SQLite builds before 3.32 allow only 999 parameters per statement.
    most = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    per_statement = max(1, min(_ROWS_PER_INSERT, most)) * width
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        conn.execute(_insert_sql(table, columns, width, len(chunk) // width), chunk)


class _ImportChunk:
    """One add_many() chunk: drop ids already stored (or repeated), insert the rest."""

    def __init__(self, store: Store, captures: list[Capture]) -> None:
        self.store = store
        self.captures = captures

    def __call__(self, conn: sqlite3.Connection) -> int:
        ids = json.dumps([c.id for c in self.captures])
        present = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM captures WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
        }
        fresh: list[Capture] = []
        for capture in self.captures:
            if capture.id not in present:
                present.add(capture.id)
                fresh.append(capture)
        if fresh:
            _insert(conn, [(c, *_rows_for(c)) for c in fresh])
        self.store._rows_estimate += len(fresh)
        return len(fresh)


def _probe_capture(checks: tuple[SignatureCheck, ...]) -> Capture:
    return Capture(
        id="",
        received_at=_EPOCH,
        method="",
        target="",
        path="",
        query="",
        headers=(),
        body=b"",
        remote="",
        signatures=checks,
    )
