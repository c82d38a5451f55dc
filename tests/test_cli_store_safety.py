"""The CLI on damaged, locked and read-only stores: a damaged store is refused (listen,
import) with what/where/what to do, moved aside on request with every file kept, and
salvaged; readers open read-only, never wait on a writer, and work on a read-only store; a
failed start leaves no -wal/-shm behind. Real files, real processes, real HTTP."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.captures import one_record_file
from tests.support.damage import damage, filled_store
from tests.support.fs import read_only
from tests.test_cli import assert_clean_error
from tests.test_cli_walk import ROOT, _free_port, run


@pytest.fixture
def decoy(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "default-data-dir"
    yield path
    assert not path.exists(), "a command used the default data dir despite --data-dir"


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _export_lines(decoy: Path, *args: str) -> tuple[list[str], str]:
    result = run("export", *args, decoy=decoy)
    return result.stdout.splitlines(), result.stderr


@pytest.fixture
def damaged(tmp_path: Path, decoy: Path) -> tuple[Path, dict[str, str]]:
    """A data dir whose store is damaged, and each capture's export line from before."""
    data = tmp_path / "data"
    filled_store(data)
    lines, _ = _export_lines(decoy, "--data-dir", str(data))
    damage(data / "captures.sqlite3")
    return data, {json.loads(line)["id"]: line for line in lines}


def test_listen_refuses_a_damaged_store_and_says_what_to_do(
    damaged: tuple[Path, dict[str, str]], decoy: Path
) -> None:
    data, _ = damaged
    db = data / "captures.sqlite3"
    before = db.read_bytes()
    result = run("listen", "--port", "0", "--data-dir", str(data), decoy=decoy, check=False)
    assert_clean_error(
        result, f"The capture store {db} is damaged", "--move-damaged-aside", "export --salvage"
    )
    assert "Listening" not in result.stdout + result.stderr
    assert db.read_bytes() == before  # untouched
    assert _names(data) == ["captures.sqlite3"]  # no -wal/-shm left by the refused open
    source = str(one_record_file(data.parent))
    imported = run("import", source, "--data-dir", str(data), decoy=decoy, check=False)
    assert_clean_error(imported, "is damaged")


def test_export_of_a_damaged_store_points_at_salvage(
    damaged: tuple[Path, dict[str, str]], decoy: Path
) -> None:
    data, _ = damaged
    result = run("export", "--data-dir", str(data), decoy=decoy, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "probably a bug" not in result.stderr
    assert "is damaged" in result.stderr and "export --salvage" in result.stderr


def test_salvage_exports_every_readable_capture_byte_exact(
    damaged: tuple[Path, dict[str, str]], decoy: Path
) -> None:
    data, before = damaged
    lines, stderr = _export_lines(decoy, "--salvage", "--data-dir", str(data))
    exported, skipped = len(lines), len(before) - len(lines)
    assert stderr.strip() == f"exported {exported}, skipped {skipped} unreadable"
    assert 0 < skipped < len(before) // 10
    for line in lines:
        assert line == before[json.loads(line)["id"]]


def test_move_aside_keeps_every_file_and_a_fresh_store_acknowledges(
    damaged: tuple[Path, dict[str, str]], decoy: Path, tmp_path: Path
) -> None:
    data, before = damaged
    damaged_bytes = (data / "captures.sqlite3").read_bytes()
    port = _free_port()
    command = ["listen", "--port", str(port), "--move-damaged-aside", "--data-dir", str(data)]
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", **_env(decoy)},
    )
    try:
        assert process.stderr is not None
        said = [process.stderr.readline() for _ in range(3)]
        assert "moved the damaged captures.sqlite3 aside to" in said[0], said
        assert "export --salvage --store-file" in said[1], said
        assert f"http://127.0.0.1:{port}/" in said[2], said
        answer = httpx.post(f"http://127.0.0.1:{port}/h", content=b'{"a": 1}', timeout=10)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    moved = [n for n in _names(data) if n.startswith("captures-damaged-")]
    assert len(moved) == 1 and moved[0].endswith(".sqlite3"), _names(data)
    assert (data / moved[0]).read_bytes() == damaged_bytes  # kept, byte for byte
    fresh, _ = _export_lines(decoy, "--data-dir", str(data))
    assert [json.loads(line)["body_b64"] for line in fresh] == ["eyJhIjogMX0="]
    lines, stderr = _export_lines(
        decoy, "--salvage", "--store-file", str(data / moved[0]), "--data-dir", str(data)
    )
    assert stderr.startswith(f"exported {len(lines)}, skipped ")
    assert lines and all(line == before[json.loads(line)["id"]] for line in lines)


def _env(decoy: Path) -> dict[str, str]:
    import os

    return {**os.environ, "FLUENT_INSPECTOR_HOME": str(decoy)}


def test_readers_do_not_wait_on_a_writer_holding_the_lock(tmp_path: Path, decoy: Path) -> None:
    data = tmp_path / "data"
    stored = filled_store(data, 20)
    writer = sqlite3.connect(data / "captures.sqlite3", isolation_level=None)
    try:
        # What a listener does in the middle of a commit: the write lock, a pending write.
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM replays")
        lines, stderr = _export_lines(decoy, "--data-dir", str(data))
        assert stderr.strip() == f"exported {len(stored)} capture(s)"
        assert len(lines) == len(stored)
        shown = run("diff", stored[0].id, stored[1].id, "--data-dir", str(data), decoy=decoy)
        assert stored[0].id[:8] in shown.stdout
        writer.execute("ROLLBACK")
    finally:
        writer.close()


def test_export_reads_a_read_only_store_in_a_read_only_folder(tmp_path: Path, decoy: Path) -> None:
    data = tmp_path / "data"
    stored = filled_store(data, 10)
    db = data / "captures.sqlite3"
    assert _names(data) == ["captures.sqlite3"]  # closed cleanly: no -wal, no -shm
    with read_only(db), read_only(data):
        lines, stderr = _export_lines(decoy, "--data-dir", str(data))
        assert len(lines) == len(stored) and stderr.strip() == f"exported {len(stored)} capture(s)"
        timeline = run("timeline", "no-such-ref", "--data-dir", str(data), decoy=decoy, check=False)
        assert timeline.returncode == 1 and "no captures with" in timeline.stderr
    assert _names(data) == ["captures.sqlite3"]


def test_a_failed_start_on_a_read_only_store_leaves_no_wal_or_shm(
    tmp_path: Path, decoy: Path
) -> None:
    data = tmp_path / "data"
    filled_store(data, 5)
    db = data / "captures.sqlite3"
    with read_only(db):
        result = run("listen", "--port", "0", "--data-dir", str(data), decoy=decoy, check=False)
        assert _names(data) == ["captures.sqlite3"]
        assert_clean_error(result, str(db), f"{db}-wal", f"{db}-shm", "permissions")
    # With the permissions fixed, the store opens at once: nothing was left to block it.
    imported = run("import", str(one_record_file(tmp_path)), "--data-dir", str(data), decoy=decoy)
    assert "imported 1 (0 already present)" in imported.stdout


def test_export_refuses_every_store_file_by_any_name(tmp_path: Path, decoy: Path) -> None:
    data = tmp_path / "data"
    filled_store(data, 3)
    db = data / "captures.sqlite3"
    wal = Path(f"{db}-wal")
    wal.write_bytes(b"")  # as a live listener has it
    (tmp_path / "to-wal").symlink_to(wal)
    (tmp_path / "to-db").symlink_to(db)
    (tmp_path / "hard-db").hardlink_to(db)
    other = tmp_path / "other"
    filled_store(other, 1)
    before = db.read_bytes()
    targets = [f"{db}-shm", f"{db}-journal", "to-wal", "to-db", "hard-db"]
    for target in targets:
        result = run(
            "export",
            "-o",
            str(tmp_path / target),
            "--data-dir",
            str(data),
            decoy=decoy,
            check=False,
        )
        assert_clean_error(result, "capture store itself")
    # Reading another store file (--store-file) does not make the live store a target.
    result = run(
        "export",
        "--salvage",
        "--store-file",
        str(other / "captures.sqlite3"),
        "-o",
        str(tmp_path / "hard-db"),
        "--data-dir",
        str(data),
        decoy=decoy,
        check=False,
    )
    assert_clean_error(result, "capture store itself")
    assert db.read_bytes() == before and wal.read_bytes() == b""
