"""Capture → curl command: the quoting must reproduce every byte through bash."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from inspector.core.curl import curl_command
from tests.support.captures import make_capture


def _bash(script: str) -> bytes:
    out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, check=True)
    return out.stdout


def test_curl_command_handles_nul_bytes() -> None:
    capture = make_capture(body=b"a\x00b'%\\", target="/bin")
    command = curl_command(capture, "http://127.0.0.1:9/")
    script = command.split(" | ")[0]
    assert _bash(script) == b"a\x00b'%\\"


@pytest.mark.parametrize(
    "body",
    [
        b'{"id":"it\'s \\"quoted\\" $HOME `x` %s"}\n\t\r',
        "é ü — 日本".encode(),
        bytes(range(1, 256)),
    ],
)
def test_the_body_argument_is_the_exact_bytes(body: bytes) -> None:
    command = curl_command(make_capture(body=body), "http://127.0.0.1:9")
    quoted = command.rsplit("--data-binary ", 1)[1]
    assert _bash(f"printf %s {quoted}") == body


def test_method_url_and_headers_without_framing() -> None:
    capture = make_capture(body=b"{}", target="/hooks/x?a=1&b='2'", method="PUT")
    command = curl_command(capture, "https://example.test/")
    first = command.splitlines()[0]
    assert first == "curl -X PUT 'https://example.test/hooks/x?a=1&b='\\''2'\\''' \\"
    assert "-H 'flex.signature: " in command
    assert "Content-Length" not in command  # curl computes its own from the body
    assert "--data-binary $'{}'" in command


def test_no_body_sends_no_data() -> None:
    command = curl_command(make_capture(body=b"", method="GET"), "http://h")
    assert "--data-binary" not in command


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_headers_with_quotes_survive_the_shell() -> None:
    capture = make_capture(body=b"x", headers=(("X-Note", 'it\'s "ok" $PATH'),))
    header = curl_command(capture, "http://h").split("-H ", 1)[1].split(" \\")[0]
    assert _bash(f"printf %s {header}") == b'X-Note: it\'s "ok" $PATH'
