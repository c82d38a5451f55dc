from __future__ import annotations

import json

import pytest

from inspector.core.events import REQUIRED_FIELDS, parse_event

EVENT = {
    "id": "c5d2a7e2-5a52-4b8f-9d10-0d8f8f3a1f11",
    "name": "OrderCreated",
    "type": "NORMAL",
    "accountId": "ACME",
    "retailerId": "1",
    "entityId": "12345",
    "entityRef": "HD-000123",
    "entityType": "ORDER",
    "entitySubtype": "HD",
    "entityStatus": "CREATED",
    "rootEntityId": "12345",
    "rootEntityRef": "HD-000123",
    "rootEntityType": "ORDER",
    "attributes": {"orderTotal": 99.5},
    "meta": {"mode": "SYNC", "simulation": False, "models": []},
    "unknownField": [1, 2, 3],
}


def test_full_event_is_summarised() -> None:
    summary = parse_event(json.dumps(EVENT).encode())
    assert summary is not None
    assert summary.name == "OrderCreated"
    assert (summary.entity_type, summary.entity_id, summary.entity_ref) == (
        "ORDER",
        "12345",
        "HD-000123",
    )
    assert summary.entity_status == "CREATED"
    assert summary.root_entity_ref == "HD-000123"
    assert summary.attributes == {"orderTotal": 99.5}
    assert summary.missing == ()
    assert summary.is_complete


def test_missing_required_fields_are_listed() -> None:
    sparse = {"name": "FulfilmentPicked", "entityType": "FULFILMENT", "entityId": "9"}
    summary = parse_event(json.dumps(sparse).encode())
    assert summary is not None
    assert set(summary.missing) == set(REQUIRED_FIELDS) - {"name", "entityType", "entityId"}
    assert not summary.is_complete


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"not json at all",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"no": "event"}',
        b'{"name": "x", "entityType": ',
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"name": "x", "id": "1", "deep": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b"{" + b" " * (3 * 1024 * 1024) + b"}",
    ],
    ids=[
        "empty",
        "invalid-utf8",
        "not-json",
        "array",
        "string",
        "object-not-event",
        "truncated",
        "deep-array",
        "deep-object",
        "event-with-deep-field",
        "huge",
    ],
)
def test_anything_else_is_none_never_an_exception(body: bytes) -> None:
    assert parse_event(body) is None


def test_non_string_values_are_tolerated() -> None:
    odd = dict(EVENT, entityId=12345, attributes="not an object", entityStatus=None)
    summary = parse_event(json.dumps(odd).encode())
    assert summary is not None
    assert summary.entity_id == "12345"
    assert summary.attributes is None
    assert summary.entity_status == ""
