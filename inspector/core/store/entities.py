"""Captures of one entity tree, oldest first: what ``core/timeline.py`` lays out.

A capture belongs to the tree of ``ref`` when ``ref`` is its ``rootEntityRef`` (a
fulfilment, article or consignment of order ``ref``) or its ``entityRef`` (the order's own
events, which may not name a root). Schema 5 indexes both columns, so this is two
index probes, which SQLite's OR optimisation combines by itself.

``Store.entity_rows`` wraps :func:`entity_rows`.
"""

from __future__ import annotations

import sqlite3

from inspector.core.rows import CaptureRow
from inspector.core.store.query import ROW_COLUMNS, row_from

__all__ = ["TIMELINE_LIMIT", "entity_rows"]

TIMELINE_LIMIT = 5000
"""Most captures one timeline reads (the oldest ones): a root entity sees tens, and a
bound keeps a mistyped common ref (``""`` never matches) from loading the store."""


def entity_rows(
    conn: sqlite3.Connection, ref: str, *, limit: int = TIMELINE_LIMIT
) -> list[CaptureRow]:
    """Rows whose root entity ref or entity ref is ``ref``, by arrival time then seq."""
    if not ref:
        return []
    rows = conn.execute(
        f"SELECT {ROW_COLUMNS} FROM captures AS c "
        f"WHERE c.root_entity_ref = ? OR c.entity_ref = ? "
        f"ORDER BY c.received_at, c.seq LIMIT ?",
        (ref, ref, limit),
    ).fetchall()
    return [row_from(r) for r in rows]
