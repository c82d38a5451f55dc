"""The text filter through the FTS5 trigram indexes (schema 8), on real SQLite files: the
same rows as the scan it replaced, body search, cancellation, upgrade and clear."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from inspector.core.errors import QueryCancelled
from inspector.core.store import CaptureQuery, Store
from inspector.core.store.query import trigram_match
from tests.support.captures import make_capture

# Fields the text filter covers, with what users type: unicode (and case that changes length
# when lowered), LIKE wildcards, FTS5 query syntax, quotes, separators.
REFS = [
    "HD-00123",
    "hd-001234",
    "Ünïcödé-Straße",
    "İSTANBUL-7",
    "100%_done",
    "a_b%c",
    'say "hi"',
    "star*prefix",
    "NEAR(x y)",
    "col:value",
    "AND OR NOT",
    "^caret-",
    "minus-plus+",
    "日本語テキスト",
    "emoji-🙂-ref",
    "x",
    "",
]
TERMS = [
    "hd-00123",
    "HD-0012",
    "00123",
    "straße",
    "ÜNÏ",
    "i̇stanbul",
    "%",
    "%_",
    "0%_d",
    "a_b",
    '"hi"',
    '"',
    "*",
    "star*",
    "near(",
    "(x y)",
    "col:",
    ":value",
    "and or",
    " or ",
    "^ca",
    "-plus+",
    "本語テ",
    "本",
    "🙂",
    "-🙂-",
    "x",
    "zz",
    "hd",
    "/hooks/fluent",
    "env=sandbox&n=",
    "no-such-text-anywhere",
    "  ",
]


def _scan_ids(path: Path, text: str) -> set[str]:
    """The scan the filter used before schema 8 (instr over the lower-cased fields)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT id FROM captures WHERE instr(search, ?) > 0", (text.lower(),)
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def _ids(store: Store, query: CaptureQuery) -> set[str]:
    return {r.id for r in store.page(query, limit=100_000)}


def _fts_check(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        # FTS5's own check: for captures_fts it compares the index with captures.search.
        conn.execute("INSERT INTO captures_fts (captures_fts) VALUES ('integrity-check')")
        conn.execute("INSERT INTO bodies_fts (bodies_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


@pytest.fixture
def corpus(tmp_path: Path) -> Store:
    store = Store(tmp_path / "captures.sqlite3")
    captures = []
    for i, ref in enumerate(REFS * 3):
        captures.append(
            make_capture(
                entity_ref=ref,
                event_name=f"EVENT_{i % 4}",
                entity_status="CREATED" if i % 2 else "Ready",
            )
        )
    store.add_many(captures)
    return store


def test_the_index_finds_exactly_what_the_scan_found(corpus: Store) -> None:
    assert corpus.search_indexed()
    for term in TERMS:
        query = CaptureQuery(text=term)
        expected = _scan_ids(corpus.path, term)
        assert _ids(corpus, query) == expected, term
        assert corpus.count(query) == len(expected), term
    # Paging newest first window by window meets every match once, in order.
    query = CaptureQuery(text="ref")  # nothing: the fields are lower-cased "hd-..." etc.
    assert _ids(corpus, query) == _scan_ids(corpus.path, "ref")
    rows = corpus.page(CaptureQuery(text="/hooks/fluent"), limit=7)
    seen = [r.seq for r in rows]
    while rows:
        rows = corpus.page(CaptureQuery(text="/hooks/fluent"), limit=7, after=rows[-1])
        seen += [r.seq for r in rows]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == len(REFS) * 3
    corpus.close()


def test_typed_fts_syntax_is_text() -> None:
    assert trigram_match('a"b*c') == '"a""b" AND "*c"' or trigram_match('a"b*c') == (
        '"a""b" AND "b*c"'
    )
    assert trigram_match("abc") == '"abc"'


def test_other_filters_and_sorted_pages_combine_with_the_index(corpus: Store) -> None:
    from inspector.core.store import SortOrder

    query = CaptureQuery(text="hd-00123", event_names=frozenset({"EVENT_1"}))
    expected = {
        r.id for r in corpus.page(CaptureQuery(event_names=frozenset({"EVENT_1"})), limit=1000)
    } & _scan_ids(corpus.path, "hd-00123")
    assert _ids(corpus, query) == expected
    ascending = corpus.page(CaptureQuery(text="hd-00"), order=SortOrder("seq", False), limit=1000)
    assert [r.seq for r in ascending] == sorted(r.seq for r in ascending)
    assert {r.id for r in ascending} == _scan_ids(corpus.path, "hd-00")
    by_ref = corpus.page(CaptureQuery(text="hd-00"), order=SortOrder("entity_ref"), limit=1000)
    assert {r.id for r in by_ref} == _scan_ids(corpus.path, "hd-00")
    corpus.close()


def test_body_search_is_opt_in_and_needs_three_characters(tmp_path: Path) -> None:
    store = Store(tmp_path / "captures.sqlite3")
    note = json.dumps({"note": "Needle-In-Body ✓"}, ensure_ascii=False)
    inside = store.add(make_capture(body=note.encode()))
    text = store.add(make_capture(body=b"plain text with a NEEDLE-IN-BODY"))
    store.add(make_capture(body=b"\x00\xff binary"))
    store.add(make_capture(entity_ref="needle-in-body"))  # in the fields
    fields_only = CaptureQuery(text="needle-in-body")
    with_bodies = CaptureQuery(text="needle-in-body", bodies=True)
    assert len(_ids(store, fields_only)) == 1
    assert _ids(store, with_bodies) == _ids(store, fields_only) | {inside.id, text.id}
    assert store.count(with_bodies) == 3
    assert _ids(store, CaptureQuery(text="in-body ✓", bodies=True)) == {inside.id}
    # Two characters: the fields only (bodies are never scanned).
    assert _ids(store, CaptureQuery(text="✓", bodies=True)) == set()
    store.close()


def test_a_cancelled_read_stops_with_query_cancelled(tmp_path: Path) -> None:
    store = Store(tmp_path / "captures.sqlite3")
    store.add_many([make_capture(entity_ref=f"R-{i}") for i in range(10_000)])
    # Enough rows that every statement runs past the first look at the flag.
    with pytest.raises(QueryCancelled):
        store.page(CaptureQuery(text="zz"), cancel=lambda: True)  # a scan
    with pytest.raises(QueryCancelled):
        store.count(CaptureQuery(text="/hooks/fluent"), cancel=lambda: True)  # the index
    with pytest.raises(QueryCancelled):  # the quick filters' counts
        store.distinct("event_name", CaptureQuery(text="zz"), cancel=lambda: True)
    with pytest.raises(QueryCancelled):
        store.verdict_counts(CaptureQuery(text="zz"), cancel=lambda: True)
    # The connection goes back to the pool unharmed, without the handler.
    assert store.count(CaptureQuery(text="r-1")) == 1111
    assert store.count(CaptureQuery(text="r-1"), cancel=lambda: False) == 1111
    store.close()


def _downgrade_to_v7(path: Path) -> None:
    """A store as schema 7 left it: no search indexes, no triggers."""
    conn = sqlite3.connect(path)
    try:
        for name in ("captures_fts_delete", "captures_fts_update", "bodies_fts_delete"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE captures_fts")
        conn.execute("DROP TABLE bodies_fts")
        conn.execute("DROP TABLE search_backfill")
        conn.execute("DROP TABLE search_indexed")
        conn.execute("PRAGMA user_version = 7")
        conn.commit()
    finally:
        conn.close()


def test_an_upgraded_store_is_indexed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "captures.sqlite3"
    with Store(path) as old:
        old.add_many([make_capture(entity_ref=f"OLD-{i:04d}") for i in range(1500)])
    _downgrade_to_v7(path)
    with Store(path) as store:
        # Usable at once (the scan answers until the fill is done), also for new captures.
        assert store.count(CaptureQuery(text="old-000")) == 10
        new = store.add(make_capture(entity_ref="NEW-0001"))
        deadline = time.monotonic() + 60
        while not store.search_indexed() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.search_indexed()
        assert store.count(CaptureQuery(text="old-000")) == 10
        assert _ids(store, CaptureQuery(text="new-0001")) == {new.id}
        assert store.delete([new.id]) == 1
        assert store.count(CaptureQuery(text="new-0001")) == 0
        assert _ids(store, CaptureQuery(text="old-0")) == _scan_ids(path, "old-0")
    _fts_check(path)


def test_clear_empties_the_indexes_and_they_keep_working(corpus: Store) -> None:
    path = corpus.path
    assert corpus.clear() == len(REFS) * 3
    assert corpus.count(CaptureQuery(text="hd-00123")) == 0
    added = corpus.add(make_capture(target="/after/HD-00123", body=b"after the clear"))
    assert _ids(corpus, CaptureQuery(text="hd-00123")) == {added.id}
    assert _ids(corpus, CaptureQuery(text="the clear", bodies=True)) == {added.id}
    corpus.delete([added.id])
    corpus.close()
    _fts_check(path)


def _upto(path: Path) -> tuple[int, int]:
    """(search_indexed.upto, max seq): what the indexes hold, and what is stored."""
    conn = sqlite3.connect(path)
    try:
        upto = conn.execute("SELECT upto FROM search_indexed").fetchone()[0]
        top = conn.execute("SELECT coalesce(max(seq), 0) FROM captures").fetchone()[0]
    finally:
        conn.close()
    return upto, top


@pytest.fixture
def no_idle_indexing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer waits an hour of idleness before indexing: rows stay in the tail."""
    from inspector.core.store import writer

    monkeypatch.setattr(writer, "INDEX_IDLE_S", 3600.0)


def test_rows_not_indexed_yet_are_found_by_the_filter(
    tmp_path: Path, no_idle_indexing: None
) -> None:
    path = tmp_path / "captures.sqlite3"
    store = Store(path)
    indexed = [
        store.add(
            make_capture(target=f"/hooks/HD-{i:03d}", body=f'{{"n": "body-{i:03d}"}}'.encode())
        )
        for i in range(20)
    ]
    assert store.catch_up_search() == 20
    tail = [
        store.add(
            make_capture(target=f"/hooks/HD-{i:03d}", body=f'{{"n": "body-{i:03d}"}}'.encode())
        )
        for i in range(20, 40)
    ]
    upto, top = _upto(path)
    assert upto == indexed[-1].seq and top == tail[-1].seq  # the second half is the tail
    assert len(_scan_ids(path, "hd-0")) == 40
    for term in ("hd-0", "hd-01", "hd-03", "hd-039", "/hooks/hd"):
        assert _ids(store, CaptureQuery(text=term)) == _scan_ids(path, term), term
        assert store.count(CaptureQuery(text=term)) == len(_scan_ids(path, term)), term
    both = CaptureQuery(text="body-03", bodies=True)
    assert _ids(store, both) == {c.id for c in tail[10:20]}
    assert store.count(both) == 10
    # Pages walk seq windows across the boundary: each match once, newest first.
    rows = store.page(CaptureQuery(text="hd-0"), limit=7)
    seen = [r.seq for r in rows]
    while rows:
        rows = store.page(CaptureQuery(text="hd-0"), limit=7, after=rows[-1])
        seen += [r.seq for r in rows]
    assert seen == sorted((c.seq for c in indexed + tail), reverse=True)
    # Deleting rows on both sides of the boundary keeps the indexes whole.
    assert store.delete([indexed[3].id, tail[3].id, tail[-1].id]) == 3
    assert store.catch_up_search() == 18
    assert _ids(store, CaptureQuery(text="hd-0")) == _scan_ids(path, "hd-0")
    assert len(_ids(store, CaptureQuery(text="body-0", bodies=True))) == 37
    store.close()
    _fts_check(path)


def test_the_writer_indexes_in_batches_and_when_idle(tmp_path: Path) -> None:
    from inspector.core.store.writer import INDEX_BATCH

    path = tmp_path / "captures.sqlite3"
    with Store(path) as store:
        # An import leaves its rows to the idle writer, batch after batch.
        store.add_many([make_capture(entity_ref=f"IMP-{i}") for i in range(INDEX_BATCH * 2 + 7)])
        deadline = time.monotonic() + 60
        while (state := _upto(path))[0] != state[1] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state[0] == state[1] == INDEX_BATCH * 2 + 7
        assert _ids(store, CaptureQuery(text="imp-1")) == _scan_ids(path, "imp-1")
        assert len(_scan_ids(path, "imp-1")) == 118
    _fts_check(path)


def test_live_captures_are_indexed_once_a_batch_has_gathered(
    tmp_path: Path, no_idle_indexing: None
) -> None:
    from inspector.core.store.writer import INDEX_BATCH

    path = tmp_path / "captures.sqlite3"
    with Store(path) as store:
        # Without an idle moment (an hour, here), a steady stream still gets indexed.
        for i in range(INDEX_BATCH + 1):
            store.submit(make_capture(entity_ref=f"LIVE-{i}"))
        store.add(make_capture(entity_ref="LIVE-last"))
        deadline = time.monotonic() + 30
        while _upto(path)[0] < INDEX_BATCH and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _upto(path)[0] >= INDEX_BATCH
        assert store.count(CaptureQuery(text="live-")) == INDEX_BATCH + 2
        store.catch_up_search()
    _fts_check(path)


def test_a_schema_8_store_upgrades_to_batch_indexing(tmp_path: Path) -> None:
    from inspector.core.store import schema

    path = tmp_path / "captures.sqlite3"
    with Store(path) as old:
        old.add_many([make_capture(entity_ref=f"V8-{i:03d}") for i in range(300)])
        old.catch_up_search()
    conn = sqlite3.connect(path)
    try:  # back to what schema 8 left: insert triggers, no search_indexed
        for name in schema.SEARCH_TRIGGER_NAMES:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE search_indexed")
        for trigger in schema._V8_SEARCH_TRIGGERS:
            conn.execute(trigger)
        conn.execute("PRAGMA user_version = 8")
        conn.commit()
    finally:
        conn.close()
    with Store(path) as store:
        assert _upto(path) == (300, 300)
        added = store.add(make_capture(entity_ref="V9-NEW"))
        assert _ids(store, CaptureQuery(text="v9-new")) == {added.id}
        assert store.count(CaptureQuery(text="v8-0")) == 100
        store.delete([added.id])
    conn = sqlite3.connect(path)
    try:
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
    finally:
        conn.close()
    assert triggers == set(schema.SEARCH_TRIGGER_NAMES)
    _fts_check(path)


def test_an_idle_writer_indexes_what_another_process_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.core.store import writer

    monkeypatch.setattr(writer, "INDEX_RECHECK_S", 0.1)
    path = tmp_path / "captures.sqlite3"
    with Store(path) as window:  # open, idle, nothing to index
        window.add(make_capture(entity_ref="FIRST"))
        deadline = time.monotonic() + 30
        while _upto(path)[0] != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        # A CLI import beside it: its writer closes before indexing anything.
        other = Store(path)
        other.add_many([make_capture(entity_ref=f"CLI-{i}") for i in range(50)])
        other.close()
        while _upto(path)[0] != 51 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _upto(path) == (51, 51)
        assert window.count(CaptureQuery(text="cli-")) == 50
    _fts_check(path)
