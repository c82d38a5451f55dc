"""Writing rows: a :class:`Capture` as its ``captures`` and ``capture_data`` rows, and the
multi-row INSERTs that put a group of them into the current transaction."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from inspector.core import codec
from inspector.core.capture import (
    Capture,
    Headers,
    ReplayRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
)
from inspector.core.events import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    EventSummary,
    event_from_json,
    parse_event,
)
from inspector.core.payload import check_event, problem_fields, stored_fields
from inspector.core.store.query import micros

__all__ = [
    "ROWS_PER_INSERT",
    "WRITER_STATEMENT_CACHE",
    "PreparedRow",
    "insert",
    "insert_imported",
    "insert_replays",
    "prepare_import",
    "rows_for",
    "signatures_json",
    "verdict_columns",
    "write_outcome",
    "write_redaction",
]

_K = TypeVar("_K")


def _headers_json(headers: Headers) -> str:
    # ensure_ascii (the default) escapes lone surrogates, so any str round-trips. Pairs
    # are tuples or lists; both encode as [name, value].
    return json.dumps(headers)


def signatures_json(checks: Sequence[SignatureCheck]) -> str:
    return json.dumps(codec.encode_signatures(checks))


def verdict_columns(checks: Sequence[SignatureCheck]) -> tuple[str, str | None, str, str | None]:
    """(flex verdict, flex key, fluent verdict, fluent key) as the columns hold them: the
    same reading as :meth:`Capture.signature` (the first check of a header; none = MISSING)."""
    flex = fluent = None
    for check in checks:
        if check.header is SignatureHeader.FLEX:
            flex = flex or check
        elif check.header is SignatureHeader.FLUENT:
            fluent = fluent or check
    return (
        flex.verdict.value if flex else Verdict.MISSING.value,
        flex.key_name if flex else None,
        fluent.verdict.value if fluent else Verdict.MISSING.value,
        fluent.key_name if fluent else None,
    )


def _event_json(event: EventSummary | None) -> str | None:
    return None if event is None else json.dumps(codec.encode_event(event))


def _search_text(capture: Capture, event: EventSummary | None) -> str:
    fields = [capture.path, capture.query, capture.id]
    if event is not None:
        fields += [event.name, event.entity_ref, event.entity_id, event.entity_status, event.id]
    return "\x1f".join(fields).lower()


_CAPTURE_INSERT_COLUMNS = (
    "seq, id, received_at, method, target, path, query, remote, tls, response_status, "
    "rejected, body_size, size, content_type, event_id, event_name, entity_type, entity_id, "
    "entity_ref, entity_status, root_entity_type, root_entity_ref, flex_verdict, flex_key, "
    "fluent_verdict, fluent_key, search, payload_problems, attempt"
)
_CAPTURE_WIDTH = 29
_DATA_INSERT_COLUMNS = (
    "seq, headers, body, response_headers, response_body, event_json, signatures_json"
)
_DATA_WIDTH = 7
# Rows per INSERT statement. One multi-row INSERT is one sqlite3_step, so the writer lets
# go of the GIL (and must win it back from the busy listener loop) once per statement
# rather than twice per row as executemany() does. Every row count up to this gets its own
# cached statement (see WRITER_STATEMENT_CACHE).
ROWS_PER_INSERT = 64
WRITER_STATEMENT_CACHE = 2 * ROWS_PER_INSERT + 32


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


def _event_columns(event: EventSummary | None) -> tuple[str, ...]:
    """The event's columns of a captures row (the live insert and the import's fast path)."""
    if event is None:
        return _NO_EVENT
    return (
        event.id,
        event.name,
        event.entity_type,
        event.entity_id,
        event.entity_ref,
        event.entity_status,
        event.root_entity_type,
        event.root_entity_ref,
    )


def rows_for(capture: Capture, payload_problems: str | None = None) -> tuple[_Row, _Row]:
    """The captures row without seq and attempt, and the capture_data row without seq;
    ``payload_problems`` is ``stored_fields(capture.body)`` when the caller has it."""
    event = capture.event
    body = capture.body
    response = capture.response
    main = (
        capture.id,
        micros(capture.received_at),
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
        *_event_columns(event),
        *verdict_columns(capture.signatures),
        _search_text(capture, event),
        stored_fields(body) if payload_problems is None else payload_problems,
    )
    data = (
        _headers_json(capture.headers),
        body if type(body) is bytes else bytes(body),
        _cached_json(_headers_cache, response.headers, _headers_json),
        response.body if type(response.body) is bytes else bytes(response.body),
        _event_json(event),
        _cached_json(_signatures_cache, tuple(capture.signatures), signatures_json),
    )
    return main, data


# The next seq, and per event id of the batch its highest attempt so far, in one statement.
_BATCH_START = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'captures'), 0), "
    "coalesce((SELECT max(seq) FROM captures), 0)) + 1, "
    "(SELECT json_group_object(value, (SELECT max(attempt) FROM captures WHERE event_id = value)) "
    "FROM json_each(?))"
)


def insert(
    conn: sqlite3.Connection, entries: Sequence[tuple[Capture, _Row, _Row]]
) -> list[tuple[int, int]]:
    """Insert in the current transaction; returns each capture's (seq, attempt).

    ``entries`` are (capture, *rows_for(capture)).
    """
    # Attempt = 1 + the highest attempt already stored with this event id, read inside the
    # write transaction so concurrent deliveries (even from another process) get 1, 2, 3...
    event_ids = {c.event.id for c, _, _ in entries if c.event is not None and c.event.id}
    seq, last_json = conn.execute(_BATCH_START, (json.dumps(list(event_ids)),)).fetchone()
    last: dict[str, int | None] = json.loads(last_json)
    mains: list[Any] = []
    datas: list[Any] = []
    numbers: list[tuple[int, int]] = []
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
        numbers.append((seq, attempt))
        seq += 1
    _insert_rows(conn, "captures", _CAPTURE_INSERT_COLUMNS, _CAPTURE_WIDTH, mains)
    _insert_rows(conn, "capture_data", _DATA_INSERT_COLUMNS, _DATA_WIDTH, datas)
    return numbers


class PreparedRow(NamedTuple):
    """A capture of an import file as its rows, built straight from its JSON-lines record
    (:func:`prepare_import`): ``main`` and ``data`` as :func:`rows_for` gives them."""

    id: str
    event_id: str | None
    main: _Row
    data: _Row


_ABSENT_SIGNATURES = "not in the imported file"
_signature_rows: dict[object, tuple[tuple[str, str | None, str, str | None], str]] = {}


def _signature_columns(
    signatures: object,
) -> tuple[tuple[str, str | None, str, str | None], str]:
    """(verdict columns, signatures JSON) of a record's checks. A file's captures mostly
    share a few verdicts ("valid with key X"), so the answer is cached by their values."""
    key: tuple[object, ...] | None = None
    if type(signatures) is dict:
        parts: list[object] = []
        for name, entry in signatures.items():
            if type(entry) is not dict or not all(
                value is None or type(value) is str for value in entry.values()
            ):
                break  # only text and nulls: 1, 1.0 and true would share a key
            parts.append((name, tuple(entry.items())))
        else:
            key = tuple(parts)
            found = _signature_rows.get(key)
            if found is not None:
                return found
    checks = codec.decode_signatures(signatures, absent=_ABSENT_SIGNATURES)
    columns = (verdict_columns(checks), signatures_json(checks))
    if key is not None:
        if len(_signature_rows) >= _JSON_CACHE_LIMIT:
            _signature_rows.clear()
        _signature_rows[key] = columns
    return columns


def _pair_list(value: object) -> bool:
    """True for ``[[str, str], ...]``: the headers shape json.dumps writes as rows_for does."""
    if type(value) is not list:
        return False
    for item in value:
        if type(item) is not list or len(item) != 2:
            return False
        name, text = item
        if type(name) is not str or type(text) is not str:
            return False
    return True


def _body_event(body: bytes) -> tuple[EventSummary | None, str]:
    """(parse_event(body), stored_fields(body)), parsing a plain event body only once."""
    if (
        body[:1] == b"{"
        and len(body) <= MAX_EVENT_BYTES
        and body.count(b"{") + body.count(b"[") <= MAX_DEPTH
    ):
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None, ""
        return event_from_json(data, body), ", ".join(problem_fields(check_event(data)))
    return parse_event(body), stored_fields(body)


def prepare_import(record: object) -> PreparedRow | None:
    """The rows of a JSON-lines record as ``rows_for(decode_capture(record))`` would build
    them, without the Capture in between; None when the record is not of the plain shape
    an export writes (no forward, rule, replays or redaction mark; every field its usual
    type): the caller then decodes it in full, which also reports what is wrong with it. A
    test holds the two paths to the same rows."""
    if type(record) is not dict:
        return None
    get = record.get
    capture_id = get("id")
    received = get("received_at")
    method = get("method")
    target = get("target")
    path = get("path")
    query = get("query")
    headers = get("headers")
    remote = get("remote")
    tls = get("tls", False)
    rejected = get("rejected")
    body_size = get("body_size")
    response = get("response")
    body_b64 = get("body_b64", "")
    if (
        type(capture_id) is not str
        or type(received) is not str
        or type(method) is not str
        or type(target) is not str
        or not target
        or type(path) is not str
        or not path
        or type(query) is not str
        or type(remote) is not str
        or type(tls) is not bool
        or (rejected is not None and type(rejected) is not str)
        or (body_size is not None and type(body_size) is not int)
        or type(response) is not dict
        or type(body_b64) is not str
        or get("forward") is not None
        or get("replays")
        or get("redacted") is not None
        or response.get("rule") is not None
        or not _pair_list(headers)
    ):
        return None
    status = response.get("status", 200)
    response_headers = response.get("headers", [])
    response_b64 = response.get("body_b64", "")
    if type(status) is not int or type(response_b64) is not str or not _pair_list(response_headers):
        return None
    try:
        body = codec.decode_b64(body_b64, "body_b64")
        response_body = codec.decode_b64(response_b64, "response body_b64")
        moment = micros(codec.parse_time(received))
    except ValueError:
        return None
    event, problems = _body_event(body)
    verdicts, signatures = _signature_columns(get("signatures"))
    content_type = ""
    for name, value in headers or ():
        if name.lower() == "content-type":
            content_type = value
            break
    fields = [path, query, capture_id]
    if event is not None:
        fields += [event.name, event.entity_ref, event.entity_id, event.entity_status, event.id]
    main = (
        capture_id,
        moment,
        method,
        target,
        path,
        query,
        remote,
        int(tls),
        status,
        rejected,
        body_size,
        body_size if body_size is not None else len(body),
        content_type,
        *_event_columns(event),
        *verdicts,
        "\x1f".join(fields).lower(),
        problems,
    )
    data = (
        json.dumps(headers),
        body,
        json.dumps(response_headers),
        response_body,
        _event_json(event),
        signatures,
    )
    return PreparedRow(capture_id, event.id if event is not None else None, main, data)


def insert_imported(conn: sqlite3.Connection, entries: Sequence[PreparedRow]) -> None:
    """:func:`insert` for an import: the same rows and attempt numbering, without building
    the stored captures nobody reads (``dataclasses.replace`` per capture is a fifth of
    what an import spends on a row)."""
    event_ids = {e.event_id for e in entries if e.event_id}
    seq, last_json = conn.execute(_BATCH_START, (json.dumps(list(event_ids)),)).fetchone()
    last: dict[str, int | None] = json.loads(last_json)
    mains: list[Any] = []
    datas: list[Any] = []
    for _, event_id, main, data in entries:
        if event_id:
            attempt = (last.get(event_id) or 0) + 1
            last[event_id] = attempt
        else:
            attempt = 1
        mains.append(seq)
        mains += main
        mains.append(attempt)
        datas.append(seq)
        datas += data
        seq += 1
    _insert_rows(conn, "captures", _CAPTURE_INSERT_COLUMNS, _CAPTURE_WIDTH, mains)
    _insert_rows(conn, "capture_data", _DATA_INSERT_COLUMNS, _DATA_WIDTH, datas)


def _insert_rows(
    conn: sqlite3.Connection, table: str, columns: str, width: int, values: list[Any]
) -> None:
    """Insert ``values`` (rows of ``width`` flattened) with as few statements as allowed."""
    # SQLite builds before 3.32 allow only 999 parameters per statement.
    most = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    per_statement = max(1, min(ROWS_PER_INSERT, most)) * width
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        conn.execute(_insert_sql(table, columns, width, len(chunk) // width), chunk)


def write_outcome(conn: sqlite3.Connection, capture: Capture) -> bool:
    """Record how a stored capture was answered (response, rule, forward target's answer)
    in the current transaction; False when it is no longer stored."""
    forward = capture.forward
    response = capture.response
    found = conn.execute(
        "UPDATE captures SET response_status = ?, rule = ?, forward_error = ? WHERE id = ? "
        "RETURNING seq",
        (
            response.status,
            capture.rule,
            forward.error if forward is not None else None,
            capture.id,
        ),
    ).fetchone()
    if found is None:
        return False
    conn.execute(
        "UPDATE capture_data SET response_headers = ?, response_body = ?, forward_json = ? "
        "WHERE seq = ?",
        (
            _headers_json(response.headers),
            bytes(response.body),
            None if forward is None else json.dumps(codec.encode_forward(forward)),
            found[0],
        ),
    )
    return True


def insert_replays(
    conn: sqlite3.Connection, capture_id: str, replays: Sequence[ReplayRecord]
) -> None:
    conn.executemany(
        "INSERT INTO replays (capture_id, record) VALUES (?, ?)",
        [(capture_id, json.dumps(codec.encode_replay(replay))) for replay in replays],
    )


def write_redaction(conn: sqlite3.Connection, capture: Capture) -> None:
    """Keep the redaction mark of a stored (imported) capture, in the current transaction."""
    conn.execute(
        "UPDATE captures SET redacted = ? WHERE id = ?",
        (json.dumps(codec.encode_redaction(capture.redacted)), capture.id),
    )
