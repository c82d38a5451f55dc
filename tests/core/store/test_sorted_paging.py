"""Sorting in the store (issue 9, item 4): ORDER BY + keyset paging, at 100,000 rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core.capture import Verdict
from inspector.core.store import SORT_KEYS, CaptureQuery, SortOrder, Store
from inspector.core.store.query import sort_value
from tests.support.captures import make_capture

ROWS = 100_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A real SQLite file with 100,000 captures: two stored normally, the rest copied from
    them in SQL with varied sizes, paths, statuses and verdicts (seconds, not minutes)."""
    path = Path(tmp_path_factory.mktemp("big")) / "captures.sqlite3"
    with Store(path) as store:
        store.add(make_capture(entity_type="ORDER"))
        store.add(make_capture(entity_type="FULFILMENT", fluent=Verdict.INVALID))
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(captures)") if r[1] != "seq"]
    varied = {
        "id": "printf('cap-%06d', n)",
        "event_id": "printf('ev-%06d', n)",
        "size": "(n * 7919) % 5000",
        "path": "printf('/hooks/%03d', n % 997)",
        "response_status": "CASE WHEN n % 50 = 0 THEN 503 ELSE 200 END",
        "fluent_verdict": "CASE WHEN n % 9 = 0 THEN 'invalid' ELSE 'valid' END",
        "entity_type": "CASE WHEN n % 3 = 0 THEN 'FULFILMENT' ELSE 'ORDER' END",
    }
    chosen = ", ".join(varied.get(c, c) for c in columns)
    with conn:
        conn.execute(
            f"WITH RECURSIVE nums(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM nums "
            f"WHERE n < {ROWS - 2}) "
            f"INSERT INTO captures ({', '.join(columns)}) "
            f"SELECT {chosen} FROM nums, (SELECT * FROM captures WHERE seq = 1)"
        )
    conn.close()
    with Store(path) as store:
        assert store.count() == ROWS
        yield store


def _walk(store: Store, order: SortOrder, query: CaptureQuery, pages: int) -> None:
    rows = store.page(query, order=order, limit=200)
    seen = list(rows)
    for _ in range(pages):
        rows = store.page(query, order=order, after=rows[-1], limit=200)
        if not rows:
            break
        seen.extend(rows)
    keys = [(sort_value(r, order), r.seq) for r in seen]
    assert keys == sorted(keys, reverse=order.descending), f"{order} pages out of order"
    assert len({r.seq for r in seen}) == len(seen), "a row came twice"


@pytest.mark.parametrize("key", ["size", "path", "response_status", "fluent_verdict", "seq"])
@pytest.mark.parametrize("descending", [True, False])
def test_sorted_keyset_pages_are_ordered(big: Store, key: str, descending: bool) -> None:
    # How fast a page is, is bench/gui.py's business; that it walks an index (no sort of the
    # whole store per page) is held by the query-plan test below.
    _walk(big, SortOrder(key, descending), CaptureQuery(), pages=30)


def test_sorting_follows_the_filter(big: Store) -> None:
    query = CaptureQuery(entity_types=frozenset({"FULFILMENT"}))
    _walk(big, SortOrder("size", True), query, pages=5)
    rows = big.page(query, order=SortOrder("size", True), limit=50)
    assert all(r.entity_type == "FULFILMENT" for r in rows)


def test_walking_a_whole_sorted_order_sees_every_row_once(big: Store) -> None:
    order = SortOrder("size", False)
    rows = big.page(order=order, limit=5000)
    seen = {r.seq for r in rows}
    while rows:
        rows = big.page(order=order, after=rows[-1], limit=5000)
        seen.update(r.seq for r in rows)
    assert len(seen) == ROWS


def test_every_table_sort_key_is_indexed(big: Store) -> None:
    conn = sqlite3.connect(big.path)
    for key, column in SORT_KEYS.items():
        if key == "seq":
            continue
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM captures AS c ORDER BY {column} DESC, "
                f"c.seq DESC LIMIT 200"
            )
        )
        assert "USE TEMP B-TREE" not in plan, f"{key}: {plan}"
    conn.close()


def test_facet_counts_follow_the_query(big: Store) -> None:
    within = CaptureQuery(fluent=frozenset({Verdict.INVALID}))
    counted = dict(big.distinct("entity_type", within))
    for value, n in counted.items():
        assert n == big.count(CaptureQuery(fluent=within.fluent, entity_types=frozenset({value})))
    pairs = big.verdict_counts(CaptureQuery(entity_types=frozenset({"ORDER"})))
    assert sum(pairs.values()) == big.count(CaptureQuery(entity_types=frozenset({"ORDER"})))
