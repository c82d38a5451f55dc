"""Opening SQLite connections to the store's file: the writer (WAL, FULL sync, schema
migrated) and read-only readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from inspector.core.errors import StoreError
from inspector.core.store import errors, schema
from inspector.core.store.errors import map_error
from inspector.core.store.insert import WRITER_STATEMENT_CACHE

__all__ = ["connect", "open_writer"]


def connect(path: Path, *, store_readonly: bool, reader: bool) -> sqlite3.Connection:
    """A connection to ``path``; ``reader`` for one that must never write."""
    try:
        if store_readonly:
            uri = path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(
                uri,
                uri=True,
                timeout=errors.BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        else:
            conn = sqlite3.connect(
                path,
                timeout=errors.BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=WRITER_STATEMENT_CACHE,
            )
        if reader and not store_readonly:
            # A reader connection of a writable store: never write through it by mistake.
            conn.execute("PRAGMA query_only = ON")
    except (sqlite3.Error, OSError) as error:
        raise map_error(error, path, "open") from error
    return conn


def open_writer(path: Path) -> sqlite3.Connection:
    """The writing connection, with the schema created or migrated."""
    conn = connect(path, store_readonly=False, reader=False)
    try:
        # Read the version before changing anything, so a newer app's file is untouched.
        schema.check_version(path, conn, schema.user_version(conn), readonly=False)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"{path} cannot be used in WAL mode (journal mode stays {mode!r}; a "
                f"network drive?): use --data-dir to pick a folder on a local disk."
            )
        conn.execute("PRAGMA synchronous = FULL")
        schema.migrate(path, conn)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as error:
        conn.close()
        raise map_error(error, path, "open") from error
    return conn
