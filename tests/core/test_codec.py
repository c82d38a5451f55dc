"""The one capture codec: the exported shapes are pinned here so they cannot drift, and every
user of the codec (store, export, protocol) agrees on the signature-check shape."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from inspector.core import codec
from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.exchange import capture_to_har_entry, export_jsonl
from inspector.core.store import Store, schema
from tests.support.captures import make_capture
from tests.support.store_files import insert_before_v5

CHECK_KEYS = ["verdict", "key", "received_name", "detail", "hint"]
EVENT_KEYS = [
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
    "attributes",
    "missing",
]
RECORD_KEYS = [
    "id",
    "received_at",
    "method",
    "target",
    "path",
    "query",
    "headers",
    "body_b64",
    "body_size",
    "remote",
    "tls",
    "rejected",
    "attempt",
    "response",
    "signatures",
    "event",
    "forward",
    "replays",
]


def _shape(value: Any) -> Any:
    """Keys (in order) of every object, the type name of every leaf."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return type(value).__name__


def _exported_record() -> dict[str, Any]:
    out = io.BytesIO()
    export_jsonl([make_capture(headers=(("Host", "h"), ("X-A", "1")))], out)
    line = out.getvalue().decode()
    assert line.count("\n") == 1
    record: dict[str, Any] = json.loads(line)
    return record


def test_a_jsonl_record_has_exactly_the_documented_keys_in_order() -> None:
    record = _exported_record()
    assert list(record) == RECORD_KEYS
    assert list(record["response"]) == ["status", "headers", "body_b64", "rule"]
    assert list(record["signatures"]) == ["flex.signature", "fluent-signature"]
    for check in record["signatures"].values():
        assert list(check) == CHECK_KEYS
    assert list(record["event"]) == EVENT_KEYS
    assert _shape(record["headers"]) == [["str"]]
    assert isinstance(record["received_at"], str) and record["received_at"].endswith("Z")


def test_a_har_entry_has_the_documented_shape() -> None:
    entry = capture_to_har_entry(make_capture())
    assert list(entry) == [
        "startedDateTime",
        "time",
        "request",
        "response",
        "cache",
        "timings",
        "_fluentInspector",
    ]
    assert list(entry["request"]) == [
        "method",
        "url",
        "httpVersion",
        "cookies",
        "headers",
        "queryString",
        "postData",
        "headersSize",
        "bodySize",
    ]
    assert list(entry["response"]) == [
        "status",
        "statusText",
        "httpVersion",
        "cookies",
        "headers",
        "content",
        "redirectURL",
        "headersSize",
        "bodySize",
    ]
    extra = entry["_fluentInspector"]
    assert list(extra) == ["id", "target", "remote", "rejected", "signatures"]
    # The same signature shape as the JSON-lines record.
    assert extra["signatures"] == _exported_record_signatures_of(entry)


def _exported_record_signatures_of(entry: dict[str, Any]) -> dict[str, Any]:
    signatures: dict[str, Any] = entry["_fluentInspector"]["signatures"]
    assert list(signatures) == ["flex.signature", "fluent-signature"]
    for check in signatures.values():
        assert list(check) == CHECK_KEYS
    return signatures


def test_without_bodies_the_record_only_lacks_the_bodies_and_replays() -> None:
    # Replays carry bodies of their own (what the target answered), so a body-less record
    # (the protocol line, `listen --json`) leaves the list out; the export keeps it.
    capture = make_capture()
    full = codec.encode_capture(capture)
    light = codec.encode_capture(capture, bodies=False)
    del full["body_b64"]
    del full["response"]["body_b64"]
    del full["replays"]
    assert light == full


def test_decoding_without_bodies_keeps_everything_but_the_bodies() -> None:
    capture = make_capture(event_id="E-1").with_(attempt=3, seq=42)
    light = codec.decode_capture(codec.encode_capture(capture, bodies=False), bodies=False, seq=42)
    assert light.body == b"" and light.response.body == b""
    assert light.size == capture.size
    assert light.with_(body=capture.body, body_size=None, response=capture.response) == capture


def test_signature_checks_round_trip_and_absent_headers_stay_absent() -> None:
    capture = make_capture(fluent=Verdict.INVALID)
    checks = capture.signatures
    assert codec.decode_signatures(codec.encode_signatures(checks)) == checks
    only_flex = tuple(c for c in checks if c.header is SignatureHeader.FLEX)
    assert codec.decode_signatures(codec.encode_signatures(only_flex)) == only_flex
    filled = codec.decode_signatures(codec.encode_signatures(only_flex), absent="gone")
    assert [c.verdict for c in filled] == [only_flex[0].verdict, Verdict.MISSING]


def test_the_store_keeps_signature_checks_in_the_codecs_shape(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        stored = store.add(make_capture())
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    try:
        (text,) = conn.execute(
            "SELECT signatures_json FROM capture_data WHERE seq = ?", (stored.seq,)
        ).fetchone()
    finally:
        conn.close()
    assert json.loads(text) == codec.encode_signatures(stored.signatures)


def test_migration_3_rewrites_signature_checks_stored_in_the_old_list_shape(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    schema.MIGRATIONS[0](conn)
    schema.MIGRATIONS[1](conn)
    old = make_capture(fluent=Verdict.NO_KEY)
    insert_before_v5(conn, [old])
    legacy = [
        {
            "header": c.header.value,
            "verdict": c.verdict.value,
            "key_name": c.key_name,
            "received_name": c.received_name,
            "detail": c.detail,
            "hint": c.hint,
        }
        for c in old.signatures
    ]
    conn.execute("UPDATE capture_data SET signatures_json = ?", (json.dumps(legacy),))
    conn.execute("PRAGMA user_version = 2")
    conn.execute("COMMIT")
    conn.close()
    with Store(path) as store:
        again = store.get(old.id)
    assert again is not None
    assert again.signatures == old.signatures


def test_a_redacted_record_adds_only_its_mark_at_the_end() -> None:
    # export --redact: the same keys in the same order, then "redacted" (HAR: inside
    # _fluentInspector); an unredacted record has no such key (pinned above).
    from inspector.core.redact import Redactor, parse_spec

    redacted = Redactor(parse_spec(["Host,$.name"])).apply(make_capture())
    record = codec.encode_capture(redacted)
    assert list(record) == [*RECORD_KEYS, "redacted"]
    assert list(record["redacted"]) == ["headers", "paths", "body"]
    assert _shape(record["redacted"]) == {"headers": ["str"], "paths": ["str"], "body": "str"}
    extra = capture_to_har_entry(redacted)["_fluentInspector"]
    assert list(extra) == ["id", "target", "remote", "rejected", "signatures", "redacted"]
    assert extra["redacted"] == record["redacted"]
