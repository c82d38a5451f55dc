"""Writing store files as older versions of the app did (for the migration tests)."""

from __future__ import annotations

import sqlite3

from inspector.core.capture import Capture
from inspector.core.store import insert as store_insert

__all__ = ["insert_before_v5"]


def insert_before_v5(conn: sqlite3.Connection, captures: list[Capture]) -> None:
    """Insert as an app before schema 5 did: without the payload_problems column."""
    columns = store_insert._CAPTURE_INSERT_COLUMNS.replace(" payload_problems,", "")
    for seq, capture in enumerate(captures, start=1):
        main, data = store_insert.rows_for(capture)
        attempt = 1 + sum(1 for c in captures[: seq - 1] if c.event_id == capture.event_id)
        values = [seq, *main[:-1], attempt]
        conn.execute(
            f"INSERT INTO captures ({columns}) VALUES ({','.join('?' * len(values))})", values
        )
        conn.execute(
            f"INSERT INTO capture_data ({store_insert._DATA_INSERT_COLUMNS}) "
            f"VALUES ({','.join('?' * (len(data) + 1))})",
            [seq, *data],
        )
