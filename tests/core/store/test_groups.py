"""store/groups.py: retries folded by event id, paged in SQL - against real SQLite files,
and at 100,000 rows that a page reads a bounded amount whatever the store's size."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from inspector.core.capture import Capture, ForwardRecord, ResponseRecord, Verdict
from inspector.core.store import CaptureQuery, RetryGroup, Store
from inspector.core.store.groups import page_sql
from inspector.core.store.query import ANY
from tests.support.captures import BASE_TIME, make_capture


def _delivery(event_id: str | None, seconds: float, status: int = 200, **more: object) -> Capture:
    fields: dict[str, object] = {
        "received_at": BASE_TIME + timedelta(seconds=seconds),
        "response": ResponseRecord(status),
        **more,
    }
    if event_id is None:
        return make_capture(body=b"<html>not an event</html>", **fields)
    return make_capture(event_id=event_id, **fields)


def _all_groups(store: Store, query: CaptureQuery = ANY, limit: int = 3) -> list[RetryGroup]:
    found: list[RetryGroup] = []
    before: int | None = None
    while page := store.group_page(query, before_seq=before, limit=limit):
        found.extend(page)
        before = page[-1].seq
    return found


def test_a_retry_storm_is_one_group_with_its_gaps_answers_and_verdicts(data_dir: Path) -> None:
    # Fluent's default schedule: at once, then after 2 s, 4 s and 8 s.
    storm = [
        _delivery("E1", 0, 504, rule="fail first"),
        _delivery(
            "E1",
            2,
            504,
            fluent=Verdict.INVALID,
            forward=ForwardRecord("http://127.0.0.1:9/hooks", error="connection refused"),
        ),
        _delivery("E1", 6, 504),
        _delivery("E1", 14, 200),
    ]
    with Store.open(data_dir) as store:
        store.add_many([_delivery("E0", -5), *storm, _delivery(None, 20)])
        page = store.group_page()
        assert [g.count for g in page] == [1, 4, 1]
        alone, retried, first = page
        assert alone.event_id == "" and alone.key == alone.head.id
        assert first.key == "E0"
        assert retried.key == "E1"
        assert [a.row.attempt for a in retried.attempts] == [1, 2, 3, 4]
        assert retried.gaps == (timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8))
        assert retried.span == timedelta(seconds=14)
        assert retried.first_at == BASE_TIME and retried.head.attempts == 4
        assert [a.answer.status for a in retried.attempts] == [504, 504, 504, 200]
        assert [a.answer.ok for a in retried.attempts] == [False, False, False, True]
        assert retried.succeeded and not retried.all_verified
        assert [a.fluent for a in retried.attempts][1] is Verdict.INVALID
        # Each answer names the rule that gave it and a failed forward (schema 4's columns).
        assert [a.answer.rule for a in retried.attempts] == ["fail first", None, None, None]
        assert retried.attempts[0].answer.forward_error is None
        assert retried.attempts[1].answer.forward_error == "connection refused"
        assert store.group_count() == 3
        group = store.group("E1")
        assert group is not None and group.count == 4
        assert store.group(alone.key) is not None
        assert store.group("nope") is None


def test_pages_list_every_group_once_and_filters_fold_what_matches(data_dir: Path) -> None:
    captures = []
    for n in range(10):
        for attempt in range(n % 3 + 1):
            invalid = attempt == 0 and n % 2 == 0
            captures.append(
                _delivery(
                    f"E{n}", n * 100 + attempt, flex=Verdict.INVALID if invalid else Verdict.VALID
                )
            )
    captures += [_delivery(None, 2000 + n) for n in range(4)]
    with Store.open(data_dir) as store:
        store.add_many(captures)
        groups = _all_groups(store)
        assert len(groups) == store.group_count() == 14
        assert len({g.key for g in groups}) == 14
        assert [g.seq for g in groups] == sorted((g.seq for g in groups), reverse=True)
        assert sum(g.count for g in groups) == store.count()
        # A filter selects captures, then folds them: E0, E2... keep only their first delivery.
        invalid = CaptureQuery(flex=frozenset({Verdict.INVALID}))
        folded = _all_groups(store, invalid)
        assert sorted(g.key for g in folded) == ["E0", "E2", "E4", "E6", "E8"]
        assert all(g.count == 1 and g.head.attempt == 1 for g in folded)
        assert store.group_count(invalid) == 5


# --------------------------------------------------------------------------- 100,000 rows

ROWS = 100_000


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """100,000 captures: mostly single deliveries, every 10th event retried up to 3 times,
    every 50th capture without an event id. Seeded with add_many, as bench/gui.py does."""
    directory = tmp_path_factory.mktemp("groups-100k")
    with Store.open(directory) as store:
        batch: list[Capture] = []
        n = event = 0
        while n < ROWS:
            if n % 50 == 49:
                batch.append(_delivery(None, n))
                n += 1
            else:
                deliveries = 1 + (event % 3 + 1 if event % 10 == 0 else 0)
                for k in range(min(deliveries, ROWS - n)):
                    batch.append(
                        _delivery(f"ev-{event}", n + k, 504 if k + 1 < deliveries else 200)
                    )
                n += deliveries
                event += 1
            if len(batch) >= 5000:
                store.add_many(batch)
                batch = []
        store.add_many(batch)
        assert store.count() >= ROWS
        yield store


def _steps(conn: sqlite3.Connection, sql: str, params: list[object]) -> int:
    """SQLite VM instructions a statement runs, in thousands (a work count, not a time)."""
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    conn.set_progress_handler(tick, 1000)
    try:
        conn.execute(sql, params).fetchall()
    finally:
        conn.set_progress_handler(None, 0)
    return counted[0]


# Seeding 100,000 captures into both search indexes takes minutes on a busy machine.
@pytest.mark.timeout(600)
def test_the_grouped_page_stays_paged_at_100000_rows(big_store: Store) -> None:
    conn = sqlite3.connect(f"file:{big_store.path}?mode=ro", uri=True)
    try:
        top = big_store.max_seq()
        for query in (CaptureQuery(), CaptureQuery(flex=frozenset({Verdict.VALID}))):
            sql, params = page_sql(query, before_seq=top // 2, limit=200)
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            # Walked in seq order (no sort of the whole result) and "is a later delivery
            # there?" answered by the (event_id, attempt) index, not a scan.
            assert "TEMP B-TREE" not in plan, plan
            assert "(event_id=? AND attempt>?)" in plan, plan
            assert "rowid<?" in plan, plan

        whole = _steps(conn, "SELECT count(*), sum(length(c.search)) FROM captures AS c", [])
        pages = [
            _steps(conn, *page_sql(before_seq=before, limit=200))
            for before in (None, top // 2, top // 10)
        ]
    finally:
        conn.close()
    # A page is a small, constant amount of work wherever it starts: far below one pass
    # over the table, and the same near the top as deep down.
    assert max(pages) * 20 < whole, (pages, whole)
    assert max(pages) <= 3 * max(1, min(pages)), pages


# Seeding 100,000 captures into both search indexes takes minutes on a busy machine.
@pytest.mark.timeout(600)
def test_walking_grouped_pages_at_100000_rows_meets_every_group_once(big_store: Store) -> None:
    first = big_store.group_page(limit=200)
    assert len(first) == 200
    assert first[0].seq == big_store.max_seq()
    second = big_store.group_page(before_seq=first[-1].seq, limit=200)
    assert not {g.key for g in first} & {g.key for g in second}
    assert all(g.seq < first[-1].seq for g in second)
    retried = [g for g in first + second if g.count > 1]
    assert retried and all(g.succeeded and len(g.gaps) == g.count - 1 for g in retried)
    total = big_store.group_count()
    assert total < big_store.count()
    deep = big_store.group_page(before_seq=big_store.max_seq() // 2, limit=50)
    assert len(deep) == 50 and len({g.key for g in deep}) == 50
