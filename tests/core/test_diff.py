"""core/diff.py: JSON-aware body differences by path, headers, verdicts, the text fallback."""

from __future__ import annotations

import json

import pytest

from inspector.core.capture import Verdict
from inspector.core.diff import (
    BodyChange,
    Change,
    HeaderChange,
    diff_bodies,
    diff_captures,
    diff_headers,
    encode_diff,
    json_path,
    render_text,
)
from tests.support.captures import make_capture

# The kind of pair: a fulfilment event, then the same fulfilment after it shipped.
BEFORE = {
    "id": "ev-1",
    "name": "FulfilmentUpdated",
    "accountId": "ACME",
    "retailerId": "1",
    "entityId": "77",
    "entityRef": "F-77",
    "entityType": "FULFILMENT",
    "entityStatus": "PACKED",
    "rootEntityRef": "R-9",
    "attributes": {"carrier": "AUSPOST", "weight": 1.5},
    "items": [{"ref": "A-1", "qty": 1}, {"ref": "A-2", "qty": 2}, {"ref": "A-3", "qty": 1}],
    "meta": {"mode": "SYNC"},
}
AFTER = {
    **BEFORE,
    "id": "ev-2",
    "entityStatus": "SHIPPED",
    "attributes": {"carrier": "AUSPOST", "weight": 1.5, "TrackingNumber": "TN-123"},
    "items": [{"ref": "A-1", "qty": 1}, {"ref": "A-2", "qty": 2}, {"ref": "A-9", "qty": 1}],
}
del AFTER["meta"]


def _bytes(value: object, **dumps: object) -> bytes:
    return json.dumps(value, **dumps).encode()  # type: ignore[arg-type]


def test_key_order_and_whitespace_are_no_difference() -> None:
    reordered = dict(reversed(list(BEFORE.items())))
    reordered["attributes"] = dict(reversed(list(BEFORE["attributes"].items())))  # type: ignore[union-attr]
    body = diff_bodies(_bytes(BEFORE, separators=(",", ":")), _bytes(reordered, indent=4))
    assert body.is_json
    assert body.changes == ()
    assert body.same
    a = make_capture(body=_bytes(BEFORE))
    b = make_capture(body=_bytes(reordered, indent=2, sort_keys=True))
    assert encode_diff(diff_captures(a, b))["body"] == []


def test_the_example_bodies_give_exactly_the_expected_paths() -> None:
    body = diff_bodies(_bytes(BEFORE), _bytes(AFTER))
    assert body.changes == (
        BodyChange("$.id", Change.CHANGED, "ev-1", "ev-2"),
        BodyChange("$.entityStatus", Change.CHANGED, "PACKED", "SHIPPED"),
        BodyChange("$.attributes.TrackingNumber", Change.ADDED, None, "TN-123"),
        BodyChange("$.items[2].ref", Change.CHANGED, "A-3", "A-9"),
        BodyChange("$.meta", Change.REMOVED, {"mode": "SYNC"}, None),
    )
    assert body.notes == ()


def test_arrays_compare_by_position_with_a_note_when_lengths_differ() -> None:
    body = diff_bodies(b'{"items": [1, 2, 3]}', b'{"items": [1, 5]}')
    assert [(c.path, c.change) for c in body.changes] == [
        ("$.items[1]", Change.CHANGED),
        ("$.items[2]", Change.REMOVED),
    ]
    assert body.notes == ("$.items: 3 items in A, 2 in B; compared by position",)


def test_numbers_by_value_but_booleans_are_not_numbers() -> None:
    assert diff_bodies(b'{"n": 1}', b'{"n": 1.0}').changes == ()
    assert diff_bodies(b'{"n": 1}', b'{"n": true}').changes == (
        BodyChange("$.n", Change.CHANGED, 1, True),
    )
    assert diff_bodies(b'{"n": null}', b'{"n": {}}').changes[0].change is Change.CHANGED


def test_paths_quote_keys_that_are_not_identifiers() -> None:
    assert json_path("$", "Tracking Number") == '$["Tracking Number"]'
    assert json_path("$.a", 0) == "$.a[0]"
    assert diff_bodies(b'{"a.b": 1}', b'{"a.b": 2}').changes[0].path == '$["a.b"]'


def test_non_json_bodies_fall_back_to_a_unified_text_diff() -> None:
    body = diff_bodies(b"line one\nline two\n", b"line one\nline 2\n")
    assert not body.is_json
    assert "-line two" in body.text_diff and "+line 2" in body.text_diff
    assert body.changes == (
        BodyChange("$", Change.CHANGED, "line one\nline two\n", "line one\nline 2\n"),
    )
    # One side JSON, the other not: still text.
    assert not diff_bodies(b'{"a": 1}', b"<html>").is_json
    assert diff_bodies(b"same", b"same").same


def test_deeply_nested_json_falls_back_instead_of_crashing() -> None:
    deep_a = b"[" * 5000 + b"]" * 5000
    deep_b = b"[" * 5000 + b"1" + b"]" * 5000
    body = diff_bodies(deep_a, deep_b)
    assert not body.is_json and not body.same


def test_header_names_are_case_insensitive_values_exact() -> None:
    a = (("Content-Type", "application/json"), ("X-Trace", "1"), ("X-Only-A", "a"))
    b = (("content-type", "application/json"), ("X-TRACE", "2"), ("X-Only-B", "b"))
    assert diff_headers(a, b) == [
        HeaderChange("X-Trace", Change.CHANGED, "1", "2"),
        HeaderChange("X-Only-A", Change.REMOVED, "a", None),
        HeaderChange("X-Only-B", Change.ADDED, None, "b"),
    ]
    # A repeated header compares as its list of values.
    assert diff_headers((("V", "1"), ("v", "2")), (("V", "1, 2"),))[0].change is Change.CHANGED


def test_json_shape_has_the_pinned_keys_and_both_verdicts() -> None:
    a = make_capture(body=_bytes(BEFORE))
    b = make_capture(body=_bytes(AFTER), fluent=Verdict.INVALID, flex=Verdict.NO_KEY)
    encoded = encode_diff(diff_captures(a, b))
    assert list(encoded) == ["body", "headers", "signatures", "notes", "text_diff"]
    assert encoded["signatures"] == {
        "a": {"flex.signature": "valid", "fluent-signature": "valid"},
        "b": {"flex.signature": "no_key", "fluent-signature": "invalid"},
    }
    assert encoded["body"][2] == {
        "path": "$.attributes.TrackingNumber",
        "change": "added",
        "old": None,
        "new": "TN-123",
    }
    assert {h["name"] for h in encoded["headers"]} >= {"Content-Length", "fluent-signature"}
    assert set(encoded["headers"][0]) == {"name", "change", "old", "new"}
    assert encoded["text_diff"] is None
    json.dumps(encoded)  # serialisable as is


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\\u001b[2Jx"}', b"\x1b]0;pwned\x07\r\nfake line"],
)
def test_text_output_escapes_what_came_from_the_request(body: bytes) -> None:
    a = make_capture(body=b'{"name": "ok"}')
    b = make_capture(body=body, headers=(("X-Evil", "\x1b[31mred\r\nInjected: 1"),))
    text = render_text(diff_captures(a, b))
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "X-Evil" in text
