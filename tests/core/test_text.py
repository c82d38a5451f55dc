from __future__ import annotations

import logging
import sys

import pytest

from inspector.core.text import EscapingFormatter, escape_control


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("HD-1", "HD-1"),
        ("ünïcode ✓", "ünïcode ✓"),
        ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
        ("R-1\r\n10:00  POST  flex ✓ valid", "R-1\\r\\n10:00  POST  flex ✓ valid"),
        ("a\tb\x00c\x7fd\x9be", "a\\tb\\x00c\\x7fd\\x9be"),
        ("abc\u202edcba", "abc\\u202edcba"),
        ("line\u2028break", "line\\u2028break"),
    ],
)
def test_control_characters_become_visible_escapes(raw: str, shown: str) -> None:
    assert escape_control(raw) == shown
    assert "\n" not in escape_control(raw) and "\x1b" not in escape_control(raw)


def test_log_formatter_escapes_the_message_not_our_traceback() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "inspector.x",
            logging.WARNING,
            __file__,
            1,
            "path %s",
            ("/h\r\nFAKE\x1b]0;t\x07",),
            None,
        )
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    first, *rest = text.split("\n")
    assert first == "WARNING path /h\\r\\nFAKE\\x1b]0;t\\x07"
    assert rest[0].startswith("Traceback") and rest[-1] == "ValueError: boom"
