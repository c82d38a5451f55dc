"""The capture codec: the one JSON shape of signature checks, event summaries and captures.

Everything that writes a capture as JSON goes through here: the store (signature and event
columns), the JSON-lines export and HAR's ``_fluentInspector`` block, the ``listen --json``
log line and the ``listen --machine`` protocol. One shape means a field added to a
:class:`SignatureCheck` or an :class:`EventSummary` is added once, and an export, a store
row and a protocol line can never disagree about what a check looks like.

Shapes (the JSON-lines record is documented in docs/design.md and pinned by tests):

- signature checks: ``{"flex.signature": {"verdict", "key", "received_name", "detail",
  "hint"}, "fluent-signature": {...}}``, keyed by header, in header order;
- event summary: every :class:`EventSummary` field by its Python name, or null;
- capture: the JSON-lines record; ``bodies=False`` leaves out ``body_b64`` and the
  response's ``body_b64`` (``body_size`` still gives the body's size). ``response.rule``
  names the response rule that answered (null: the default answer); ``forward`` is the
  forward target's answer (or null); ``replays`` lists every replay of the capture.
- forward: ``{"url", "status", "headers", "body_b64", "elapsed_ms", "error"}``;
- replay: ``{"at", "url", "edited", "signed_with", "status", "headers", "body_b64",
  "elapsed_ms", "error", "sent_body_b64"}`` (``sent_body_b64`` only for an edited body).
- redaction: ``{"headers": [names], "paths": [JSON paths], "body": "changed" | "unchanged"
  | "not_json"}``, the record's last key ``redacted``, present only on a capture exported
  with ``--redact`` (so an unredacted export is what it always was).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from inspector.core.capture import (
    Capture,
    ForwardRecord,
    Headers,
    Redaction,
    ReplayRecord,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
)
from inspector.core.events import EventSummary, parse_event

__all__ = [
    "b64",
    "capture_signatures",
    "decode_b64",
    "decode_capture",
    "decode_event",
    "decode_forward",
    "decode_redaction",
    "decode_replay",
    "decode_signatures",
    "encode_capture",
    "encode_event",
    "encode_forward",
    "encode_redaction",
    "encode_replay",
    "encode_signatures",
    "iso",
    "pairs",
    "parse_time",
    "require",
    "verdict_names",
]

_EVENT_TEXT_FIELDS = (
    "id",
    "name",
    "account_id",
    "retailer_id",
    "entity_id",
    "entity_ref",
    "entity_type",
    "entity_subtype",
    "entity_status",
    "root_entity_id",
    "root_entity_ref",
    "root_entity_type",
    "type",
    "source",
    "scheduled_on",
)


# --------------------------------------------------------------------------- small values


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not valid base64") from exc


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def require(record: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = record.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"field {key!r} is missing or not {getattr(kind, '__name__', kind)}")
    return value


def pairs(value: object, what: str) -> Headers:
    """Header pairs from ``[[name, value], ...]`` (ours) or ``[{"name", "value"}, ...]`` (HAR)."""
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of [name, value] pairs")
    found = []
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 2:
            found.append((str(item[0]), str(item[1])))
        elif isinstance(item, dict) and "name" in item:
            found.append((str(item["name"]), str(item.get("value", ""))))
        else:
            raise ValueError(f"{what} must be a list of [name, value] pairs")
    return tuple(found)


# --------------------------------------------------------------------------- signature checks


def encode_signatures(checks: Iterable[SignatureCheck]) -> dict[str, dict[str, Any]]:
    """The checks keyed by header value; a header without a check is left out."""
    result: dict[str, dict[str, Any]] = {}
    for check in checks:
        result.setdefault(
            check.header.value,
            {
                "verdict": check.verdict.value,
                "key": check.key_name,
                "received_name": check.received_name,
                "detail": check.detail,
                "hint": check.hint,
            },
        )
    return result


def capture_signatures(capture: Capture) -> dict[str, dict[str, Any]]:
    """Both headers' checks as :meth:`Capture.signature` reads them (unchecked = MISSING)."""
    return encode_signatures(capture.signature(header) for header in SignatureHeader)


def verdict_names(capture: Capture) -> dict[str, str]:
    """Each header's verdict alone, as the export spells it: ``{"flex.signature": "valid",
    "fluent-signature": "no_key"}`` (unchecked = ``missing``); the diff's short shape."""
    return {header.value: capture.signature(header).verdict.value for header in SignatureHeader}


def decode_signatures(data: object, *, absent: str | None = None) -> tuple[SignatureCheck, ...]:
    """Checks in header order. A header not in ``data`` is left out, or - given ``absent``
    - becomes a MISSING check with that detail. An unknown verdict reads as MISSING."""
    entries = data if isinstance(data, dict) else {}
    checks = []
    for header in SignatureHeader:
        entry = entries.get(header.value)
        if not isinstance(entry, dict):
            if absent is not None:
                checks.append(SignatureCheck(header, Verdict.MISSING, detail=absent))
            continue
        try:
            verdict = Verdict(entry.get("verdict"))
        except ValueError:
            verdict = Verdict.MISSING
        checks.append(
            SignatureCheck(
                header,
                verdict,
                key_name=entry.get("key") or None,
                received_name=entry.get("received_name") or None,
                detail=str(entry.get("detail") or ""),
                hint=entry.get("hint") or None,
            )
        )
    return tuple(checks)


# --------------------------------------------------------------------------- event summaries


def encode_event(event: EventSummary | None) -> dict[str, Any] | None:
    if event is None:
        return None
    # Spelled out rather than asdict(): the store runs this once per capture, and asdict
    # deep-copies the attributes only for json.dumps to read them once.
    return {
        "id": event.id,
        "name": event.name,
        "account_id": event.account_id,
        "retailer_id": event.retailer_id,
        "entity_id": event.entity_id,
        "entity_ref": event.entity_ref,
        "entity_type": event.entity_type,
        "entity_subtype": event.entity_subtype,
        "entity_status": event.entity_status,
        "root_entity_id": event.root_entity_id,
        "root_entity_ref": event.root_entity_ref,
        "root_entity_type": event.root_entity_type,
        "type": event.type,
        "source": event.source,
        "scheduled_on": event.scheduled_on,
        "attributes": event.attributes,
        "missing": list(event.missing),
    }


def decode_event(data: object) -> EventSummary | None:
    if not isinstance(data, dict):
        return None
    return EventSummary(
        **{name: str(data.get(name) or "") for name in _EVENT_TEXT_FIELDS},
        attributes=data.get("attributes"),
        missing=tuple(data.get("missing") or ()),
    )


# --------------------------------------------------------------------------- forward, replays


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def encode_forward(forward: ForwardRecord | None, *, bodies: bool = True) -> dict[str, Any] | None:
    if forward is None:
        return None
    record: dict[str, Any] = {
        "url": forward.url,
        "status": forward.status,
        "headers": [[name, value] for name, value in forward.headers],
    }
    if bodies:
        record["body_b64"] = b64(forward.body)
    record["elapsed_ms"] = round(forward.elapsed_ms, 3)
    record["error"] = forward.error
    return record


def decode_forward(data: object, *, bodies: bool = True) -> ForwardRecord | None:
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    return ForwardRecord(
        url=str(data.get("url") or ""),
        status=_optional_int(data.get("status")),
        headers=pairs(data.get("headers", []), "forward headers"),
        body=decode_b64(data.get("body_b64", ""), "forward body_b64") if bodies else b"",
        elapsed_ms=_number(data.get("elapsed_ms")),
        error=error if isinstance(error, str) else None,
    )


def encode_replay(replay: ReplayRecord) -> dict[str, Any]:
    record: dict[str, Any] = {
        "at": iso(replay.at),
        "url": replay.url,
        "edited": replay.edited,
        "signed_with": replay.signed_with,
        "status": replay.status,
        "headers": [[name, value] for name, value in replay.headers],
        "body_b64": b64(replay.body),
        "elapsed_ms": round(replay.elapsed_ms, 3),
        "error": replay.error,
    }
    if replay.sent_body is not None:
        record["sent_body_b64"] = b64(replay.sent_body)
    return record


def decode_replay(data: object) -> ReplayRecord:
    if not isinstance(data, dict):
        raise ValueError("a replay must be a JSON object")
    signed_with = data.get("signed_with")
    error = data.get("error")
    sent = data.get("sent_body_b64")
    return ReplayRecord(
        at=parse_time(require(data, "at", str)),
        url=str(data.get("url") or ""),
        edited=bool(data.get("edited", False)),
        signed_with=signed_with if isinstance(signed_with, str) else None,
        status=_optional_int(data.get("status")),
        headers=pairs(data.get("headers", []), "replay headers"),
        body=decode_b64(data.get("body_b64", ""), "replay body_b64"),
        elapsed_ms=_number(data.get("elapsed_ms")),
        error=error if isinstance(error, str) else None,
        sent_body=decode_b64(sent, "replay sent_body_b64") if sent is not None else None,
    )


# --------------------------------------------------------------------------- redaction

REDACTION_BODY_STATES = ("changed", "unchanged", "not_json")


def encode_redaction(redaction: Redaction | None) -> dict[str, Any] | None:
    if redaction is None:
        return None
    return {
        "headers": list(redaction.headers),
        "paths": list(redaction.paths),
        "body": redaction.body,
    }


def decode_redaction(data: object) -> Redaction | None:
    """The mark, or None when there is none. A mark that is there but unreadable still
    marks the capture (as a changed body): dropping it would make the body look signed."""
    if data is None:
        return None
    if not isinstance(data, dict):
        return Redaction(body="changed")
    headers = data.get("headers")
    paths = data.get("paths")
    body = data.get("body")
    return Redaction(
        headers=tuple(str(h).lower() for h in headers) if isinstance(headers, list) else (),
        paths=tuple(str(p) for p in paths) if isinstance(paths, list) else (),
        body=body if body in REDACTION_BODY_STATES else "changed",
    )


# --------------------------------------------------------------------------- captures


def encode_capture(capture: Capture, *, bodies: bool = True) -> dict[str, Any]:
    """The JSON-lines record of a capture; ``bodies=False`` without the two ``body_b64``."""
    record: dict[str, Any] = {
        "id": capture.id,
        "received_at": iso(capture.received_at),
        "method": capture.method,
        "target": capture.target,
        "path": capture.path,
        "query": capture.query,
        "headers": [[name, value] for name, value in capture.headers],
    }
    if bodies:
        record["body_b64"] = b64(capture.body)
    record.update(
        body_size=capture.size,
        remote=capture.remote,
        tls=capture.tls,
        rejected=capture.rejected,
        attempt=capture.attempt,
    )
    response: dict[str, Any] = {
        "status": capture.response.status,
        "headers": [[name, value] for name, value in capture.response.headers],
    }
    if bodies:
        response["body_b64"] = b64(capture.response.body)
    response["rule"] = capture.rule
    record["response"] = response
    record["signatures"] = capture_signatures(capture)
    record["event"] = encode_event(capture.event)
    record["forward"] = encode_forward(capture.forward, bodies=bodies)
    if bodies:
        record["replays"] = [encode_replay(replay) for replay in capture.replays]
    if capture.redacted is not None:
        record["redacted"] = encode_redaction(capture.redacted)
    return record


def decode_capture(record: object, *, bodies: bool = True, seq: int = 0) -> Capture:
    """Rebuild a capture from its record. Raises ValueError on a broken record.

    With ``bodies`` (an export being imported) the bodies come from ``body_b64`` and the
    event summary is parsed again from the body, which is the truth; without (a protocol
    line) both bodies are ``b""``, ``body_size`` keeps the real size, and the event summary
    and attempt are the record's.
    """
    if not isinstance(record, dict):
        raise ValueError("a record must be a JSON object")
    body = decode_b64(record.get("body_b64", ""), "body_b64") if bodies else b""
    target = record.get("target")
    path = str(record.get("path") or "/")
    query = str(record.get("query") or "")
    if not isinstance(target, str) or not target:
        target = f"{path}?{query}" if query else path
    response = record.get("response")
    if not isinstance(response, dict):
        response = {}
    status = response.get("status", 200)
    body_size = record.get("body_size")
    attempt = record.get("attempt")
    rejected = record.get("rejected")
    rule = response.get("rule")
    replays = record.get("replays") if bodies else None
    return Capture(
        id=require(record, "id", str),
        received_at=parse_time(require(record, "received_at", str)),
        method=require(record, "method", str),
        target=target,
        path=path,
        query=query,
        headers=pairs(record.get("headers", []), "headers"),
        body=body,
        remote=str(record.get("remote") or ""),
        tls=bool(record.get("tls", False)),
        response=ResponseRecord(
            status=status if isinstance(status, int) else 200,
            headers=pairs(response.get("headers", []), "response headers"),
            body=(decode_b64(response.get("body_b64", ""), "response body_b64") if bodies else b""),
        ),
        signatures=decode_signatures(
            record.get("signatures"), absent="not in the imported file" if bodies else None
        ),
        event=parse_event(body) if bodies else decode_event(record.get("event")),
        rejected=rejected if isinstance(rejected, str) else None,
        body_size=body_size if isinstance(body_size, int) else None,
        # An import is numbered afresh by the store it goes into; a protocol line reports
        # the attempt the child's store gave it.
        attempt=attempt if isinstance(attempt, int) and not bodies else 1,
        seq=seq,
        rule=rule if isinstance(rule, str) else None,
        forward=decode_forward(record.get("forward"), bodies=bodies),
        replays=tuple(decode_replay(r) for r in replays) if isinstance(replays, list) else (),
        redacted=decode_redaction(record.get("redacted")),
    )
