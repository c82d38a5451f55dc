"""`listen`'s default output under load: a line per capture, a summary per second above what
a person can read (saying so once), and lines again when the rate drops. Real HTTP at the
real command in a subprocess."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from inspector.core.listener.printer import LINES_PER_SECOND

ROOT = Path(__file__).resolve().parents[1]
# Control characters in the values the line shows: they must come out escaped.
BODY = json.dumps(
    {
        "id": "E-1",
        "name": "Order\x1b]0;pwned\x07Created",
        "entityType": "ORDER",
        "entityRef": "HD-1\r\n12:00:00  POST  /fake  flex ✓ valid",
        "entityId": "1",
        "accountId": "A",
        "retailerId": "1",
    }
).encode()
BURST = 10 * LINES_PER_SECOND
SUMMARY_WORDING = (
    f" captures in the last second (showing a summary per second above {LINES_PER_SECOND}/s; "
    "--json for every capture)"
)


class Listen:
    """`fluent-inspector listen` in a subprocess, its stdout lines read by a thread."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inspector",
                "listen",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=ROOT,
        )
        assert self.process.stderr is not None
        banner = self.process.stderr.readline()
        assert "Listening on http://127.0.0.1:" in banner, banner
        self.url = banner.split("Listening on ", 1)[1].split(" ", 1)[0].rstrip("/")
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self) -> str:
        # Generous: a wait for output, not a speed requirement.
        return self.lines.get(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self._reader.join(timeout=15)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def listen(data_dir: Path) -> Iterator[Listen]:
    running = Listen(data_dir)
    yield running
    running.stop()


async def _post(url: str, count: int) -> list[str]:
    """``count`` webhooks over 16 keep-alive connections; the capture ids, all answered 200."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:

        async def one() -> str:
            async with session.post(url + "/hooks/fluent", data=BODY) as response:
                assert response.status == 200
                answer = await response.json()
                return str(answer["id"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


def post(url: str, count: int) -> list[str]:
    return asyncio.run(_post(url, count))


def is_capture_line(line: str, capture_id: str) -> bool:
    shown = line.rsplit("  id ", 1)
    return len(shown) == 2 and capture_id.startswith(shown[1]) and "-> 200" in line


def test_a_burst_becomes_a_summary_per_second_and_lines_come_back(listen: Listen) -> None:
    post(listen.url, BURST)
    before: list[str] = []
    while not (line := listen.next_line()).endswith(SUMMARY_WORDING):
        before.append(line)
    # The first summary says how many, why the lines stopped and how to get every capture.
    count = int(line.split("  ", 1)[1].split(" ", 1)[0].replace(",", ""))
    assert LINES_PER_SECOND < count <= BURST
    # At most a line each for the first captures of the busy second (and of the second
    # before it, if the burst started just before a second ended).
    assert len(before) <= 2 * LINES_PER_SECOND
    for shown in before:
        assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown
        assert "Order\\x1b]0;pwned\\x07Created ORDER HD-1\\r\\n12:00:00" in shown
    # Quiet again: a webhook at a readable rate gets its own line (a few tries, in case one
    # lands in the burst's last busy second, which is summarised).
    later: list[str] = []
    for _ in range(20):
        (capture_id,) = post(listen.url, 1)
        while not (line := listen.next_line()).endswith("captures in the last second"):
            if is_capture_line(line, capture_id):
                break
            later.append(line)  # lines of the burst's last second, if it was a quiet one
        else:
            later.append(line)
            time.sleep(0.5)
            continue
        break
    else:
        pytest.fail("no line per capture after the burst")
    # A later summary (the burst spanned two seconds) does not repeat the explanation.
    assert not any(s.endswith(SUMMARY_WORDING) for s in later)


def test_json_prints_every_capture_whatever_the_rate(data_dir: Path) -> None:
    running = Listen(data_dir, "--json")
    try:
        ids = post(running.url, BURST)
        printed = {json.loads(running.next_line())["id"] for _ in ids}
        assert printed == set(ids)
    finally:
        running.stop()


def test_stop_prints_the_last_lines_and_the_count(listen: Listen) -> None:
    (capture_id,) = post(listen.url, 1)
    listen.stop()
    lines = []
    while not listen.lines.empty():
        lines.append(listen.lines.get())
    assert any(is_capture_line(line, capture_id) for line in lines)
    assert listen.process.stderr is not None
    assert "Stopped: stored 1 capture(s)" in listen.process.stderr.read()


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_queue_limit_must_be_a_whole_number_of_one_or_more(data_dir: Path, value: str) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "inspector", "listen", "--queue-limit", value),
            *("--port", "0", "--data-dir", str(data_dir)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--queue-limit" in result.stderr and "1 or more" in result.stderr
    assert "Traceback" not in result.stderr
