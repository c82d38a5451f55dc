"""The capture store (SQLite, WAL, one group-committing writer thread).

``store.py`` is the facade; ``schema.py`` the tables and migrations, ``query.py`` filters
and reading rows, ``insert.py`` writing rows, ``writer.py`` the writer thread and group
commit, ``errors.py`` what a failure tells the user, ``groups.py`` retries folded by event
id, ``entities.py`` the captures of one entity tree (the timeline's rows), ``health.py``
the quick check at open and moving a damaged store aside. Everything
importable from ``inspector.core.store`` before the split still is.
"""

from __future__ import annotations

from inspector.core.errors import StoreError
from inspector.core.rows import CaptureRow
from inspector.core.store.errors import BUSY_TIMEOUT_S
from inspector.core.store.groups import Answer, Attempt, RetryGroup
from inspector.core.store.query import NEWEST_FIRST, SORT_KEYS, CaptureQuery, SortOrder
from inspector.core.store.schema import MIGRATIONS, SCHEMA_VERSION
from inspector.core.store.store import IMPORT_CHUNK, Store
from inspector.core.store.writer import BUSY_WINDOW_S, GROUP_DELAY_S, GROUP_TARGET, MAX_BATCH

__all__ = [
    "BUSY_TIMEOUT_S",
    "BUSY_WINDOW_S",
    "GROUP_DELAY_S",
    "GROUP_TARGET",
    "IMPORT_CHUNK",
    "MAX_BATCH",
    "MIGRATIONS",
    "NEWEST_FIRST",
    "SCHEMA_VERSION",
    "SORT_KEYS",
    "Answer",
    "Attempt",
    "CaptureQuery",
    "CaptureRow",
    "RetryGroup",
    "SortOrder",
    "Store",
    "StoreError",
]
