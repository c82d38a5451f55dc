"""Real damaged store files, made as the hostile sweep made them: a real store, then 8 KiB
of its database file overwritten in the middle."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from inspector.core.capture import Capture
from inspector.core.store import Store
from tests.support.captures import make_capture

__all__ = ["DAMAGE_BYTES", "damage", "filled_store"]

DAMAGE_BYTES = 8 * 1024


def filled_store(data_dir: Path, count: int = 400) -> list[Capture]:
    """A store in ``data_dir`` with ``count`` captures of varied ~1.5 KiB bodies, its WAL
    checkpointed into the database file (so damaging the file damages captures)."""
    rng = random.Random(12)
    with Store.open(data_dir) as store:
        captures = [
            make_capture(body=rng.randbytes(rng.randrange(500, 2500)).hex().encode())
            for _ in range(count)
        ]
        store.add_many(captures)
        stored = list(store.iter_captures())
    conn = sqlite3.connect(data_dir / "captures.sqlite3")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return stored


def damage(db_file: Path) -> None:
    """Overwrite 8 KiB in the middle of ``db_file``'s capture pages (whole pages and more).

    Not simply the file's middle: the search indexes' merges leave free pages there, and a
    free page overwritten is no damage at all (SQLite's checks rightly pass it)."""
    conn = sqlite3.connect(db_file)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            row[0]
            for row in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'capture_data' ORDER BY pageno"
            )
        ]
    finally:
        conn.close()
    offset = (pages[len(pages) // 2] - 1) * page_size if pages else db_file.stat().st_size // 2
    with db_file.open("r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * DAMAGE_BYTES)
