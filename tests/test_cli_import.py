"""`fluent-inspector import` as a user meets it: the final line, a progress bar only on a
terminal (a real pty), Ctrl+C mid-import that keeps what was committed and says so, and
bad files (a broken line, 100,000 nested brackets) in one line with exit 2."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from inspector.core import codec
from inspector.core.jobs import IMPORT_BATCH
from tests.support.captures import make_capture
from tests.test_cli import ROOT, assert_clean_error
from tests.test_cli_walk import _ENV, run

FINAL = re.compile(r"^imported (\d+) \((\d+) already present\) in \d+\.\d s$")


def _jsonl(path: Path, count: int) -> Path:
    """``count`` captures: one real record, each copy with its own id."""
    line = json.dumps(codec.encode_capture(make_capture()))
    template = line.replace(json.loads(line)["id"], "{id}")
    with path.open("w") as fp:
        for n in range(count):
            fp.write(template.replace("{id}", f"{n:032x}") + "\n")
    return path


def test_the_final_line_and_a_re_import(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "in.jsonl", 5)
    data = ["--data-dir", str(tmp_path / "data")]
    first = run("import", str(source), *data, decoy=tmp_path / "decoy")
    assert FINAL.match(first.stdout.strip()), first.stdout
    assert FINAL.match(first.stdout.strip()).groups() == ("5", "0")  # type: ignore[union-attr]
    assert first.stderr == ""  # not a terminal: no progress drawn
    again = run("import", str(source), *data, decoy=tmp_path / "decoy")
    assert FINAL.match(again.stdout.strip()).groups() == ("0", "5")  # type: ignore[union-attr]


def test_a_broken_line_reports_what_was_imported(tmp_path: Path) -> None:
    """Issue 12, item 10: an error at line 1,022 after 1,021 good captures."""
    source = _jsonl(tmp_path / "in.jsonl", 1025)
    lines = source.read_text().splitlines(keepends=True)
    lines[1021] = '{"id": \n'
    source.write_text("".join(lines))
    data = tmp_path / "data"
    result = run("import", str(source), "--data-dir", str(data), decoy=tmp_path / "d", check=False)
    assert_clean_error(result, "imported 1021, stopped at line 1022: not valid JSON")
    with sqlite3.connect(data / "captures.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM captures").fetchone() == (1021,)


def test_100000_nested_brackets_are_one_line_with_the_line_number(tmp_path: Path) -> None:
    """Issue 12, item 11: was a RecursionError traceback."""
    for name, content in [
        ("brackets.jsonl", b"[" * 100_000 + b"\n"),
        ("object.jsonl", b'{"a": ' + b"[" * 100_000 + b"\n"),  # read as a HAR document
    ]:
        source = tmp_path / name
        source.write_bytes(content)
        result = run(
            "import", str(source), "--data-dir", str(tmp_path / "d"), decoy=tmp_path, check=False
        )
        assert_clean_error(result, "line 1", "nested too deeply")


def test_progress_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "in.jsonl", IMPORT_BATCH + 10)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inspector",
                "import",
                str(source),
                "--data-dir",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=terminal,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **_ENV, "FLUENT_INSPECTOR_HOME": str(tmp_path / "decoy")},
        )
        os.close(terminal)
        drawn = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        out, _ = process.communicate(timeout=60)
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert FINAL.match(out.decode().strip()), out
    text = drawn.decode()
    assert re.search(r"\r\[[#.]{28}\] +\d+%  [\d,]+ captures  [\d,]+/s  Ctrl\+C stops", text), text
    assert text.endswith("\r\x1b[K")  # the bar is cleared before the final line


def test_ctrl_c_mid_import_keeps_what_was_committed_and_says_so(tmp_path: Path) -> None:
    total = 40 * IMPORT_BATCH
    source = _jsonl(tmp_path / "big.jsonl", total)
    db = tmp_path / "data" / "captures.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "import", str(source), "--data-dir", str(db.parent)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **_ENV, "FLUENT_INSPECTOR_HOME": str(tmp_path / "decoy")},
    )
    try:
        # Interrupt once the first batch is committed: the import is then surely under way.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                        if conn.execute("SELECT count(*) FROM captures").fetchone()[0]:
                            break
                except sqlite3.Error:
                    pass  # the schema is being created
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err
    match = re.match(
        r"imported (\d+) \(0 already present\) in \d+\.\d s; cancelled after line (\d+): "
        r"those captures are stored, the rest of .*big\.jsonl was not read",
        out,
    )
    assert match, out
    imported, line = int(match[1]), int(match[2])
    assert 0 < imported == line < total and imported % IMPORT_BATCH == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM captures").fetchone() == (imported,)
