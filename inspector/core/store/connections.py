"""Opening SQLite connections to the store's file: the writer (WAL, FULL sync, quick
check, schema migrated) and read-only readers."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from inspector.core import paths
from inspector.core.errors import StoreDamagedError, StoreError
from inspector.core.store import errors, health, schema
from inspector.core.store.errors import map_error
from inspector.core.store.insert import WRITER_STATEMENT_CACHE

__all__ = ["connect", "open_writer"]


def _readonly_uri(path: Path, *, immutable: bool) -> str:
    # quote(): a '?' or '#' in a folder name must not end the file part of the URI.
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection that never writes the file and never waits on a writer.

    WAL readers take no lock a writer holds, so a listener in the middle of a commit does
    not delay them (the writer's 5 s busy wait is not theirs). A WAL reader does need the
    -shm file: when the folder is read-only and SQLite cannot create it, there is no -shm
    and no WAL content (SQLite removes both at the last clean close), so the file is read
    as immutable - nobody can change it there anyway.
    """
    conn = sqlite3.connect(
        _readonly_uri(path, immutable=False),
        uri=True,
        timeout=errors.READ_BUSY_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        if not _no_wal_possible(path):
            raise
        conn = sqlite3.connect(
            _readonly_uri(path, immutable=True),
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    return conn


def _no_wal_possible(path: Path) -> bool:
    """True when nothing can be in a WAL: no -shm, an empty or missing -wal, and a folder
    no one (this user) can create them in."""
    wal, shm = (path.with_name(path.name + s) for s in ("-wal", "-shm"))
    wal_empty = not wal.exists() or wal.stat().st_size == 0
    return wal_empty and not shm.exists() and not os.access(path.parent, os.W_OK | os.X_OK)


def connect(path: Path, *, store_readonly: bool, reader: bool) -> sqlite3.Connection:
    """A connection to ``path``; ``reader`` for one that must never write."""
    try:
        if store_readonly:
            conn = _open_readonly(path)
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


def open_writer(
    path: Path, *, check: bool = True, checked: list[health.Health] | None = None
) -> sqlite3.Connection:
    """The writing connection, quick-checked (``check``) and with the schema created or
    migrated. When the open fails, the -wal/-shm it created are removed again: left behind
    (with the database file's permissions, 0444 for a read-only one) they kept a later open
    failing after the user had fixed the database file. ``checked`` receives the quick
    check's result."""
    before = {f for f in paths.store_files(path) if f.exists()}
    try:
        return _open_writer(path, check=check, checked=checked)
    except StoreDamagedError as error:
        _remove_created(path, before)
        # Again, so that the message lists the files that are left.
        raise health.damaged_error(path, error.problem) from error
    except StoreError:
        _remove_created(path, before)
        raise


def _remove_created(path: Path, before: set[Path]) -> None:
    wal, shm = (path.with_name(path.name + s) for s in ("-wal", "-shm"))
    # Only what this process created, and only while empty: a WAL with content may hold
    # another process's commits, and its -shm indexes it.
    if wal not in before and wal.exists() and wal.stat().st_size == 0:
        with contextlib.suppress(OSError):
            wal.unlink()
    if shm not in before and shm.exists() and not wal.exists():
        with contextlib.suppress(OSError):
            shm.unlink()


def _open_writer(
    path: Path, *, check: bool, checked: list[health.Health] | None
) -> sqlite3.Connection:
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
        if check and schema.user_version(conn) > 0:
            # Before anything is written (the migration is the first write): a damaged
            # file is refused untouched, so that nothing is acknowledged into it.
            result = health.check_or_raise(path, conn)
            if checked is not None:
                checked.append(result)
        schema.migrate(path, conn)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as error:
        conn.close()
        raise map_error(error, path, "open") from error
    return conn
