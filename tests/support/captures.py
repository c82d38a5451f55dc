"""``make_capture()``: a realistic Capture for tests - a Fluent event body, both signature
headers and both SignatureChecks - with any field overridable.

    make_capture()                                   # ORDER / CREATE, both signatures valid
    make_capture(event_id="E1", entity_type="FULFILMENT", fluent=Verdict.INVALID)
    make_capture(body=b"\\xff\\x00 not json")        # event becomes None (re-parsed)
    make_capture(method="GET", rejected="too large")  # any Capture field

The signatures are not real RSA signatures (tests that need those sign with their own
keys); the verdicts are what a verifier would have said.
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inspector.core.capture import (
    Capture,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
    new_capture_id,
    split_target,
)
from inspector.core.events import parse_event

BASE_TIME = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
_counter = itertools.count()

# Keyword -> key of the Fluent event JSON.
_EVENT_KEYS = {
    "event_id": "id",
    "event_name": "name",
    "entity_type": "entityType",
    "entity_id": "entityId",
    "entity_ref": "entityRef",
    "entity_status": "entityStatus",
    "root_entity_type": "rootEntityType",
    "root_entity_ref": "rootEntityRef",
}


def event_body(**fields: Any) -> bytes:
    """A Fluent event as the bytes Fluent would send; ``fields`` use the JSON key names."""
    n = next(_counter)
    event: dict[str, Any] = {
        "id": f"9f1c2a40-0000-4000-8000-{n:012d}",
        "name": "CREATE",
        "accountId": "ACME",
        "retailerId": "1",
        "entityId": str(1000 + n),
        "entityRef": f"HD_{1000 + n}",
        "entityType": "ORDER",
        "entitySubtype": "HD",
        "entityStatus": "CREATED",
        "rootEntityId": str(1000 + n),
        "rootEntityRef": f"HD_{1000 + n}",
        "rootEntityType": "ORDER",
        "type": "NORMAL",
        "source": None,
        "attributes": {"totalPrice": 42.5, "tags": ["a", "b"]},
        "meta": {"mode": "SYNC", "simulation": False, "models": []},
    }
    event.update(fields)
    return json.dumps(event, separators=(",", ":")).encode()


def make_capture(
    *,
    flex: Verdict = Verdict.VALID,
    fluent: Verdict = Verdict.VALID,
    key: str | None = "sandbox-sydney",
    **overrides: Any,
) -> Capture:
    """A Capture of a signed Fluent webhook; see the module docstring for overrides."""
    n = next(_counter)
    event_fields = {_EVENT_KEYS[k]: overrides.pop(k) for k in list(overrides) if k in _EVENT_KEYS}
    body: bytes = overrides.pop("body") if "body" in overrides else event_body(**event_fields)
    target = overrides.pop("target", f"/hooks/fluent?env=sandbox&n={n}")
    path, query = split_target(target)
    flex_sig = base64.b64encode(bytes((n + i) % 256 for i in range(128))).decode()
    fluent_sig = base64.b64encode(bytes((n * 7 + i) % 256 for i in range(128))).decode()
    headers = (
        ("Host", "example.ngrok.app"),
        ("User-Agent", "Apache-HttpClient/4.5.13 (Java/11.0.20)"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("flex.signature", flex_sig),
        ("fluent-signature", fluent_sig),
        ("X-Forwarded-For", "203.0.113.7"),
    )

    def check(header: SignatureHeader, verdict: Verdict) -> SignatureCheck:
        return SignatureCheck(
            header=header,
            verdict=verdict,
            key_name=key if verdict is Verdict.VALID else None,
            received_name=None if verdict is Verdict.MISSING else header.value,
            detail=f"{header.value}: {verdict.label}",
        )

    fields: dict[str, Any] = {
        "id": new_capture_id(),
        "received_at": BASE_TIME + timedelta(seconds=n),
        "method": "POST",
        "target": target,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body,
        "remote": f"127.0.0.1:{40000 + n % 20000}",
        "tls": False,
        "response": ResponseRecord(
            200,
            (("Content-Type", "application/json"),),
            b'{"status":"received"}',
        ),
        "signatures": (check(SignatureHeader.FLEX, flex), check(SignatureHeader.FLUENT, fluent)),
        "event": parse_event(body),
    }
    fields.update(overrides)
    return Capture(**fields)


def one_record_file(directory: Path) -> Path:
    """A JSON-lines file holding one minimal capture record, as `export` writes one."""
    record = {
        "id": "0123456789abcdef0123456789abcdef",
        "received_at": "2026-12-01T10:00:00Z",
        "method": "POST",
        "target": "/h",
        "path": "/h",
        "query": "",
        "headers": [],
        "body_b64": "e30=",
        "remote": "127.0.0.1:1",
    }
    source = directory / "one.jsonl"
    source.write_text(json.dumps(record) + "\n")
    return source
