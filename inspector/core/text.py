"""Showing text that came from a request: control characters made visible.

A webhook's body, path and headers are the sender's; printed raw, an ANSI escape clears the
screen or retitles the terminal, and a CR/LF forges a whole fake line (a "✓ valid" that was
never verified). Everything shown to a person goes through :func:`escape_control`.
"""

from __future__ import annotations

import logging
import re

__all__ = ["EscapingFormatter", "escape_control", "format_size"]

# C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidi controls
# that reorder or break what a terminal or a label shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\r``,
    ``\\n``, ``\\u202e``), so it prints as one inert line; other text is unchanged."""
    return _CONTROL.sub(_escaped, text)


class EscapingFormatter(logging.Formatter):
    """A log formatter whose message part is escaped: a log line quoting a request (a path,
    a header, a rules file) stays one inert line in a terminal or a log viewer. The
    traceback that may follow is ours, and keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_control(super().formatMessage(record))


def format_size(size: int) -> str:
    """A byte count as people read it, the one spelling every view uses (table, Raw, JSON,
    GraphQL status line), so one body never shows as two different sizes. KB = 1024 bytes;
    the exact count goes in a tooltip where it matters."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
