"""Redacted exports (core/redact.py): the JSON path subset, what a redacted capture looks
like, the mark on the record through export, the store and import, and the badges after a
re-verification with real keys and signatures made by ``openssl``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from inspector.core import codec, redact
from inspector.core.capture import (
    ForwardRecord,
    Redaction,
    ReplayRecord,
    ResponseRecord,
    SignatureHeader,
    Verdict,
)
from inspector.core.errors import RedactError
from inspector.core.exchange import export_har, export_jsonl, import_file
from inspector.core.jobs import NO_PROGRESS, export_job, import_job, reverify_job
from inspector.core.keys import KeyRing
from inspector.core.redact import PLACEHOLDER, REDACTED, Redactor, parse_path, parse_spec
from inspector.core.rows import row_from_capture
from inspector.core.store import CaptureQuery, Store, schema
from tests.support.captures import BASE_TIME, event_body, make_capture
from tests.support.crypto import make_rsa_key, signed_headers, spki_b64

CUSTOMER_EVENT: dict[str, Any] = {
    "id": "ev-42",
    "name": "OrderCreated",
    "accountId": "ACME",
    "retailerId": "1",
    "entityId": "5",
    "entityRef": "HD-1",
    "entityType": "ORDER",
    "entityStatus": "CREATED",
    "attributes": {"customerRef": "CUST-0042", "totalPrice": 129.95},
    "customer": {"firstName": "Jane", "email": "jane.doe@example.com"},
    "items": [
        {"ref": "TEE", "address": {"street": "7 Customer Lane"}},
        {"ref": "CAP", "address": {"street": "9 Other St"}},
    ],
    "fulfilments": [{"toAddress": {"name": "Jane Doe", "email": "jane@home.example"}}],
}


def _redacted(document: Any, *paths: str) -> Any:
    copy = json.loads(json.dumps(document))
    result, _ = redact.redact_json(copy, [parse_path(p) for p in paths])
    return result


# --------------------------------------------------------------------------- the path subset


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.customer.email", {"customer": {"firstName": "Jane", "email": PLACEHOLDER}}),
        ("$['customer']['firstName']", {"customer": {"firstName": PLACEHOLDER, "email": "e"}}),
        ('$["customer"].email', {"customer": {"firstName": "Jane", "email": PLACEHOLDER}}),
        ("$.customer", {"customer": PLACEHOLDER}),
        ("$.customer.*", {"customer": {"firstName": PLACEHOLDER, "email": PLACEHOLDER}}),
        ("$.nothing.here", {"customer": {"firstName": "Jane", "email": "e"}}),
        ("$", PLACEHOLDER),
    ],
)
def test_member_paths(path: str, expected: Any) -> None:
    document = {"customer": {"firstName": "Jane", "email": "e"}}
    assert _redacted(document, path) == expected


def test_index_and_wildcard_paths() -> None:
    items = {"items": [{"a": 1}, {"a": 2}, {"a": 3}]}
    assert _redacted(items, "$.items[0].a") == {"items": [{"a": PLACEHOLDER}, {"a": 2}, {"a": 3}]}
    assert _redacted(items, "$.items[-1]") == {"items": [{"a": 1}, {"a": 2}, PLACEHOLDER]}
    assert _redacted(items, "$.items[3]") == items  # out of range: nothing
    assert _redacted(items, "$.items[*].a") == {"items": [{"a": PLACEHOLDER}] * 3}
    assert _redacted(items, "$.items.*") == {"items": [PLACEHOLDER] * 3}
    assert _redacted(items, "$.items.a") == items  # a member of a list: nothing


def test_recursive_descent_finds_every_depth_and_the_shape_stays() -> None:
    result = _redacted(CUSTOMER_EVENT, "..email", "$.items[*].address", "$..customerRef")
    assert result["customer"] == {"firstName": "Jane", "email": PLACEHOLDER}
    assert result["fulfilments"][0]["toAddress"] == {"name": "Jane Doe", "email": PLACEHOLDER}
    assert [item["address"] for item in result["items"]] == [PLACEHOLDER, PLACEHOLDER]
    assert [item["ref"] for item in result["items"]] == ["TEE", "CAP"]
    assert result["attributes"] == {"customerRef": PLACEHOLDER, "totalPrice": 129.95}
    assert list(result) == list(CUSTOMER_EVENT)


def test_names_that_need_brackets() -> None:
    document = {"a.b": {"it's": 1, "x y": 2}, "a": {"b": 3}}
    assert _redacted(document, "$['a.b']['it\\'s']")["a.b"] == {"it's": PLACEHOLDER, "x y": 2}
    assert _redacted(document, '$["a.b"]["x y"]')["a.b"] == {"it's": 1, "x y": PLACEHOLDER}
    assert _redacted(document, "$.a.b") == {**document, "a": {"b": PLACEHOLDER}}
    assert _redacted(document, "$..['x y']")["a.b"]["x y"] == PLACEHOLDER


def test_deep_documents_do_not_exhaust_the_stack() -> None:
    deep: Any = {"email": "x"}
    for _ in range(5000):
        deep = {"next": deep}
    result, count = redact.redact_json(deep, [parse_path("..email")])
    assert count == 1
    node = result
    while "next" in node:
        node = node["next"]
    assert node == {"email": PLACEHOLDER}


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("customer.email", "starts with '$'"),
        ("$.items[?(@.price > 10)]", "filters"),
        ("$.items[0:2]", "slices"),
        ("$.items[0,1]", "unions"),
        ("$.items[", "expected ['name'], [N] or [*]"),
        ("$['open", "not closed"),
        ("$['a'x]", "expected ']'"),
        ("$.", "expected a name after '.'"),
        ("$.9lives", "expected a name after '.'"),
        ("$..", "expected a name after '..'"),
        ("$ .a", "unexpected ' '"),
        ("$.a[x]", "expected ['name'], [N] or [*]"),
    ],
)
def test_unsupported_paths_say_where_and_what_is_supported(path: str, why: str) -> None:
    with pytest.raises(RedactError) as caught:
        parse_path(path)
    message = str(caught.value)
    assert why in message
    assert repr(path) in message
    assert "at character" in message and redact.SUPPORTED in message


def test_a_spec_splits_commas_outside_brackets_and_repeats() -> None:
    spec = parse_spec(["Authorization,$.customer.email", "flex.signature, $['a,b'] ,..email"])
    assert spec.headers == ("authorization", "flex.signature")
    assert [p.text for p in spec.paths] == ["$.customer.email", "$['a,b']", "..email"]
    again = parse_spec(["AUTHORIZATION,authorization,$.x,$.x"])
    assert again.headers == ("authorization",) and [p.text for p in again.paths] == ["$.x"]
    assert not parse_spec([]) and not parse_spec([" , "])
    with pytest.raises(RedactError, match="neither a header name nor a JSON path"):
        parse_spec(["Bad Header"])
    with pytest.raises(RedactError, match="filters"):
        parse_spec(["Authorization,$.a[?(@.b)]"])


# --------------------------------------------------------------------------- captures


def _customer_capture(**overrides: Any) -> Any:
    body = overrides.pop("body", json.dumps(CUSTOMER_EVENT, separators=(",", ":")).encode())
    headers = (
        ("Host", "x.ngrok.app"),
        ("AUTHORIZATION", "Bearer s3cret"),
        ("Content-Type", "application/json"),
        ("flex.signature", "c2ln"),
        ("fluent-signature", "c2ln"),
    )
    return make_capture(body=body, headers=headers, **overrides)


def test_a_redacted_capture_keeps_names_and_shape_and_is_marked() -> None:
    capture = _customer_capture(
        response=ResponseRecord(200, (("Set-Cookie", "session=1"),), b'{"email":"a@b"}'),
        forward=ForwardRecord(
            "http://t/h", 200, (("Authorization", "Bearer t"),), b'{"customer":{"email":"f"}}'
        ),
        replays=(
            ReplayRecord(
                at=BASE_TIME,
                url="http://t/h",
                edited=True,
                headers=(("authorization", "x"),),
                body=b'{"email":"answer"}',
                sent_body=b'{"email":"sent"}',
            ),
        ),
    )
    redactor = Redactor(parse_spec(["authorization,set-cookie,$..email,$.customer.firstName"]))
    out = redactor.apply(capture)
    assert out.headers[1] == ("AUTHORIZATION", PLACEHOLDER)
    assert [n for n, _ in out.headers] == [n for n, _ in capture.headers]
    assert out.headers[3] == capture.headers[3]  # not asked: kept
    body = json.loads(out.body)
    assert body["customer"] == {"firstName": PLACEHOLDER, "email": PLACEHOLDER}
    assert b"jane.doe@example.com" not in out.body and b"jane@home" not in out.body
    assert out.response.headers == (("Set-Cookie", PLACEHOLDER),)
    assert json.loads(out.response.body) == {"email": PLACEHOLDER}
    assert out.forward is not None and out.forward.headers == (("Authorization", PLACEHOLDER),)
    assert json.loads(out.forward.body) == {"customer": {"email": PLACEHOLDER}}
    (replay,) = out.replays
    assert replay.headers == (("authorization", PLACEHOLDER),)
    assert b"answer" not in replay.body and replay.sent_body is not None
    assert b"sent" not in replay.sent_body
    assert out.redacted == Redaction(
        ("authorization", "set-cookie"), ("$..email", "$.customer.firstName"), "changed"
    )
    assert out.event is not None and out.event.entity_ref == "HD-1"
    assert redactor.changed_bodies == 1 and redactor.not_json == 0
    for header in SignatureHeader:
        assert redact.badge(Verdict.VALID, header, out.redacted) is REDACTED


def test_the_event_summary_is_read_again_from_the_redacted_body() -> None:
    out = Redactor(parse_spec(["$.entityRef"])).apply(_customer_capture())
    assert out.event is not None and out.event.entity_ref == PLACEHOLDER
    record = codec.encode_capture(out)
    assert "HD-1" not in json.dumps(record)


def test_a_body_that_is_not_json_is_kept_and_said_so() -> None:
    redactor = Redactor(parse_spec(["Authorization,$.customer.email"]))
    text = redactor.apply(_customer_capture(body=b"customer=jane@example.com"))
    assert text.body == b"customer=jane@example.com"
    assert text.redacted is not None and text.redacted.body == "not_json"
    empty = redactor.apply(_customer_capture(body=b""))
    assert empty.redacted is not None and empty.redacted.body == "unchanged"
    assert redactor.not_json == 1
    assert "the JSON paths did not apply to 1 capture whose body is not JSON" in redactor.note
    # Only a header the signature does not cover: the signatures still apply.
    assert redact.badge(Verdict.VALID, SignatureHeader.FLEX, text.redacted) is Verdict.VALID


def test_nothing_matched_keeps_the_exact_bytes() -> None:
    capture = _customer_capture(body=b'{ "id" : "x",\n  "n": 1.50 }')
    out = Redactor(parse_spec(["$.customer.email"])).apply(capture)
    assert out.body == capture.body
    assert out.redacted == Redaction((), ("$.customer.email",), "unchanged")


def test_pretty_bodies_stay_pretty_compact_ones_compact() -> None:
    spec = parse_spec(["$.a"])
    pretty = Redactor(spec).apply(_customer_capture(body=b'{\n  "a": 1,\n  "b": "\\ud800"\n}'))
    assert pretty.body == b'{\n  "a": "[redacted]",\n  "b": "\\ud800"\n}'
    compact = Redactor(spec).apply(_customer_capture(body='{"a":1,"b":"é"}'.encode()))
    assert compact.body == '{"a":"[redacted]","b":"é"}'.encode()


def test_redacting_again_merges_the_marks() -> None:
    once = Redactor(parse_spec(["$.customer.email"])).apply(_customer_capture())
    twice = Redactor(parse_spec(["Authorization,$.nothing"])).apply(once)
    assert twice.redacted == Redaction(
        ("authorization",), ("$.customer.email", "$.nothing"), "changed"
    )


def test_only_the_removed_signature_header_reads_redacted() -> None:
    mark = Redactor(parse_spec(["fluent-signature"])).apply(_customer_capture()).redacted
    assert redact.badge(Verdict.VALID, SignatureHeader.FLEX, mark) is Verdict.VALID
    assert redact.badge(Verdict.MALFORMED, SignatureHeader.FLUENT, mark) is REDACTED
    assert redact.badge(Verdict.INVALID, SignatureHeader.FLUENT, None) is Verdict.INVALID


# --------------------------------------------------------------------------- the record


def test_the_mark_is_the_records_last_key_and_decodes_back() -> None:
    out = Redactor(parse_spec(["Authorization,$.customer.email"])).apply(_customer_capture())
    fp = io.BytesIO()
    export_jsonl([out], fp)
    record = json.loads(fp.getvalue())
    assert list(record)[-1] == "redacted"
    assert record["redacted"] == {
        "headers": ["authorization"],
        "paths": ["$.customer.email"],
        "body": "changed",
    }
    assert codec.decode_capture(record) == out.with_(body_size=len(out.body))
    # An unreadable mark still marks (dropping it would make the body look signed).
    record["redacted"] = "garbage"
    assert codec.decode_capture(record).redacted == Redaction(body="changed")


def test_har_carries_the_mark_in_its_own_block_and_imports_it(tmp_path: Path) -> None:
    out = Redactor(parse_spec(["Authorization,$..email"])).apply(_customer_capture())
    path = tmp_path / "r.har"
    with path.open("wb") as fp:
        export_har([out], fp)
    entry = json.loads(path.read_bytes())["log"]["entries"][0]
    assert entry["_fluentInspector"]["redacted"]["paths"] == ["$..email"]
    assert "jane.doe@example.com" not in entry["request"]["postData"]["text"]
    (back,) = import_file(path)
    assert back.redacted == out.redacted and back.body == out.body


# --------------------------------------------------------------------------- store and jobs


def test_export_import_keeps_the_mark_and_the_badge(tmp_path: Path) -> None:
    with Store(tmp_path / "a.sqlite3") as source:
        plain = source.add(_customer_capture())
        for fmt in ("jsonl", "har"):
            out = tmp_path / f"out.{fmt}"
            redactor = Redactor(parse_spec(["Authorization", "$..email"]))
            assert export_job(NO_PROGRESS, source, CaptureQuery(), out, fmt, redactor) == 1
            assert b"s3cret" not in out.read_bytes()
            with Store(tmp_path / f"b-{fmt}.sqlite3") as target:
                assert import_job(NO_PROGRESS, target, out).added == 1
                back = target.get(plain.id)
                row = target.row(plain.id)
                (paged,) = target.page()
            assert back is not None and row is not None
            assert b"@" not in back.body and b"Jane" in back.body
            assert back.redacted == Redaction(("authorization",), ("$..email",), "changed")
            assert row.redacted == back.redacted == paged.redacted
            assert row_from_capture(back).redacted == back.redacted
            assert redact.badge(row.flex, SignatureHeader.FLEX, row.redacted) is REDACTED
        # The source keeps the original, unmarked.
        original = source.get(plain.id)
        assert original is not None and original.redacted is None
        assert original.body == plain.body


def test_a_schema_6_file_gets_the_redacted_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "v6.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for step in schema.MIGRATIONS[:6]:
        step(conn)
    conn.execute("PRAGMA user_version = 6")
    conn.execute("COMMIT")
    conn.close()
    with Store(path) as store:
        added = store.add(make_capture())
        assert store.get(added.id).redacted is None  # type: ignore[union-attr]
        store.add_many([Redactor(parse_spec(["$.id"])).apply(make_capture())])
        marked = [c for c in store.iter_captures() if c.redacted is not None]
    assert len(marked) == 1 and marked[0].redacted is not None
    assert marked[0].redacted.paths == ("$.id",)


def test_reverifying_a_redacted_body_is_invalid_and_the_badge_says_redacted(
    tmp_path: Path,
) -> None:
    key = make_rsa_key(1024)
    ring = KeyRing(tmp_path / "keys.json")
    ring.add("sydney", spki_b64(key))
    body = json.dumps(CUSTOMER_EVENT, separators=(",", ":")).encode()
    headers = (
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer s3cret"),
        *signed_headers(key, body, tmp_dir=tmp_path),  # signed by the openssl CLI
    )
    other = event_body()
    other_headers = (("Authorization", "Bearer x"), *signed_headers(key, other, tmp_dir=tmp_path))
    with Store(tmp_path / "a.sqlite3") as source:
        customer = source.add(make_capture(body=body, headers=headers))
        untouched = source.add(make_capture(body=other, headers=other_headers))
        reverify_job(NO_PROGRESS, source, ring)
        assert {c.verdict for c in source.get(customer.id).signatures} == {Verdict.VALID}  # type: ignore[union-attr]
        out = tmp_path / "redacted.jsonl"
        export_job(
            NO_PROGRESS,
            source,
            CaptureQuery(),
            out,
            "jsonl",
            Redactor(parse_spec(["Authorization,..email"])),
        )
    with Store(tmp_path / "b.sqlite3") as target:
        import_job(NO_PROGRESS, target, out)
        reverify_job(NO_PROGRESS, target, ring)
        back = target.get(customer.id)
        kept = target.get(untouched.id)
        row = target.row(customer.id)
    assert back is not None and kept is not None and row is not None
    # By design: the redacted body is not what was signed.
    assert {c.verdict for c in back.signatures} == {Verdict.INVALID}
    assert row.flex is Verdict.INVALID
    for header in SignatureHeader:
        assert redact.badge(back.signature(header).verdict, header, back.redacted) is REDACTED
    detail = redact.badge_detail(Verdict.INVALID, None, back.redacted)  # type: ignore[arg-type]
    assert detail.startswith("redacted — signature no longer applies")
    # No path matched the other body: its exact bytes, and its signatures, still hold.
    assert kept.redacted is not None and kept.redacted.body == "unchanged"
    assert {c.verdict for c in kept.signatures} == {Verdict.VALID}
    assert redact.badge(Verdict.VALID, SignatureHeader.FLEX, kept.redacted) is Verdict.VALID
