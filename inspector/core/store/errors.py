"""Store errors: every sqlite3 or OS failure becomes a :class:`StoreError` that says what to do."""

from __future__ import annotations

from pathlib import Path

from inspector.core.errors import StoreDamagedError, StoreError
from inspector.core.store import health

__all__ = ["BUSY_TIMEOUT_S", "READ_BUSY_TIMEOUT_S", "StoreError", "map_error"]

BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another process's write lock before giving up."""

READ_BUSY_TIMEOUT_S = 0.5
"""A read-only reader never needs the write lock (WAL); this only rides out the moment a
writer recovers or resets the WAL index."""


def map_error(error: BaseException, path: Path, action: str) -> StoreError:
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
        # SQLite writes three files; any one of them read-only (a 0444 -wal left behind by
        # an older version, say) fails the open, so name them all.
        advice = (
            f"{where} is read-only, or its {where}-wal or {where}-shm is: check the "
            f"permissions of those files (the ones that exist) and of their folder "
            f"{path.parent}, or use --data-dir to pick another place"
        )
    elif health.is_damage(error):
        damaged = health.damaged_error(path, text)
        if action == "store":
            damaged = StoreDamagedError(f"The webhook was not stored. {damaged}", path, text)
        damaged.__cause__ = error
        return damaged
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
