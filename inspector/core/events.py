"""Fluent Event JSON -> :class:`EventSummary`. Tolerant and pure: never raises."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

REQUIRED_FIELDS = ("id", "name", "accountId", "retailerId", "entityId", "entityRef", "entityType")

# Bodies above this are not parsed for the summary (the raw view still shows them):
# a Fluent event is a few KB, and parsing a huge body per request would slow ingest.
MAX_EVENT_BYTES = 2 * 1024 * 1024
# json.loads recurses in C and raises RecursionError on deep nesting; we catch it, and
# refuse anything nested deeper than a real event could be long before that.
MAX_DEPTH = 64
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class EventSummary:
    """The fields of a Fluent event a person reads first. Strings are "" when absent."""

    id: str = ""
    name: str = ""
    account_id: str = ""
    retailer_id: str = ""
    entity_id: str = ""
    entity_ref: str = ""
    entity_type: str = ""
    entity_subtype: str = ""
    entity_status: str = ""
    root_entity_id: str = ""
    root_entity_ref: str = ""
    root_entity_type: str = ""
    type: str = ""
    source: str = ""
    scheduled_on: str = ""
    attributes: Mapping[str, Any] | list[Any] | None = None
    missing: tuple[str, ...] = field(default=())
    """Required fields that were absent or not strings."""

    @property
    def is_complete(self) -> bool:
        return not self.missing


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return ""


def _too_deep(raw: bytes) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return False


def looks_like_event(data: object) -> bool:
    """True for a JSON object carrying at least a name and an entity type or id."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("name"), str)
        and ("entityType" in data or "entityId" in data or "entityRef" in data or "id" in data)
    )


# The JSON keys read into EventSummary's string fields, in the order of those fields.
_STRING_KEYS = (
    "id",
    "name",
    "accountId",
    "retailerId",
    "entityId",
    "entityRef",
    "entityType",
    "entitySubtype",
    "entityStatus",
    "rootEntityId",
    "rootEntityRef",
    "rootEntityType",
    "type",
    "source",
    "scheduledOn",
)


def summarize(data: object) -> EventSummary | None:
    """Summarise an already-parsed JSON value, or None if it is not a Fluent event."""
    if not looks_like_event(data):
        return None
    assert isinstance(data, dict)
    # This runs for every request the listener takes: comprehensions over C-level lookups,
    # and _text() only for the odd value that is not already a string.
    get = data.get
    missing = tuple([k for k in REQUIRED_FIELDS if not isinstance(get(k), (str, int))])
    attributes = get("attributes")
    if not isinstance(attributes, (dict, list)):
        attributes = None
    t = [v if type(v) is str else _text(v) for v in map(get, _STRING_KEYS)]
    return EventSummary(
        id=t[0],
        name=t[1],
        account_id=t[2],
        retailer_id=t[3],
        entity_id=t[4],
        entity_ref=t[5],
        entity_type=t[6],
        entity_subtype=t[7],
        entity_status=t[8],
        root_entity_id=t[9],
        root_entity_ref=t[10],
        root_entity_type=t[11],
        type=t[12],
        source=t[13],
        scheduled_on=t[14],
        attributes=attributes,
        missing=missing,
    )


def load_event_json(body: bytes) -> dict[str, Any] | None:
    """The body as a parsed JSON object, within the limits :func:`parse_event` keeps (size,
    nesting); None for anything else. Never raises."""
    if not body or len(body) > MAX_EVENT_BYTES:
        return None
    stripped = body if body[:1] == b"{" else body.lstrip()
    if not stripped.startswith(b"{"):
        return None
    # The byte scan runs only when there are enough brackets to possibly be too deep.
    brackets = stripped.count(b"{") + stripped.count(b"[")
    if brackets > MAX_DEPTH and _too_deep(stripped):
        return None
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def parse_event(body: bytes) -> EventSummary | None:
    """Parse a webhook body into an EventSummary; None for anything that is not an event.

    Never raises: invalid UTF-8, non-JSON, arrays, huge or deeply nested JSON all give None.
    """
    data = load_event_json(body)
    return None if data is None else event_from_json(data, body)


def event_from_json(data: object, body: bytes) -> EventSummary | None:
    """:func:`summarize` of ``body`` already parsed into ``data`` (an import parses a body
    once for both the event and its payload checks)."""
    summary = summarize(data)
    if summary is not None and (b"\\ud" in body or b"\\uD" in body):
        # A "\\ud800" escape parses to a lone surrogate, which SQLite (UTF-8) cannot store:
        # the summary's text gets U+FFFD instead (the body itself stays byte-exact).
        summary = _without_lone_surrogates(summary)
    return summary


def _without_lone_surrogates(summary: EventSummary) -> EventSummary:
    changes: dict[str, Any] = {
        name: _LONE_SURROGATE.sub("\ufffd", text)
        for name in _TEXT_FIELDS
        if _LONE_SURROGATE.search(text := getattr(summary, name))
    }
    return replace(summary, **changes) if changes else summary


_TEXT_FIELDS = tuple(f.name for f in fields(EventSummary) if f.type in ("str", str))
