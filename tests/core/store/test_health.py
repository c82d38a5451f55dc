"""The store's quick check on open, moving a damaged store aside, and salvaging from it -
on real damaged files (8 KiB overwritten in the middle of a real store)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspector.core.errors import StoreDamagedError
from inspector.core.store import Store, health
from inspector.core.store.store import Salvaged
from tests.support.captures import make_capture
from tests.support.damage import damage, filled_store


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_sound_store_passes_the_quick_check(data_dir: Path) -> None:
    filled_store(data_dir, 50)
    with Store.open(data_dir) as store:
        result = store.check_health(None)
    assert result.ok and result.finished and result.problems == ()


def test_a_damaged_store_is_refused_untouched_and_leaves_no_files_behind(
    data_dir: Path,
) -> None:
    filled_store(data_dir)
    db = data_dir / "captures.sqlite3"
    damage(db)
    before = _files(data_dir)
    assert list(before) == ["captures.sqlite3"]
    with pytest.raises(StoreDamagedError) as info:
        Store.open(data_dir)
    message = str(info.value)
    assert f"The capture store {db} is damaged" in message
    assert "export --salvage" in message and "--move-damaged-aside" in message
    assert info.value.path == db and info.value.problem
    # Nothing written, and the -wal/-shm this open created are gone again.
    assert _files(data_dir) == before


def test_the_check_stops_at_its_budget_without_a_verdict(data_dir: Path) -> None:
    filled_store(data_dir, 400)
    with Store.open(data_dir) as store:
        result = store.check_health(0.0)
    assert not result.finished and result.ok


def test_readers_of_a_damaged_store_say_it_is_damaged(data_dir: Path) -> None:
    filled_store(data_dir)
    damage(data_dir / "captures.sqlite3")
    with Store(data_dir / "captures.sqlite3", readonly=True) as store:
        assert not store.check_health(None).ok
        with pytest.raises(StoreDamagedError, match="export --salvage"):
            list(store.iter_captures())


def test_salvage_gets_every_readable_capture_out_byte_exact(data_dir: Path) -> None:
    stored = filled_store(data_dir)
    damage(data_dir / "captures.sqlite3")
    tally = Salvaged()
    with Store(data_dir / "captures.sqlite3", readonly=True) as store:
        salvaged = list(store.iter_salvaged(tally))
    originals = {c.id: c for c in stored}
    assert tally.exported == len(salvaged) and tally.skipped > 0
    assert tally.exported + tally.skipped == len(stored)
    assert len(salvaged) > len(stored) * 0.9
    for capture in salvaged:
        assert capture == originals[capture.id]  # bodies and all, byte for byte


def test_move_aside_renames_every_file_keeping_the_wal_paired(tmp_path: Path) -> None:
    live, copy = tmp_path / "live", tmp_path / "copy"
    copy.mkdir()
    with Store.open(live) as store:
        added = [store.add(make_capture()) for _ in range(5)]
        # A crash image: the database, and the WAL that holds the commits, and its index.
        for name in ("captures.sqlite3", "captures.sqlite3-wal", "captures.sqlite3-shm"):
            shutil.copy(live / name, copy / name)
    before = _files(copy)
    moved = health.move_aside(
        copy / "captures.sqlite3", now=datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    )
    name = "captures-damaged-20261202T030405Z.sqlite3"
    assert [new.name for _, new in moved] == [name, name + "-wal", name + "-shm"]
    assert _files(copy) == {n.replace("captures.sqlite3", name): b for n, b in before.items()}
    with Store(copy / name, readonly=True) as moved_store:
        assert [c.id for c in moved_store.iter_captures()] == [c.id for c in added]
    again = health.move_aside(copy / name.replace("-damaged-20261202T030405Z", ""))
    assert again == []  # nothing left to move; nothing overwritten


def test_move_aside_never_overwrites_an_earlier_move(tmp_path: Path) -> None:
    when = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    db = tmp_path / "captures.sqlite3"
    db.write_bytes(b"first")
    first = health.move_aside(db, now=when)
    db.write_bytes(b"second")
    second = health.move_aside(db, now=when)
    assert first[0][1] != second[0][1]
    assert first[0][1].read_bytes() == b"first" and second[0][1].read_bytes() == b"second"
