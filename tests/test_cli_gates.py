"""`listen --require-signature` and `listen --path-prefix`, run as a user runs them: a real
subprocess, real HTTP, keys generated here and signatures made by the ``openssl`` CLI."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inspector.cli import refused_line
from tests.support.crypto import make_rsa_key, openssl_available, openssl_sign, spki_b64
from tests.test_cli import BODY, ROOT, _free_port, assert_clean_error, cli

PREFIX = "/h/cli-Secret_0123456789abc"
WAIT = 30.0


class Listening:
    """A `listen` process with its stderr read line by line on a thread of its own."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inspector",
                "listen",
                "--port",
                str(self.port),
                *args,
                "--data-dir",
                str(data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        self.stderr: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.stdout: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.pumps = [
            threading.Thread(target=self._pump, args=(stream, into), daemon=True)
            for stream, into in (
                (self.process.stderr, self.stderr),
                (self.process.stdout, self.stdout),
            )
        ]
        for pump in self.pumps:
            pump.start()
        self.banner = self.stderr.get(timeout=WAIT)

    @staticmethod
    def _pump(stream: object, into: queue.SimpleQueue[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.put(line)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pump in self.pumps:
            pump.join(timeout=WAIT)


@pytest.fixture
def keyed(data_dir: Path, tmp_path: Path) -> Path:
    key = tmp_path / "fluent.b64"
    key.write_text(spki_b64(make_rsa_key(1024)))
    assert cli("keys", "add", "fluent", str(key), data_dir=data_dir).returncode == 0
    return data_dir


@pytest.fixture
def started() -> Iterator[list[Listening]]:
    made: list[Listening] = []
    yield made
    for listening in made:
        listening.stop()


def test_signed_only_without_a_key_refuses_to_start_and_says_what_to_do(data_dir: Path) -> None:
    result = cli("listen", "--port", "0", "--require-signature", data_dir=data_dir)
    assert_clean_error(result, "needs at least one Fluent public key", "keys add", "Keys")


@pytest.mark.parametrize(
    ("prefix", "why"),
    [("h/x", "must start with '/'"), ("/h/x?y", "'?'"), ("/h/../x", "'..'"), ("/", "every path")],
)
def test_a_bad_path_prefix_is_a_one_line_usage_error(data_dir: Path, prefix: str, why: str) -> None:
    result = cli("listen", "--port", "0", "--path-prefix", prefix, data_dir=data_dir)
    assert_clean_error(result, "--path-prefix", why)


def test_a_control_character_in_the_prefix_is_shown_escaped(data_dir: Path) -> None:
    result = cli("listen", "--port", "0", "--path-prefix", "/h/\x1b[2J", data_dir=data_dir)
    assert_clean_error(result, "control characters", "\\x1b")
    assert "\x1b" not in result.stderr


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl CLI")
def test_listen_with_both_gates(keyed: Path, tmp_path: Path, started: list[Listening]) -> None:
    listening = Listening(
        keyed,
        "--require-signature",
        "--path-prefix",
        PREFIX,
        "--refused-report-interval",
        "0.5",
    )
    started.append(listening)
    assert f"Listening on http://127.0.0.1:{listening.port}{PREFIX} " in listening.banner

    # Outside the prefix: 404, not stored, and counted in one line, the paths never shown.
    for path in ("/", "/h/", PREFIX + "x", "/x%1b%5d0;pwned"):
        assert httpx.post(listening.url(path), content=b"{}", timeout=10).status_code == 404
    # Four refusals, said in as many lines as intervals they fell in (usually one).
    said = 0
    while said < 4:
        line = listening.stderr.get(timeout=WAIT)
        match = re.fullmatch(
            r"fluent-inspector: refused (\d+) request\(s\) outside "
            r"--path-prefix in the last 0\.5 s\n",
            line,
        )
        assert match is not None, line
        said += int(match.group(1))
    assert said == 4

    # Inside: unsigned gets 401 and its line says why; signed by the key gets 200.
    unsigned = httpx.post(listening.url(PREFIX + "/hooks"), content=BODY, timeout=10)
    assert unsigned.status_code == 401
    assert (
        "signature required: no flex.signature or fluent-signature header"
        in (unsigned.json()["reason"])
    )
    printed = listening.stdout.get(timeout=WAIT)
    assert "-> 401" in printed and "(signature required: no flex.signature" in printed
    private = make_rsa_key(1024)
    headers = {"fluent-signature": openssl_sign(private, BODY, "sha512", tmp_path)}
    signed = httpx.post(listening.url(PREFIX + "/hooks"), content=BODY, headers=headers, timeout=10)
    assert signed.status_code == 200
    printed = listening.stdout.get(timeout=WAIT)
    assert f"{PREFIX}/hooks" in printed and "fluent ✓ valid (fluent)" in printed

    listening.stop()
    exported = cli("export", data_dir=keyed)
    assert exported.returncode == 0
    assert len(exported.stdout.splitlines()) == 2  # the 404s were not stored


def test_the_prefix_can_come_from_the_environment(data_dir: Path, started: list[Listening]) -> None:
    listening = Listening(data_dir, env={"FLUENT_INSPECTOR_PATH_PREFIX": PREFIX})
    started.append(listening)
    assert PREFIX in listening.banner
    assert httpx.post(listening.url("/"), content=b"{}", timeout=10).status_code == 404
    assert httpx.post(listening.url(PREFIX), content=b"{}", timeout=10).status_code == 200
    listening.stop()
    # Within the first minute nothing is said about the refusal: one line a minute at most.
    rest = []
    while not listening.stderr.empty():
        rest.append(listening.stderr.get())
    assert rest and rest[-1].startswith("Stopped: stored 1 capture(s)"), rest
    assert not any("refused" in line for line in rest), rest


def test_the_refused_line_reads_per_minute() -> None:
    assert refused_line(3) == "refused 3 request(s) outside --path-prefix in the last minute"
