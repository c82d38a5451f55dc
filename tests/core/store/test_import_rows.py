"""The import's rows built straight from a JSON-lines record (``prepare_import``) are the
rows the store builds from the decoded capture: any column added to one and not the other
fails here."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from inspector.core import codec
from inspector.core.capture import ForwardRecord, Verdict
from inspector.core.store.insert import prepare_import, rows_for
from tests.support.captures import event_body, make_capture


def _record(**overrides: Any) -> dict[str, Any]:
    # Through JSON, as an import reads it: tuples become lists.
    loaded: dict[str, Any] = json.loads(json.dumps(codec.encode_capture(make_capture(**overrides))))
    return loaded


def _same_rows(record: object) -> None:
    prepared = prepare_import(record)
    assert prepared is not None, "a plain record takes the fast path"
    capture = codec.decode_capture(record)
    assert (prepared.main, prepared.data) == rows_for(capture)
    assert prepared.id == capture.id
    assert prepared.event_id == (capture.event.id if capture.event is not None else None)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"flex": Verdict.INVALID, "fluent": Verdict.NO_KEY, "key": None},
        {"flex": Verdict.MISSING, "fluent": Verdict.MISSING},
        {"body": b"\xff\x00 not json"},
        {"body": b""},
        {"body": b"[1, 2]"},
        {"body": b'  {"id": "E"}'},  # leading space: the full parser's path
        {"body": b'{"id": "E", "name": "\\ud800", "entityRef": 7}'},
        {"body": b"{" * 70 + b"}" * 70},
        {"body": event_body(entityType=None, rootEntityRef="OTHER", attributes=[1])},
        {"rejected": "too large", "body_size": 99_999_999, "body": b""},
        {"method": "FOOBAR", "target": "/h?token=x&y", "tls": True},
        {"target": "/", "headers": (("content-TYPE", "text/plain; x"), ("A", "é"))},
        {"headers": ()},
    ],
)
def test_prepared_rows_are_the_decoded_captures_rows(overrides: dict[str, Any]) -> None:
    if "target" in overrides:
        path, _, query = overrides["target"].partition("?")
        overrides.update(path=path, query=query)
    _same_rows(_record(**overrides))


def _random_text(rng: random.Random) -> str:
    # Any code point but the surrogates (import refuses those before this point).
    pool = [chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0xD800), 0x1F600]))]
    return "".join(rng.choice(pool + list('aZ \x1b\\"é')) for _ in range(rng.randrange(12)))


@pytest.mark.parametrize("seed", range(60))
def test_prepared_rows_match_for_varied_text(seed: int) -> None:
    rng = random.Random(seed)
    if seed % 3:
        body = event_body(entityRef=_random_text(rng), name=_random_text(rng))
    else:
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    record = _record(body=body)
    record["headers"].append([_random_text(rng), _random_text(rng)])
    record["response"]["status"] = rng.randrange(100, 600)
    record["signatures"]["flex.signature"]["detail"] = _random_text(rng)
    record["path"] = "/" + _random_text(rng)
    _same_rows(record)


def test_anything_unusual_takes_the_full_decoder() -> None:
    plain = _record()
    assert prepare_import(plain) is not None
    forwarded = _record(forward=ForwardRecord(url="http://t/", status=200))
    assert forwarded["forward"] is not None and prepare_import(forwarded) is None
    for field, value in [
        ("headers", [{"name": "A", "value": "b"}]),  # HAR-style pairs
        ("tls", 1),
        ("body_size", True),
        ("received_at", "not a time"),
        ("body_b64", "***"),
        ("path", ""),
    ]:
        assert prepare_import({**plain, field: value}) is None, field
    assert prepare_import({**plain, "response": {**plain["response"], "rule": "r"}}) is None
    assert prepare_import([plain]) is None
