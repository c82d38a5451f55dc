"""The ``listen --machine`` protocol: JSON lines from the child on stdout, commands from the
parent on stdin. Both directions are encoded and decoded here, and only here.

Version 1 (the only one so far) has no version field, so lines stay exactly what programs
reading ``listen --machine`` already parse:

- ``{"event": "status", "state", "url", "error"}`` on every state change;
- ``{"event": "listening", "url", "port"}`` once bound;
- ``{"event": "capture", "id", "seq", "capture": record}`` per stored capture, the record
  being the export's JSON-lines record without the two bodies (see ``core/codec.py``);
- ``{"event": "keys_reloaded", "error"}`` after a ``reload-keys`` command;
- ``{"event": "store_error", "error"}`` when the last storing failure changes;
- ``{"event": "rules_reloaded", "error"}`` after a ``reload-rules`` command;
- ``{"event": "refused", "count"}`` when the number of requests refused outside the path
  prefix (since the start) changes, at most twice a second.

A later version adds ``"v": N`` to its lines; this decoder skips lines of a version it does
not know rather than misreading them. Commands (parent to child): ``reload-keys``,
``reload-rules``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from inspector.core import codec
from inspector.core.capture import Capture
from inspector.core.listener.handle import ListenerState, ListenerStatus

__all__ = [
    "CLI_PREFIX",
    "PROTOCOL_VERSION",
    "RELOAD_KEYS",
    "RELOAD_RULES",
    "Captured",
    "KeysReloaded",
    "Listening",
    "Message",
    "Refused",
    "RulesReloaded",
    "StatusChanged",
    "StoreErrorChanged",
    "decode",
    "encode",
]

log = logging.getLogger("inspector.core.listener")

PROTOCOL_VERSION = 1
CLI_PREFIX = "fluent-inspector: "
"""How the child's one-line messages on stderr start (the parent strips it)."""
RELOAD_KEYS = b"reload-keys"
"""The command line that makes the child re-read its key ring now."""
RELOAD_RULES = b"reload-rules"
"""The command line that makes the child re-read its rules file now (the rules editor)."""


@dataclass(frozen=True, slots=True)
class StatusChanged:
    status: ListenerStatus


@dataclass(frozen=True, slots=True)
class Listening:
    url: str | None
    port: int | None


@dataclass(frozen=True, slots=True)
class Captured:
    id: str
    seq: int
    capture: Capture | None
    """Body-less (``body``/response body ``b""``, ``size`` right); None when the line had no
    usable record (a child from an older version): read the store by ``id`` then."""


@dataclass(frozen=True, slots=True)
class KeysReloaded:
    error: str | None


@dataclass(frozen=True, slots=True)
class StoreErrorChanged:
    error: str | None


@dataclass(frozen=True, slots=True)
class RulesReloaded:
    error: str | None
    """Why the rules file was not applied (the previous rules stay); None once it is."""


@dataclass(frozen=True, slots=True)
class Refused:
    count: int
    """Requests refused outside the path prefix since the child started listening."""


Message = (
    StatusChanged
    | Listening
    | Captured
    | KeysReloaded
    | StoreErrorChanged
    | RulesReloaded
    | Refused
)


def encode(message: Message) -> str:
    """One line (without the newline) for the parent."""
    data: dict[str, object]
    if isinstance(message, Captured):
        data = {"event": "capture", "id": message.id, "seq": message.seq}
        if message.capture is not None:
            data["capture"] = codec.encode_capture(message.capture, bodies=False)
        return json.dumps(data, ensure_ascii=False)
    if isinstance(message, StatusChanged):
        status = message.status
        data = {
            "event": "status",
            "state": status.state.value,
            "url": status.url,
            "error": status.error,
        }
    elif isinstance(message, Listening):
        data = {"event": "listening", "url": message.url, "port": message.port}
    elif isinstance(message, KeysReloaded):
        data = {"event": "keys_reloaded", "error": message.error}
    elif isinstance(message, RulesReloaded):
        data = {"event": "rules_reloaded", "error": message.error}
    elif isinstance(message, Refused):
        data = {"event": "refused", "count": message.count}
    else:
        data = {"event": "store_error", "error": message.error}
    return json.dumps(data)


def captured(capture: Capture) -> Captured:
    """The message announcing a stored capture."""
    return Captured(capture.id, capture.seq, capture)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def decode(line: bytes | str) -> Message | None:
    """The message of one line, or None for anything else (not JSON, unknown, newer)."""
    try:
        data = json.loads(line)
    except ValueError:
        log.debug("listener process wrote a line that is not JSON: %r", line[:200])
        return None
    if not isinstance(data, dict):
        return None
    version = data.get("v", 1)
    if version != PROTOCOL_VERSION:
        log.debug("skipping a listener process line of protocol version %r", version)
        return None
    event = data.get("event")
    if event == "capture":
        capture_id = data.get("id")
        if not isinstance(capture_id, str):
            return None
        seq = data.get("seq")
        seq = seq if isinstance(seq, int) else 0
        return Captured(capture_id, seq, _light_capture(data.get("capture"), seq))
    if event == "listening":
        port = data.get("port")
        return Listening(_text(data.get("url")), port if isinstance(port, int) else None)
    if event == "status":
        try:
            state = ListenerState(data.get("state"))
        except ValueError:
            return None
        return StatusChanged(
            ListenerStatus(state, _text(data.get("url")), _text(data.get("error")))
        )
    if event == "keys_reloaded":
        return KeysReloaded(_text(data.get("error")))
    if event == "store_error":
        return StoreErrorChanged(_text(data.get("error")))
    if event == "rules_reloaded":
        return RulesReloaded(_text(data.get("error")))
    if event == "refused":
        count = data.get("count")
        return Refused(count) if isinstance(count, int) and count >= 0 else None
    return None


def _light_capture(record: object, seq: int) -> Capture | None:
    if not isinstance(record, dict):
        return None
    try:
        return codec.decode_capture(record, bodies=False, seq=seq)
    except (KeyError, TypeError, ValueError) as exc:
        log.debug("listener process sent a capture record that does not parse: %s", exc)
        return None
