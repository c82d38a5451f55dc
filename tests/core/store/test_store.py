"""The capture store against real SQLite files in tmp_path."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from inspector.core import paths, store
from inspector.core.capture import (
    Capture,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
    new_capture_id,
)
from inspector.core.errors import StoreError
from inspector.core.events import EventSummary
from inspector.core.store import SCHEMA_VERSION, CaptureQuery, CaptureRow, Store
from inspector.core.store import errors as store_errors
from inspector.core.store import insert as store_insert
from inspector.core.store import schema as store_schema
from inspector.core.store import store as store_facade
from tests.support.captures import event_body, make_capture
from tests.support.fs import read_only
from tests.support.store_files import insert_before_v5

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def db(data_dir: Path) -> Iterator[Store]:
    with Store.open(data_dir) as opened:
        yield opened


def stored(s: Store, capture: Capture) -> Capture:
    result = s.add(capture)
    assert result.seq > 0
    return result


# --------------------------------------------------------------------------- round trip


def test_open_creates_the_file_in_the_data_dir(data_dir: Path) -> None:
    with Store.open(data_dir / "nested") as s:
        assert s.path == data_dir / "nested" / paths.STORE_FILENAME
        assert s.path.is_file()
        assert s.count() == 0
        assert s.max_seq() == 0
        assert s.page() == []


def test_every_field_round_trips_exactly(db: Store) -> None:
    body = b"\xff\xfe\x00{not utf-8 \x80\x81}\r\n\x00"
    capture = make_capture(
        body=body,
        event=EventSummary(
            id="evt-1",
            name="ORDER_CREATED",
            entity_type="ORDER",
            entity_ref="HD_1",
            attributes=[{"name": "a", "type": "STRING", "value": "ü"}],
            missing=("accountId", "retailerId"),
        ),
        headers=(
            ("Host", "x.example"),
            ("X-Dup", "one"),
            ("x-dup", "Two"),
            ("X-DUP", ""),
            ("flex_signature", "abc+/="),
            ("X-Raw", "caf\udce9 bytes"),
        ),
        received_at=datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=10))),
        tls=True,
        target="/a%20b/c?x=1&x=2&y=%ff",
        path="/a%20b/c",
        query="x=1&x=2&y=%ff",
        remote="[::1]:51234",
        response=ResponseRecord(418, (("X-A", "1"), ("x-a", "2")), b"\x00\xff teapot"),
        signatures=(
            SignatureCheck(
                SignatureHeader.FLEX,
                Verdict.MISSING,
                received_name=None,
                detail="flex.signature did not arrive",
                hint="flex_signature arrived instead: a proxy rewrote the name",
            ),
            SignatureCheck(
                SignatureHeader.FLUENT,
                Verdict.VALID,
                key_name="prod-dublin",
                received_name="Fluent-Signature",
                detail="valid",
            ),
        ),
        rejected=None,
        body_size=None,
    )
    result = db.add(capture)
    assert result == capture.with_(seq=result.seq, attempt=1)
    got = db.get(capture.id)
    assert got == result
    assert got is not None
    assert got.body == body
    assert got.received_at == capture.received_at
    assert got.received_at.tzinfo == UTC
    assert got.received_at.utcoffset() == timedelta(0)

    row = db.row(capture.id)
    assert row == CaptureRow(
        seq=result.seq,
        id=capture.id,
        received_at=capture.received_at.astimezone(UTC),
        method="POST",
        path="/a%20b/c",
        query="x=1&x=2&y=%ff",
        event_id="evt-1",
        event_name="ORDER_CREATED",
        entity_type="ORDER",
        entity_id="",
        entity_ref="HD_1",
        entity_status="",
        root_entity_type="",
        root_entity_ref="",
        response_status=418,
        size=len(body),
        content_type="",
        flex=Verdict.MISSING,
        flex_key=None,
        fluent=Verdict.VALID,
        fluent_key="prod-dublin",
        attempt=1,
        attempts=1,
        rejected=None,
        remote="[::1]:51234",
    )


def test_rejected_capture_without_body_and_without_event(db: Store) -> None:
    capture = make_capture(
        body=b"",
        event=None,
        signatures=(),
        rejected="body larger than 10 MB",
        body_size=50_000_000,
        response=ResponseRecord(413),
    )
    result = db.add(capture)
    assert db.get(capture.id) == result
    row = db.row(capture.id)
    assert row is not None
    assert (row.size, row.rejected, row.event_id, row.attempt, row.attempts) == (
        50_000_000,
        "body larger than 10 MB",
        "",
        1,
        1,
    )
    # No checks recorded reads the same as Capture.signature(): missing.
    assert (row.flex, row.fluent) == (Verdict.MISSING, Verdict.MISSING)


def test_parsed_event_summary_round_trips(db: Store) -> None:
    capture = make_capture(entity_type="FULFILMENT", entity_status="AWAITING_WAVE")
    assert capture.event is not None and capture.event.attributes
    db.add(capture)
    got = db.get(capture.id)
    assert got is not None and got.event == capture.event
    assert db.get("no-such-id") is None
    assert db.row("no-such-id") is None


# --------------------------------------------------------------------------- paging and filters


def test_page_is_newest_first_and_keyset_continues(db: Store) -> None:
    seqs = [db.add(make_capture()).seq for _ in range(25)]
    first = db.page(limit=10)
    assert [r.seq for r in first] == seqs[::-1][:10]
    second = db.page(before_seq=first[-1].seq, limit=10)
    third = db.page(before_seq=second[-1].seq, limit=10)
    assert [r.seq for r in first + second + third] == seqs[::-1]
    assert len(third) == 5
    assert db.page(before_seq=third[-1].seq, limit=10) == []
    # A capture stored between pages does not shift the pages after it.
    db.add(make_capture())
    assert db.page(before_seq=first[-1].seq, limit=10) == second


def test_since_returns_newer_rows_oldest_first(db: Store) -> None:
    seqs = [db.add(make_capture(method="PUT" if i % 2 else "POST")).seq for i in range(10)]
    assert [r.seq for r in db.since(seqs[3])] == seqs[4:]
    assert [r.seq for r in db.since(seqs[3], limit=2)] == seqs[4:6]
    assert [r.seq for r in db.since(0, CaptureQuery(methods=frozenset({"PUT"})))] == seqs[1::2]
    assert db.since(db.max_seq()) == []
    assert db.max_seq() == seqs[-1]


@pytest.fixture
def mixed(db: Store) -> list[Capture]:
    specs = [
        ("ORDER", "CREATE", "POST", Verdict.VALID, Verdict.VALID),
        ("ORDER", "CREATE", "POST", Verdict.INVALID, Verdict.INVALID),
        ("ORDER", "ORDER_CANCEL", "POST", Verdict.VALID, Verdict.NO_KEY),
        ("FULFILMENT", "CREATE", "POST", Verdict.MISSING, Verdict.VALID),
        ("FULFILMENT", "FULFILMENT_PICKED", "PUT", Verdict.VALID, Verdict.INVALID),
        ("ARTICLE", "CREATE", "POST", Verdict.MALFORMED, Verdict.MALFORMED),
        ("INVENTORY_POSITION", "UPSERT", "PUT", Verdict.VALID, Verdict.VALID),
    ]
    captures = []
    for repeat in range(3):
        for entity, name, method, flex, fluent in specs:
            captures.append(
                db.add(
                    make_capture(
                        entity_type=entity,
                        event_name=name,
                        method=method,
                        flex=flex,
                        fluent=fluent,
                        entity_status=f"STATUS_{repeat}",
                    )
                )
            )
    captures.append(db.add(make_capture(body=b"plain text", method="GET")))
    return captures


def _matches(c: Capture, q: CaptureQuery) -> bool:
    e = c.event
    if q.flex and c.signature(SignatureHeader.FLEX).verdict not in q.flex:
        return False
    if q.fluent and c.signature(SignatureHeader.FLUENT).verdict not in q.fluent:
        return False
    if q.entity_types and (e.entity_type if e else "") not in q.entity_types:
        return False
    if q.event_names and (e.name if e else "") not in q.event_names:
        return False
    if q.methods and c.method not in q.methods:
        return False
    return not (q.ids and c.id not in q.ids)


@pytest.mark.parametrize(
    "query",
    [
        CaptureQuery(),
        CaptureQuery(flex=frozenset({Verdict.INVALID})),
        CaptureQuery(fluent=frozenset({Verdict.INVALID, Verdict.NO_KEY, Verdict.MALFORMED})),
        CaptureQuery(flex=frozenset({Verdict.MISSING})),
        CaptureQuery(entity_types=frozenset({"ORDER"})),
        CaptureQuery(entity_types=frozenset({"FULFILMENT", "ARTICLE"})),
        CaptureQuery(event_names=frozenset({"CREATE"})),
        CaptureQuery(methods=frozenset({"PUT"})),
        CaptureQuery(methods=frozenset({"GET", "PUT"})),
        CaptureQuery(
            entity_types=frozenset({"ORDER", "FULFILMENT"}),
            event_names=frozenset({"CREATE"}),
            fluent=frozenset({Verdict.VALID}),
        ),
        CaptureQuery(methods=frozenset({"POST"}), flex=frozenset({Verdict.VALID})),
        CaptureQuery(entity_types=frozenset({"NOPE"})),
    ],
)
def test_filters_and_combinations(db: Store, mixed: list[Capture], query: CaptureQuery) -> None:
    expected = [c.seq for c in reversed(mixed) if _matches(c, query)]
    assert [r.seq for r in db.page(query, limit=1000)] == expected
    assert db.count(query) == len(expected)
    # Paging through a filtered result in small pages gives the same rows.
    paged: list[int] = []
    before: int | None = None
    while True:
        rows = db.page(query, before_seq=before, limit=4)
        if not rows:
            break
        paged += [r.seq for r in rows]
        before = rows[-1].seq
    assert paged == expected


def test_ids_filter_restricts_to_the_selection(db: Store, mixed: list[Capture]) -> None:
    chosen = frozenset(c.id for c in mixed[::5])
    assert {r.id for r in db.page(CaptureQuery(ids=chosen))} == chosen
    assert db.count(CaptureQuery(ids=chosen)) == len(chosen)
    one = frozenset({mixed[0].id})
    assert [r.id for r in db.page(CaptureQuery(ids=one))] == [mixed[0].id]
    assert [c.id for c in db.iter_captures(CaptureQuery(ids=chosen))] == [
        c.id for c in mixed if c.id in chosen
    ]
    # Thousands of ids are one parameter, not thousands.
    many = chosen | frozenset(f"x{i}" for i in range(40_000))
    assert db.count(CaptureQuery(ids=many)) == len(chosen)


def test_text_search_is_case_insensitive_over_the_listed_fields(db: Store) -> None:
    a = db.add(
        make_capture(
            target="/Hooks/Orders?Tenant=ACME",
            event_name="ORDER_Shipped",
            entity_ref="HD_ÄRGER_77",
            entity_id="998877",
            entity_status="Awaiting_Wave",
            event_id="Evt-ABC-123",
        )
    )
    b = db.add(make_capture(target="/other", body=b"ORDER_SHIPPED in the body only", event=None))

    def found(text: str) -> set[str]:
        return {r.id for r in db.page(CaptureQuery(text=text))}

    assert found("hooks/orders") == {a.id}  # path
    assert found("tenant=acme") == {a.id}  # query
    assert found("order_shipped") == {a.id}  # event name (bodies are not searched)
    assert found("hd_ärger") == {a.id}  # entity ref, non-ASCII case folding
    assert found("9988") == {a.id}  # entity id
    assert found("AWAITING") == {a.id}  # entity status
    assert found("evt-abc") == {a.id}  # event id
    # Ids start with their millisecond (UUIDv7), so a and b may share a prefix.
    assert found(b.id[-12:].upper()) == {b.id}  # capture id
    # LIKE wildcards are literal characters here.
    assert found("%") == set()
    assert found("_") == {a.id}
    assert db.count(CaptureQuery(text="HOOKS", methods=frozenset({"POST"}))) == 1
    assert db.count(CaptureQuery(text="nothing like this")) == 0


def test_iter_captures_streams_oldest_first_across_batches(db: Store) -> None:
    added = [db.add(make_capture(method="PATCH" if i % 3 == 0 else "POST")) for i in range(23)]
    assert list(db.iter_captures(batch=5)) == added
    patch = [c for c in added if c.method == "PATCH"]
    assert list(db.iter_captures(CaptureQuery(methods=frozenset({"PATCH"})), batch=2)) == patch


def test_distinct_counts_values(db: Store, mixed: list[Capture]) -> None:
    assert db.distinct("entity_type") == [
        ("ARTICLE", 3),
        ("FULFILMENT", 6),
        ("INVENTORY_POSITION", 3),
        ("ORDER", 9),
    ]
    assert db.distinct("method") == [("GET", 1), ("POST", 15), ("PUT", 6)]
    assert ("CREATE", 12) in db.distinct("event_name")
    with pytest.raises(ValueError):
        db.distinct("body")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- attempts


def test_attempts_number_deliveries_of_the_same_event(db: Store) -> None:
    first = [db.add(make_capture(event_id="E-1")) for _ in range(3)]
    other = db.add(make_capture(event_id="E-2"))
    plain = [db.add(make_capture(body=b"{}", event=None)) for _ in range(2)]
    assert [c.attempt for c in first] == [1, 2, 3]
    assert other.attempt == 1
    rows = {r.id: r for r in db.page()}
    assert [(rows[c.id].attempt, rows[c.id].attempts) for c in first] == [(1, 3), (2, 3), (3, 3)]
    assert (rows[other.id].attempt, rows[other.id].attempts) == (1, 1)
    assert all((rows[c.id].attempt, rows[c.id].attempts) == (1, 1) for c in plain)
    stored_again = db.get(first[2].id)
    assert stored_again is not None and stored_again.attempt == 3


def test_concurrent_submits_from_many_threads_number_attempts_without_gaps(db: Store) -> None:
    threads, per_thread, events = 8, 250, 37
    results: list[Capture] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def deliver(t: int) -> None:
        start.wait()
        futures = [
            db.submit(make_capture(event_id=f"EVT-{(t * per_thread + i) % events}"))
            for i in range(per_thread)
        ]
        done = [f.result(timeout=60) for f in futures]
        with lock:
            results.extend(done)

    workers = [threading.Thread(target=deliver, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert len(results) == threads * per_thread
    assert db.count() == threads * per_thread
    assert len({c.seq for c in results}) == len(results)
    by_event: dict[str, list[Capture]] = defaultdict(list)
    for c in results:
        assert c.event_id is not None
        by_event[c.event_id].append(c)
    assert len(by_event) == events
    rows = {r.id: r for r in db.page(limit=10_000)}
    for group in by_event.values():
        group.sort(key=lambda c: c.seq)
        # Attempt order follows commit order, with no gaps or repeats.
        assert [c.attempt for c in group] == list(range(1, len(group) + 1))
        assert {rows[c.id].attempts for c in group} == {len(group)}


def test_attempts_continue_after_deletions_without_repeating(db: Store) -> None:
    added = [db.add(make_capture(event_id="AGAIN")) for _ in range(3)]
    db.delete([added[0].id, added[2].id])
    # Numbered after the highest stored attempt, so no two stored deliveries share one.
    assert db.add(make_capture(event_id="AGAIN")).attempt == 3


def test_a_version_4_file_gets_payload_problems_and_the_timeline_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v4.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    for step in store.MIGRATIONS[:4]:
        step(conn)
    conn.execute("PRAGMA user_version = 4")
    good = json.loads(event_body())
    no_name = {k: v for k, v in good.items() if k != "name"}
    numeric = {**good, "entityId": 42}
    old = [
        make_capture(body=json.dumps(good).encode()),
        make_capture(body=json.dumps(no_name).encode()),
        make_capture(body=b"<html>not an event</html>"),
        *(make_capture(body=json.dumps(numeric).encode()) for _ in range(5)),
    ]
    insert_before_v5(conn, old)
    conn.execute("COMMIT")
    conn.close()
    # Several batches, so the batch boundary is exercised.
    monkeypatch.setattr(store_schema, "PAYLOAD_BATCH", 2)
    with Store(path) as s:
        rows = {r.id: r for r in s.page(limit=100)}
        assert [rows[c.id].payload_problems for c in old] == [
            "",
            "name",
            "",
            *(["entityId"] * 5),
        ]
        flagged = s.page(CaptureQuery(payload_problems=True), limit=100)
        assert {r.id for r in flagged} == {c.id for c in old[1:2] + old[3:]}
        assert s.count(CaptureQuery(payload_problems=True)) == 6
        # New captures get the column at insert.
        added = s.add(make_capture(body=json.dumps(no_name).encode()))
        assert s.row(added.id).payload_problems == "name"  # type: ignore[union-attr]
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 6
        indexes = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        timeline_plan = " ".join(
            str(r[-1])
            for r in check.execute(
                "EXPLAIN QUERY PLAN SELECT seq FROM captures AS c "
                "WHERE c.root_entity_ref = ? OR c.entity_ref = ?",
                ("R", "R"),
            )
        )
    finally:
        check.close()
    assert {
        "captures_payload_problems",
        "captures_root_entity_ref",
        "captures_entity_ref",
    } <= indexes
    assert "captures_root_entity_ref" in timeline_plan and "captures_entity_ref" in timeline_plan


def test_a_version_1_file_is_migrated_and_keeps_numbering(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    store.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    old = [make_capture(event_id="OLD") for _ in range(2)]
    insert_before_v5(conn, old)
    conn.execute("COMMIT")
    conn.close()
    with Store(path) as s:
        newer = s.add(make_capture(event_id="OLD"))
        assert newer.attempt == 3
        assert [r.attempts for r in s.page()] == [3, 3, 3]
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        check.close()
    assert "captures_event_attempt" in indexes
    assert "captures_event_id" not in indexes


# --------------------------------------------------------------------------- group commit


def test_group_commit_batches_queued_captures_into_one_transaction(
    db: Store, data_dir: Path
) -> None:
    db.add(make_capture())
    before = db.commit_count
    # Another connection (as another process would) holds the write lock, so everything
    # submitted meanwhile is queued behind the writer's first transaction.
    blocker = sqlite3.connect(db.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        futures = [db.submit(make_capture()) for _ in range(500)]
        assert not any(f.done() for f in futures)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    done = [f.result(timeout=30) for f in futures]
    assert [c.seq for c in done] == sorted(c.seq for c in done)
    assert db.count() == 501
    assert db.commit_count - before <= 2


@pytest.mark.parametrize("variable_limit", [None, 100])
def test_large_groups_are_split_into_statements_within_sqlites_limits(
    db: Store, variable_limit: int | None
) -> None:
    if variable_limit is not None:
        # As on an old SQLite build that allows few parameters per statement.
        assert db._writer is not None
        db._writer.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variable_limit)
    captures = [
        make_capture(event_id=f"BIG-{i % 3}") for i in range(store_insert.ROWS_PER_INSERT * 3 + 5)
    ]
    blocker = sqlite3.connect(db.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        futures = [db.submit(c) for c in captures]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    done = [f.result(timeout=30) for f in futures]
    assert [c.seq for c in done] == list(range(done[0].seq, done[0].seq + len(done)))
    for original, result in zip(captures, done, strict=True):
        assert db.get(original.id) == result
    by_event: dict[str, list[int]] = defaultdict(list)
    for c in done:
        assert c.event_id is not None
        by_event[c.event_id].append(c.attempt)
    assert all(a == list(range(1, len(a) + 1)) for a in by_event.values())


def test_submit_async_resolves_after_commit_and_wakes_the_loop_per_group(db: Store) -> None:
    wakeups: list[int] = []

    async def deliver() -> list[Capture]:
        loop = asyncio.get_running_loop()
        real = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kw: Any) -> asyncio.Handle:
            wakeups.append(1)
            return real(callback, *args, **kw)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        # Submitted in one turn of the loop: one hand-over, one group, one wake-up.
        futures = [db.submit_async(make_capture(event_id="ASYNC")) for _ in range(50)]
        return list(await asyncio.gather(*futures))

    before = db.commit_count
    done = asyncio.run(deliver())
    assert [c.attempt for c in done] == list(range(1, 51))
    assert db.commit_count - before == 1
    assert len(wakeups) == 1
    other = sqlite3.connect(db.path)
    try:
        count = other.execute("SELECT count(*) FROM captures").fetchone()[0]
    finally:
        other.close()
    assert count == 50
    assert db.get(done[0].id) == done[0]


def test_submit_async_survives_a_cancelled_waiter_and_reports_failures(db: Store) -> None:
    original = db.add(make_capture())

    async def deliver() -> tuple[Capture, BaseException | None]:
        gone = db.submit_async(make_capture())
        gone.cancel()  # the client went away; the capture is stored anyway
        duplicate = db.submit_async(make_capture(id=original.id))
        kept = db.submit_async(make_capture())
        error: BaseException | None = None
        try:
            await duplicate
        except StoreError as exc:
            error = exc
        return await kept, error

    kept, error = asyncio.run(deliver())
    assert kept.seq > original.seq
    assert isinstance(error, StoreError) and "already stored" in str(error)
    assert db.count() == 3


def test_submit_async_on_a_closed_or_read_only_store_fails_the_future(data_dir: Path) -> None:
    Store.open(data_dir).close()

    async def attempt(s: Store) -> BaseException | None:
        try:
            await s.submit_async(make_capture())
        except StoreError as exc:
            return exc
        return None

    closed = Store.open(data_dir)
    closed.close()
    assert "closed" in str(asyncio.run(attempt(closed)))
    with Store(data_dir / paths.STORE_FILENAME, readonly=True) as ro:
        assert "read-only" in str(asyncio.run(attempt(ro)))


def test_capture_ids_sort_by_creation_time(db: Store) -> None:
    # UUIDv7: the id index grows at its right edge (one page per group commit, not one
    # random page per capture).
    first = db.add(make_capture(id=new_capture_id()))
    time.sleep(0.002)
    second = db.add(make_capture(id=new_capture_id()))
    assert first.id < second.id
    assert uuid.UUID(first.id).version == 7


def test_future_resolves_only_after_commit_visible_to_another_connection(db: Store) -> None:
    capture = db.submit(make_capture()).result(timeout=30)
    other = sqlite3.connect(db.path)
    try:
        seqs = [r[0] for r in other.execute("SELECT seq FROM captures WHERE id = ?", (capture.id,))]
    finally:
        other.close()
    assert seqs == [capture.seq]


def test_writer_survives_a_failed_capture(db: Store) -> None:
    original = db.add(make_capture())
    blocker = sqlite3.connect(db.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        # Queued together: one duplicate id must fail alone, not its batch-mates.
        good1 = db.submit(make_capture())
        duplicate = db.submit(make_capture(id=original.id))
        good2 = db.submit(make_capture())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with pytest.raises(StoreError, match="already stored"):
        duplicate.result(timeout=30)
    assert good1.result(timeout=30).seq > 0
    assert good2.result(timeout=30).seq > 0
    assert db.add(make_capture()).seq > 0
    assert db.count() == 4


def test_lock_held_by_another_program_maps_to_store_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_errors, "BUSY_TIMEOUT_S", 0.2)
    with Store.open(data_dir) as s:
        blocker = sqlite3.connect(s.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="write lock") as info:
                s.add(make_capture())
            assert str(s.path) in str(info.value)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert s.add(make_capture()).seq > 0


def test_disk_full_error_message(tmp_path: Path) -> None:
    # A real SQLITE_FULL: cap the file at its current size, then grow it.
    path = tmp_path / "full.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (b BLOB)")
    conn.commit()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.Error) as info:
        conn.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    conn.close()
    mapped = store_errors.map_error(info.value, path, "store")
    assert str(mapped) == (
        f"The disk holding {path} is full: free some space, or use --data-dir to pick "
        f"another place. The webhook was not stored."
    )
    assert isinstance(mapped.__cause__, sqlite3.Error)


# --------------------------------------------------------------------------- changes


def test_update_signatures_rewrites_verdicts_and_all_check_fields(db: Store) -> None:
    a = db.add(make_capture(flex=Verdict.NO_KEY, fluent=Verdict.NO_KEY))
    b = db.add(make_capture(flex=Verdict.NO_KEY, fluent=Verdict.NO_KEY))
    checks = (
        SignatureCheck(SignatureHeader.FLEX, Verdict.VALID, "new-key", "flex.signature", "ok"),
        SignatureCheck(
            SignatureHeader.FLUENT, Verdict.INVALID, None, "fluent-signature", "bad", "hint"
        ),
    )
    changed = db.update_signatures([(a.id, checks), ("no-such-id", checks)])
    assert changed == 1
    got = db.get(a.id)
    assert got is not None and got.signatures == checks
    row = db.row(a.id)
    assert row is not None
    assert (row.flex, row.flex_key, row.fluent, row.fluent_key) == (
        Verdict.VALID,
        "new-key",
        Verdict.INVALID,
        None,
    )
    assert db.count(CaptureQuery(flex=frozenset({Verdict.VALID}))) == 1
    untouched = db.get(b.id)
    assert untouched is not None and untouched.signatures == b.signatures
    assert db.update_signatures([]) == 0


def test_delete_and_clear(db: Store) -> None:
    added = [db.add(make_capture(event_id="SAME")) for _ in range(5)]
    assert db.delete([added[0].id, added[1].id, "no-such-id"]) == 2
    assert db.get(added[0].id) is None
    assert db.count() == 3
    rows = db.page()
    assert {r.attempts for r in rows} == {3}
    top = db.max_seq()
    assert db.clear() == 3
    assert db.count() == 0
    assert db.page() == []
    # seq is never reused, so a reader polling since(last_seq) misses nothing.
    assert db.add(make_capture()).seq > top
    assert db.delete([]) == 0


def test_add_many_keeps_ids_and_skips_present_ones(
    db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_facade, "IMPORT_CHUNK", 7)
    existing = db.add(make_capture())
    batch = [make_capture(event_id=f"IMP-{i % 4}") for i in range(30)]
    incoming = [existing, *batch[:15], batch[3], *batch[15:]]
    assert db.add_many(iter(incoming)) == 30
    assert db.count() == 31
    for c in batch:
        got = db.get(c.id)
        assert got is not None
        assert got.body == c.body and got.received_at == c.received_at
    assert db.add_many(batch) == 0
    assert db.add_many([]) == 0
    attempts = sorted(r.attempt for r in db.page(CaptureQuery(text="imp-0")))
    assert attempts == list(range(1, 9))


def test_retention_keeps_only_the_newest(data_dir: Path) -> None:
    with Store.open(data_dir, retention=10) as s:
        added = [s.add(make_capture()) for _ in range(40)]
        s.add_many([make_capture() for _ in range(5)])
        assert s.count() in (10, 11)  # trimmed back to 10 whenever it passes 10 + 1%
        newest = [r.seq for r in s.page(limit=10)]
        assert newest == sorted(newest, reverse=True)
        assert s.get(added[0].id) is None
        assert s.row(added[-1].id) is not None
    with Store.open(data_dir, retention=3) as s:
        s.add(make_capture())
        assert s.count() == 3


# --------------------------------------------------------------------------- files and processes


def test_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.write_bytes(b"")
    with Store(path) as s:
        assert s.add(make_capture()).seq == 1
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    # Reopening an up-to-date file migrates nothing and keeps the rows.
    with Store(path) as s:
        assert s.count() == 1


def test_refuses_a_newer_schema_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match=r"newer version of the inspector.*upgrade the app"):
        Store(path)
    with pytest.raises(StoreError, match="upgrade the app"):
        Store(path, readonly=True)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    finally:
        conn.close()


def test_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "captures.sqlite3"
    path.write_bytes(b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StoreError, match=r"is not an inspector database.*move it") as info:
        Store(path)
    assert str(path) in str(info.value)
    with pytest.raises(StoreError, match="is not an inspector database"):
        Store(path, readonly=True)


def test_another_programs_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another program's SQLite database"):
        Store(path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="Cannot open"):
        Store(tmp_path / "no" / "such" / "dir" / "x.sqlite3")


def test_read_only_file_gives_a_helpful_error(data_dir: Path) -> None:
    with Store.open(data_dir) as s:
        s.add(make_capture())
        path = s.path
    with read_only(path), pytest.raises(StoreError, match=r"is read-only.*--data-dir") as info:
        Store(path)
    assert str(path) in str(info.value)


def test_readonly_mode_reads_but_does_not_write(data_dir: Path) -> None:
    with Store.open(data_dir) as s:
        first = s.add(make_capture())
        path = s.path
        with Store(path, readonly=True) as ro:
            assert ro.get(first.id) == first
            assert ro.count() == 1
            with pytest.raises(StoreError, match="read-only"):
                ro.submit(make_capture()).result(timeout=10)
            with pytest.raises(StoreError, match="read-only"):
                ro.clear()
    with pytest.raises(StoreError, match="does not exist"):
        Store(data_dir / "absent.sqlite3", readonly=True)


def test_second_store_on_the_same_file_sees_and_numbers_with_the_first(data_dir: Path) -> None:
    with Store.open(data_dir) as one, Store.open(data_dir) as two:
        a = one.add(make_capture(event_id="SHARED"))
        assert two.get(a.id) == a
        assert [r.id for r in two.since(0)] == [a.id]
        b = two.add(make_capture(event_id="SHARED"))
        c = one.add(make_capture(event_id="SHARED"))
        assert (a.attempt, b.attempt, c.attempt) == (1, 2, 3)
        assert [r.seq for r in one.since(a.seq)] == [b.seq, c.seq]
        futures = [s.submit(make_capture(event_id="BOTH")) for _ in range(50) for s in (one, two)]
        attempts = sorted(f.result(timeout=30).attempt for f in futures)
        assert attempts == list(range(1, 101))
        assert one.count() == two.count() == 103


def test_reads_from_many_threads_while_writing(db: Store) -> None:
    for _ in range(50):
        db.add(make_capture())

    def read(i: int) -> int:
        rows = db.page(limit=20)
        assert db.get(rows[i % len(rows)].id) is not None
        return db.count()

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        writes = [db.submit(make_capture()) for _ in range(200)]
        counts = list(pool.map(read, range(200)))
        for f in writes:
            f.result(timeout=30)
    assert min(counts) >= 50
    assert db.count() == 250


def test_close_flushes_pending_submits_and_is_idempotent(data_dir: Path) -> None:
    s = Store.open(data_dir)
    futures = [s.submit(make_capture()) for _ in range(300)]
    s.close()
    assert all(f.done() for f in futures)
    ids = [f.result().id for f in futures]
    s.close()
    late = s.submit(make_capture())
    with pytest.raises(StoreError, match="closed"):
        late.result(timeout=1)
    with pytest.raises(StoreError, match="closed"):
        s.count()
    with Store.open(data_dir) as again:
        assert again.count() == 300
        assert {r.id for r in again.page(limit=1000)} == set(ids)


_CHILD = """
import sys
from pathlib import Path
from inspector.core.store import Store
from tests.support.captures import make_capture
store = Store.open(Path(sys.argv[1]))
while True:
    futures = [store.submit(make_capture()) for _ in range(20)]
    for f in futures:
        print(f.result().id, flush=True)
"""


def test_acknowledged_captures_survive_sigkill(data_dir: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) >= 300:
                break
    finally:
        child.kill()  # SIGKILL: no close(), no atexit, mid-transaction
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert len(acknowledged) >= 300
    with Store.open(data_dir) as s:
        present = {r.id for r in s.page(limit=100_000)}
    assert set(acknowledged) <= present


def test_close_from_a_done_callback_does_not_deadlock(data_dir: Path) -> None:
    s = Store.open(data_dir)
    first = s.submit(make_capture())
    first.add_done_callback(lambda _: s.close())
    first.result(timeout=30)
    s.close()
    with Store.open(data_dir) as again:
        assert again.count() == 1
