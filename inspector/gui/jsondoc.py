"""Parse a captured body as JSON without ever raising: every failure becomes a short reason.

Pure Python (no Qt) so it can run in a worker thread and be tested on its own. The GUI views
show ``JsonParseResult.error`` as a note and fall back to the raw bytes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

__all__ = [
    "JsonKind",
    "JsonParseResult",
    "compact_json",
    "json_kind",
    "parse_json_body",
    "pretty_json",
    "utf8_error",
]

JsonKind = str
"""One of ``object``, ``array``, ``string``, ``number``, ``boolean``, ``null``."""


@dataclass(frozen=True, slots=True)
class JsonParseResult:
    """The parsed value, or ``error`` (one sentence for the user) when the body is not JSON."""

    value: object = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def utf8_error(body: bytes) -> str | None:
    """None when ``body`` is valid UTF-8, else a sentence saying where it breaks."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (invalid byte at offset {exc.start:,})"
    return None


def parse_json_body(body: bytes) -> JsonParseResult:
    """Parse raw body bytes as JSON. Never raises; failures are reported in ``error``."""
    if not body.strip():
        return JsonParseResult(error="Body is empty: nothing to show as JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return JsonParseResult(
            error=(
                f"Body is not UTF-8 text (invalid byte at offset {exc.start:,}): "
                "showing raw bytes in the Raw tab is more useful"
            )
        )
    # json.loads(str) refuses a BOM, but some senders add one; it is not part of the JSON.
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_json_text(text)


def parse_json_text(text: str) -> JsonParseResult:
    """Parse JSON text. Never raises; failures are reported in ``error``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return JsonParseResult(
            error=(
                f"Body is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
                "the Raw tab is more useful"
            )
        )
    except RecursionError:
        # The C decoder recurses per nesting level; raising the limit could crash the
        # process, so deep documents are shown raw instead.
        return JsonParseResult(
            error=(
                f"Body is JSON nested deeper than about {sys.getrecursionlimit():,} levels: "
                "showing it raw (Raw tab) instead"
            )
        )
    except ValueError as exc:
        # e.g. integers longer than sys.get_int_max_str_digits()
        return JsonParseResult(error=f"Body cannot be read as JSON ({exc}): use the Raw tab")
    return JsonParseResult(value=value)


def json_kind(value: object) -> JsonKind:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def scalar_text(value: object) -> str:
    """A scalar as a user reads it: strings raw (no quotes), others as JSON literals."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return json.dumps(value)
    return str(value)


def compact_json(value: object) -> str:
    """Compact JSON text for ``value``; a short reason instead if it cannot be serialised."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        return "(nested too deeply to serialise)"
    except (TypeError, ValueError) as exc:
        return f"(cannot serialise: {exc})"


def pretty_json(value: object) -> str:
    """JSON re-indented with 2 spaces, keys in their original order."""
    try:
        return json.dumps(value, ensure_ascii=False, indent=2)
    except RecursionError:
        return "(nested too deeply to serialise)"
    except (TypeError, ValueError) as exc:
        return f"(cannot serialise: {exc})"
