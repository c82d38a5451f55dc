"""Is the store's file sound? SQLite's quick check at open, and moving a damaged store aside.

A store damaged on disk (a bad sector, a copy cut short, another program writing into it)
used to be accepted: the listener answered 200 into it, and the first export failed for the
whole file. Now an open for writing runs ``PRAGMA quick_check`` first (B-tree structure,
page links, record formats; it skips only the index-content cross-check of
``integrity_check``, at a third of the cost) and refuses a damaged file with
:class:`StoreDamagedError`: nothing is acknowledged into it. :func:`move_aside` renames all
of its files to a timestamped name next to it so a fresh store can start; nothing is ever
deleted, and ``export --salvage`` reads the moved file. (The window opens its store
unchecked and runs the check in a worker, off its cold start; its listener child checks on
its own open, before it answers anything.)

Cost: the check reads every page: measured 0.5-0.8 s at 100,000 captures (286 MB) and
7-9 s at 1,000,000 (2.9 GB) on a loaded 2-core machine. It is bounded by
:data:`QUICK_CHECK_BUDGET_S`: a bigger file is checked for that long and then opened with
the rest unchecked - not *known* damaged, and a damaged page is still reported (as damage)
when it is read; the listener prints a warning then.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from inspector.core import paths
from inspector.core.errors import StoreDamagedError, StoreError
from inspector.core.text import escape_control

__all__ = [
    "QUICK_CHECK_BUDGET_S",
    "Health",
    "check_or_raise",
    "damaged_error",
    "existing_files",
    "is_damage",
    "move_aside",
    "quick_check",
]

QUICK_CHECK_BUDGET_S = 10.0
"""Longest the open-time quick check may run: ~2,000,000 captures on the reference machine."""

_PROGRESS_STEPS = 20_000
"""SQLite VM steps between deadline checks (a few ms of work)."""

_MAX_PROBLEMS = 5


class Health(NamedTuple):
    finished: bool
    """False when the budget ran out before the check did (nothing wrong found so far)."""
    problems: tuple[str, ...]
    """SQLite's own descriptions, at most a few; empty when sound (so far)."""
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def quick_check(conn: sqlite3.Connection, budget_s: float | None = QUICK_CHECK_BUDGET_S) -> Health:
    """Run ``PRAGMA quick_check`` on ``conn``, for at most ``budget_s`` seconds (None: no limit).

    A page so broken that SQLite raises instead of reporting (``database disk image is
    malformed``, ``file is not a database``) counts as a problem too.
    """
    started = time.monotonic()
    deadline = None if budget_s is None else started + budget_s
    expired = [False]

    def past_deadline() -> int:
        if deadline is not None and time.monotonic() > deadline:
            expired[0] = True
            return 1  # interrupts the statement
        return 0

    if deadline is not None:
        # Without a deadline no handler: it would take the GIL every few ms, and the window
        # runs the check in a worker while its GUI thread loads the first page.
        conn.set_progress_handler(past_deadline, _PROGRESS_STEPS)
    try:
        rows = conn.execute(f"PRAGMA quick_check({_MAX_PROBLEMS})").fetchall()
        problems = tuple(str(r[0]) for r in rows if str(r[0]) != "ok")
        finished = True
    except sqlite3.OperationalError as error:
        if not expired[0]:
            if is_damage(error):
                return Health(True, (str(error),), time.monotonic() - started)
            raise
        problems, finished = (), False
    except sqlite3.DatabaseError as error:
        if not is_damage(error):
            raise
        problems, finished = (str(error),), True
    finally:
        conn.set_progress_handler(None, 0)
    return Health(finished, problems, time.monotonic() - started)


def is_damage(error: BaseException) -> bool:
    """A sqlite3 error that means the file's pages are damaged (or it is no database)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    text = str(error).lower()
    return (
        name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
        or "malformed" in text
        or "not a database" in text
        # A text column whose bytes were overwritten: damaged content in a sound page.
        or "could not decode to utf-8" in text
    )


def existing_files(store_path: Path) -> list[Path]:
    """The store's files (db, -wal, -shm, -journal) that exist now."""
    return [f for f in paths.store_files(store_path) if f.exists()]


def damaged_error(store_path: Path, problem: str) -> StoreDamagedError:
    """What to tell the user about a damaged store: what, where, and the two ways on."""
    # One line: quick_check's report spans lines ("*** in database main ***", then one line
    # per problem); what came from the file is escaped like everything else.
    lines = [line.strip() for line in problem.splitlines()]
    problem = escape_control("; ".join(line for line in lines if line and "***" not in line))
    files = ", ".join(str(f) for f in existing_files(store_path)) or str(store_path)
    return StoreDamagedError(
        f"The capture store {store_path} is damaged, or is not an inspector database "
        f"(SQLite says: {problem}); nothing will be stored into it. Get the captures that "
        f"can still be read out with `fluent-inspector export --salvage -o salvaged.jsonl`. "
        f"Then move it aside and start a fresh store with `fluent-inspector listen "
        f"--move-damaged-aside` (or *Move aside and start fresh* in the window): its files "
        f"({files}) are renamed next to it, never deleted; `export --salvage --store-file "
        f"FILE` still reads the moved one.",
        store_path,
        problem,
    )


def check_or_raise(
    store_path: Path, conn: sqlite3.Connection, budget_s: float | None = QUICK_CHECK_BUDGET_S
) -> Health:
    """The quick check, raising :class:`StoreDamagedError` when it finds a problem."""
    health = quick_check(conn, budget_s)
    if health.problems:
        raise damaged_error(store_path, health.problems[0])
    return health


def move_aside(store_path: Path, *, now: datetime | None = None) -> list[tuple[Path, Path]]:
    """Rename every file of the store to ``<stem>-damaged-<UTC time><suffix>`` next to it
    (the -wal and -shm keep their pairing with the database file, so the moved store can
    still be read); returns the (old, new) pairs. Never deletes or overwrites anything.

    Only call it while no process has the store open: the database file is moved first,
    so an open connection keeps writing into the moved file, not the fresh one.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = f"{store_path.stem}-damaged-{stamp}"
    for n in range(1000):
        name = base + (f"-{n}" if n else "") + store_path.suffix
        target = store_path.with_name(name)
        if not any(f.exists() for f in paths.store_files(target)):
            break
    else:  # pragma: no cover - a thousand moves in one second
        raise StoreError(f"No free name to move {store_path} aside: tidy its folder first.")
    moved: list[tuple[Path, Path]] = []
    for old, new in zip(paths.store_files(store_path), paths.store_files(target), strict=True):
        if not old.exists():
            continue
        try:
            # link + unlink would fail on filesystems without hard links; rename is atomic
            # and the free name was checked just above (one process moves at a time).
            os.rename(old, new)
        except OSError as error:
            done = ", ".join(f"{a} -> {b}" for a, b in moved) or "nothing"
            raise StoreError(
                f"Cannot move {old} aside to {new}: {error.strerror or error} (moved so far: "
                f"{done}). Check the folder's permissions, or move the files yourself."
            ) from error
        moved.append((old, new))
    return moved
