"""A capture as a curl command line that replays it: same method, target, headers and bytes.

The quoting is the point: the command goes through a user's shell, so every byte of the body
must survive bash/zsh unchanged (quotes, ``$``, backticks, ``%``, non-UTF-8 and NUL bytes).
"""

from __future__ import annotations

from collections.abc import Callable

from inspector.core.capture import Capture

__all__ = ["curl_command"]

# Hop-by-hop framing headers: curl computes its own from the body it sends.
_CURL_SKIP = {"content-length", "transfer-encoding", "connection", "expect"}


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# What each quoting writes for the bytes it treats specially; other printable ASCII is itself.
_ANSI_C_SPECIAL = {0x5C: "\\\\", 0x27: "\\'", 0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"}
_PRINTF_SPECIAL = {0x25: "%%", 0x5C: "\\\\", 0x27: "'\\''"}


def _escape(body: bytes, special: dict[int, str], other: Callable[[int], str]) -> str:
    return "".join(
        special[byte] if byte in special else chr(byte) if 0x20 <= byte < 0x7F else other(byte)
        for byte in body
    )


def _ansi_c_quote(body: bytes) -> str:
    """Bash/zsh ``$'...'`` quoting that reproduces ``body`` byte for byte (no NUL bytes)."""
    return "$'" + _escape(body, _ANSI_C_SPECIAL, lambda byte: f"\\x{byte:02x}") + "'"


def _printf_quote(body: bytes) -> str:
    """A ``printf`` format that writes ``body`` exactly, NUL bytes included (POSIX octal)."""
    return "'" + _escape(body, _PRINTF_SPECIAL, lambda byte: f"\\{byte:03o}") + "'"


def curl_command(capture: Capture, base_url: str) -> str:
    """A curl command line that replays the capture: same method, target, headers and bytes."""
    url = base_url.rstrip("/") + capture.target
    parts = [f"curl -X {capture.method} {_shell_quote(url)}"]
    for name, value in capture.headers:
        if name.lower() in _CURL_SKIP:
            continue
        parts.append(f"-H {_shell_quote(f'{name}: {value}')}")
    body = capture.body
    prefix = ""
    if body:
        if b"\x00" in body:
            # Shell arguments cannot hold NUL: stream the bytes through printf instead.
            prefix = f"printf {_printf_quote(body)} | "
            parts.append("--data-binary @-")
        else:
            parts.append(f"--data-binary {_ansi_c_quote(body)}")
    return prefix + " \\\n  ".join(parts)
