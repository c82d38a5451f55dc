"""The store's schema: tables, indexes, and the migrations that take old files forward.

Layout. ``captures`` holds one row per capture with every column a list, filter or count
reads; the large or detail-only parts (headers, bodies, event JSON, full signature checks)
live in ``capture_data`` keyed by the same ``seq``. Keeping the hot table narrow is what
makes a filtered ``count()`` or a selective ``page()`` over 100,000+ rows a scan of a few
tens of MB instead of every body ever received.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from inspector.core import payload
from inspector.core.errors import StoreError

__all__ = [
    "APPLICATION_ID",
    "BODY_TEXT_BYTES",
    "MIGRATIONS",
    "PAYLOAD_BATCH",
    "SCHEMA_VERSION",
    "SEARCH_TRIGGERS",
    "SEARCH_TRIGGER_NAMES",
    "check_version",
    "migrate",
    "user_version",
]

# Written to PRAGMA application_id so a foreign SQLite file is told apart from ours.
APPLICATION_ID = 0x46574931  # "FWI1"


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


def _migrate_v3(conn: sqlite3.Connection) -> None:
    # Signature checks were stored as a list of {"header", "verdict", "key_name", ...}, a
    # second shape next to the export's; now they are stored in the codec's one shape
    # ({header: {"verdict", "key", ...}}). Done in SQL: one statement, no Python per row.
    conn.execute(
        """
        UPDATE capture_data SET signatures_json = (
            SELECT json_group_object(
                json_extract(value, '$.header'),
                json_object(
                    'verdict', json_extract(value, '$.verdict'),
                    'key', json_extract(value, '$.key_name'),
                    'received_name', json_extract(value, '$.received_name'),
                    'detail', json_extract(value, '$.detail'),
                    'hint', json_extract(value, '$.hint')
                )
            )
            FROM json_each(capture_data.signatures_json)
        )
        WHERE json_type(signatures_json) = 'array'
        """
    )


def _migrate_v4(conn: sqlite3.Connection) -> None:
    # Acting on webhooks. ``rule`` is a column of the narrow table because the table shows
    # it; the forward target's answer is detail-pane material, so it sits with the bodies.
    # Both are NULL for every capture taken before (and for those answered by default),
    # so adding them rewrites nothing.
    conn.execute("ALTER TABLE captures ADD COLUMN rule TEXT")
    # The table marks a failed forward ("forward failed: reason"), so that one line lives
    # in the narrow table too.
    conn.execute("ALTER TABLE captures ADD COLUMN forward_error TEXT")
    conn.execute("ALTER TABLE capture_data ADD COLUMN forward_json TEXT")
    # Replays belong to their original by id (not seq: an import renumbers seqs, ids stay),
    # one row per attempt, failed ones too; ``record`` is the codec's replay JSON.
    conn.execute(
        """
        CREATE TABLE replays (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            capture_id TEXT NOT NULL,
            record TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX replays_capture ON replays (capture_id, seq)")


PAYLOAD_BATCH = 500
"""Rows the schema 5 migration reads (bodies included) per batch."""


def _migrate_v5(conn: sqlite3.Connection) -> None:
    # Payload checks (core/payload.py) as a column, so "payload problems" filters the whole
    # store and the table's badge needs no body. Old rows are checked in Python, a bounded
    # batch of bodies at a time (by seq), so a large file never loads every body at once.
    conn.execute("ALTER TABLE captures ADD COLUMN payload_problems TEXT NOT NULL DEFAULT ''")
    last = 0
    while True:
        batch = conn.execute(
            "SELECT c.seq, d.body FROM captures AS c JOIN capture_data AS d ON d.seq = c.seq "
            "WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
            (last, PAYLOAD_BATCH),
        ).fetchall()
        if not batch:
            break
        updates = [
            (fields, seq) for seq, body in batch if (fields := payload.stored_fields(bytes(body)))
        ]
        conn.executemany("UPDATE captures SET payload_problems = ? WHERE seq = ?", updates)
        last = batch[-1][0]
    # Few rows have problems: a partial index keeps the filter a short walk in seq order.
    conn.execute(
        "CREATE INDEX captures_payload_problems ON captures (seq) WHERE payload_problems != ''"
    )
    # The entity timeline reads root_entity_ref = ? OR entity_ref = ? (store/entities.py).
    conn.execute("CREATE INDEX captures_root_entity_ref ON captures (root_entity_ref)")
    conn.execute("CREATE INDEX captures_entity_ref ON captures (entity_ref)")


SORT_INDEXED = (
    "method",
    "path",
    "entity_ref",
    "entity_status",
    "response_status",
    "size",
    "attempt",
)
"""Table columns that got an index for sorting in v6 (the others already had one)."""


def _migrate_v6(conn: sqlite3.Connection) -> None:
    # Clicking a header sorts in the store with keyset paging; without an index on the
    # column every page of a 100,000-row store is a full scan and sort (measured 130-700 ms
    # a page), with one it is an index walk from the cursor (~5 ms).
    for column in SORT_INDEXED:
        conn.execute(f"CREATE INDEX IF NOT EXISTS captures_{column} ON captures ({column})")


def _migrate_v7(conn: sqlite3.Connection) -> None:
    # Redacted exports imported back (core/redact.py): the mark, the codec's redaction JSON,
    # NULL for every other capture. In the narrow table because the table's badges read it.
    conn.execute("ALTER TABLE captures ADD COLUMN redacted TEXT")


BODY_TEXT_BYTES = 65536
"""Body search indexes (and searches) the first this many bytes of a body, read as UTF-8."""

_V8_SEARCH_TRIGGERS = (
    # Schema 8 indexed every row as it was inserted, in the same transaction (schema 9
    # replaces these: see _migrate_v9).
    "CREATE TRIGGER IF NOT EXISTS captures_fts_insert AFTER INSERT ON captures BEGIN "
    "INSERT INTO captures_fts (rowid, search) VALUES (new.seq, new.search); END",
    # Only rows already indexed are taken out (the background fill has not reached those at
    # or below search_backfill.todo): deleting an entry that is not there would corrupt it.
    "CREATE TRIGGER IF NOT EXISTS captures_fts_delete AFTER DELETE ON captures "
    "WHEN old.seq > coalesce((SELECT todo FROM search_backfill), 0) BEGIN "
    "INSERT INTO captures_fts (captures_fts, rowid, search) "
    "VALUES ('delete', old.seq, old.search); END",
    "CREATE TRIGGER IF NOT EXISTS captures_fts_update AFTER UPDATE OF search ON captures "
    "WHEN old.seq > coalesce((SELECT todo FROM search_backfill), 0) BEGIN "
    "INSERT INTO captures_fts (captures_fts, rowid, search) "
    "VALUES ('delete', old.seq, old.search); "
    "INSERT INTO captures_fts (rowid, search) VALUES (new.seq, new.search); END",
    "CREATE TRIGGER IF NOT EXISTS bodies_fts_insert AFTER INSERT ON capture_data BEGIN "
    "INSERT INTO bodies_fts (rowid, body) "
    f"VALUES (new.seq, CAST(substr(new.body, 1, {BODY_TEXT_BYTES}) AS TEXT)); END",
    # Contentless: a delete names the text that was indexed, derived the same way.
    "CREATE TRIGGER IF NOT EXISTS bodies_fts_delete AFTER DELETE ON capture_data "
    "WHEN old.seq > coalesce((SELECT todo FROM search_backfill), 0) BEGIN "
    "INSERT INTO bodies_fts (bodies_fts, rowid, body) "
    f"VALUES ('delete', old.seq, CAST(substr(old.body, 1, {BODY_TEXT_BYTES}) AS TEXT)); END",
)

# A row is in the search indexes when todo < seq <= upto: search_backfill.todo (an upgraded
# store's fill, schema 8; no row = 0) and search_indexed.upto (the catch-up, schema 9).
_IN_INDEX = (
    "old.seq > coalesce((SELECT todo FROM search_backfill), 0) "
    "AND old.seq <= (SELECT upto FROM search_indexed)"
)
SEARCH_TRIGGERS = (
    # Only rows in the indexes are taken out: deleting an entry that is not there would
    # corrupt an external-content or contentless index.
    "CREATE TRIGGER IF NOT EXISTS captures_fts_delete AFTER DELETE ON captures "
    f"WHEN {_IN_INDEX} BEGIN "
    "INSERT INTO captures_fts (captures_fts, rowid, search) "
    "VALUES ('delete', old.seq, old.search); END",
    "CREATE TRIGGER IF NOT EXISTS captures_fts_update AFTER UPDATE OF search ON captures "
    f"WHEN {_IN_INDEX} BEGIN "
    "INSERT INTO captures_fts (captures_fts, rowid, search) "
    "VALUES ('delete', old.seq, old.search); "
    "INSERT INTO captures_fts (rowid, search) VALUES (new.seq, new.search); END",
    # Contentless: a delete names the text that was indexed, derived the same way.
    "CREATE TRIGGER IF NOT EXISTS bodies_fts_delete AFTER DELETE ON capture_data "
    f"WHEN {_IN_INDEX} BEGIN "
    "INSERT INTO bodies_fts (bodies_fts, rowid, body) "
    f"VALUES ('delete', old.seq, CAST(substr(old.body, 1, {BODY_TEXT_BYTES}) AS TEXT)); END",
)
"""What keeps the search indexes in step with deletes and updates (schema 9)."""
SEARCH_TRIGGER_NAMES = (
    "captures_fts_delete",
    "captures_fts_update",
    "bodies_fts_delete",
)


def _migrate_v8(conn: sqlite3.Connection) -> None:
    # Search at a million captures. The text filter was instr() over the lower-cased
    # ``search`` column: a scan of every row (~450 ms at 1,000,000). Trigram indexes answer
    # a substring of 3+ characters from the index. detail=none keeps them ~3x smaller and
    # faster to write than positional ones; a query ANDs the term's trigrams and rechecks
    # the candidates exactly (query.py), so results equal the scan's.
    # The fields: external content (the text stays only in captures.search), already
    # lower-cased by Python, hence case_sensitive 1 - the same folding as before.
    conn.execute(
        "CREATE VIRTUAL TABLE captures_fts USING fts5(search, content='captures', "
        "content_rowid='seq', tokenize='trigram case_sensitive 1', detail=none)"
    )
    # Bodies (opt-in body search): contentless, so a body is not stored twice.
    conn.execute(
        "CREATE VIRTUAL TABLE bodies_fts USING fts5(body, content='', tokenize='trigram', "
        "detail=none)"
    )
    # Existing rows are indexed in the background after the upgrade (Store's backfill, in
    # short write transactions between captures), not here: at 1,000,000 captures building
    # both indexes takes minutes, and opening the store - the window, a listener - must not
    # wait for it. Rows with seq <= todo are not indexed yet; until todo reaches 0 the
    # filter uses the scan it always used.
    conn.execute("CREATE TABLE search_backfill (todo INTEGER NOT NULL)")
    conn.execute(
        "INSERT INTO search_backfill (todo) SELECT max(seq) FROM captures HAVING max(seq) > 0"
    )
    for trigger in _V8_SEARCH_TRIGGERS:
        conn.execute(trigger)


def _migrate_v9(conn: sqlite3.Connection) -> None:
    # Index in batches, off the answer's path. Schema 8's insert triggers indexed each row
    # in its capture's own transaction: with a group commit of ~15 captures, FTS5 flushed
    # and merged a new segment every commit, ~210 us of SQLite per row (both indexes; 16
    # rows a transaction), a third of the listener's throughput and most of an import's
    # time. Catching up 1,000 rows in one transaction costs ~26 us a row. Rows above
    # search_indexed.upto are not indexed yet; the writer indexes them in batches when
    # enough have gathered or it is idle (Store.catch_up_search), and the filter scans that
    # tail (a few thousand rows at most while the listener keeps up), so results are the
    # same as before.
    for name in ("captures_fts_insert", "bodies_fts_insert", *SEARCH_TRIGGER_NAMES):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("CREATE TABLE search_indexed (upto INTEGER NOT NULL)")
    # Everything stored so far went through the insert triggers (or waits for the fill).
    conn.execute("INSERT INTO search_indexed (upto) SELECT coalesce(max(seq), 0) FROM captures")
    for trigger in SEARCH_TRIGGERS:
        conn.execute(trigger)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _migrate_v1,
    _migrate_v2,
    _migrate_v3,
    _migrate_v4,
    _migrate_v5,
    _migrate_v6,
    _migrate_v7,
    _migrate_v8,
    _migrate_v9,
]
"""Migration ``i`` takes the schema from version ``i`` to ``i + 1``; append, never edit."""
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def check_version(path: Path, conn: sqlite3.Connection, version: int, *, readonly: bool) -> None:
    """Refuse a file this version cannot use, saying why and what to do."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer version of the inspector (schema "
            f"{version}; this version knows up to {SCHEMA_VERSION}): upgrade the app, "
            f"or use --data-dir to keep this version's captures elsewhere."
        )
    if readonly and version < SCHEMA_VERSION:
        raise StoreError(
            f"{path} is not an up-to-date inspector database (schema {version}): "
            f"open it once without read-only mode to upgrade it, or check the path."
        )
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(
            f"{path} is another program's SQLite database, not an inspector "
            f"database: move it away or use --data-dir to pick another place."
        )


def migrate(path: Path, conn: sqlite3.Connection) -> None:
    """Create or upgrade the schema in one write transaction (also the open's write probe)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = user_version(conn)
        check_version(path, conn, version, readonly=False)
        if version == 0:
            foreign = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
            if foreign:
                raise StoreError(
                    f"{path} is another program's SQLite database, not an "
                    f"inspector database: move it away or use --data-dir to pick "
                    f"another place."
                )
        # Also a write probe: a file we may not write fails here, at open, with a
        # clear message - not later, on the first webhook.
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](conn)
        if version != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
