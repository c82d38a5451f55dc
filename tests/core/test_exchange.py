from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspector.core.capture import (
    Capture,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
)
from inspector.core.errors import ExchangeError
from inspector.core.events import parse_event
from inspector.core.exchange import (
    capture_to_record,
    export_har,
    export_jsonl,
    import_file,
)
from tests.support.captures import make_capture

EVENT_BODY = (
    b'{"id":"ev-1","name":"OrderCreated","accountId":"ACME","retailerId":"1",'
    b'"entityId":"5","entityRef":"HD-1","entityType":"ORDER","entityStatus":"CREATED"}'
)


def _capture(body: bytes, **changes: object) -> Capture:
    base = Capture(
        id="cap-" + str(len(body)),
        received_at=datetime(2026, 11, 30, 6, 30, 1, 123456, tzinfo=UTC),
        method="POST",
        target="/hooks/fluent?env=sandbox&x=1",
        path="/hooks/fluent",
        query="env=sandbox&x=1",
        headers=(
            ("Host", "127.0.0.1:8765"),
            ("Content-Type", "application/json"),
            ("flex.signature", "AAAA"),
            ("X-Dup", "one"),
            ("x-dup", "two"),
        ),
        body=body,
        remote="127.0.0.1:50123",
        response=ResponseRecord(
            200, (("Content-Type", "application/json"),), b'{"status":"received"}'
        ),
        signatures=(
            SignatureCheck(
                SignatureHeader.FLEX,
                Verdict.VALID,
                key_name="sydney",
                received_name="flex.signature",
            ),
            SignatureCheck(
                SignatureHeader.FLUENT, Verdict.MISSING, detail="header missing", hint=None
            ),
        ),
        event=parse_event(body),
    )
    return base.with_(**changes)


BODIES = [EVENT_BODY, b"\xff\x00\xfe binary \x80", b"", "ünïcode ✓".encode()]


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_round_trip_is_byte_exact(tmp_path: Path, fmt: str) -> None:
    captures = [_capture(body, id=f"c{i}") for i, body in enumerate(BODIES)]
    out = tmp_path / f"export.{fmt}"
    with out.open("wb") as fp:
        count = export_jsonl(captures, fp) if fmt == "jsonl" else export_har(captures, fp)
    assert count == len(captures)
    back = list(import_file(out))
    assert [c.id for c in back] == [c.id for c in captures]
    for original, restored in zip(captures, back, strict=True):
        assert restored.body == original.body
        assert restored.headers == original.headers
        assert restored.method == original.method
        assert restored.target == original.target
        assert restored.query == original.query
        assert restored.received_at == original.received_at
        assert restored.response == original.response
        assert restored.remote == original.remote
        assert [s.verdict for s in restored.signatures] == [Verdict.VALID, Verdict.MISSING]
        assert restored.signature(SignatureHeader.FLEX).key_name == "sydney"
        assert restored.event == original.event


def test_jsonl_record_has_the_documented_fields() -> None:
    record = capture_to_record(_capture(EVENT_BODY))
    for field in (
        "id",
        "received_at",
        "method",
        "path",
        "query",
        "headers",
        "body_b64",
        "remote",
        "response",
        "signatures",
        "event",
    ):
        assert field in record
    assert record["received_at"] == "2026-11-30T06:30:01.123456Z"
    assert record["headers"][2] == ["flex.signature", "AAAA"]
    assert record["signatures"]["flex.signature"]["verdict"] == "valid"
    assert record["signatures"]["flex.signature"]["key"] == "sydney"
    assert record["signatures"]["fluent-signature"]["verdict"] == "missing"
    assert record["event"]["entity_ref"] == "HD-1"
    assert set(record["response"]) >= {"status", "headers", "body_b64"}
    assert json.loads(json.dumps(record)) == record


def test_har_is_valid_har_1_2() -> None:
    fp = io.BytesIO()
    export_har([_capture(EVENT_BODY), _capture(b"\xff", id="bin")], fp)
    document = json.loads(fp.getvalue())
    assert document["log"]["version"] == "1.2"
    entry = document["log"]["entries"][0]
    assert entry["request"]["url"] == "http://127.0.0.1:8765/hooks/fluent?env=sandbox&x=1"
    assert entry["request"]["queryString"] == [
        {"name": "env", "value": "sandbox"},
        {"name": "x", "value": "1"},
    ]
    assert entry["request"]["postData"]["text"] == EVENT_BODY.decode()
    assert document["log"]["entries"][1]["request"]["postData"]["_encoding"] == "base64"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b'{"id": "x"}\n', "line 1"),
        (
            b'{"id":"a","received_at":"2026-01-01T00:00:00Z","method":"POST","body_b64":"@@"}\n',
            "base64",
        ),
        (b"not json\n", "line 1"),
        (b'{"log": {"nope": 1}}', "entries"),
        (b'{"log":\n {"entries": [ {"request": 5} ]}}', "entry 1"),
    ],
)
def test_broken_files_give_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken"
    path.write_bytes(content)
    with pytest.raises(ExchangeError, match=message):
        list(import_file(path))


def test_missing_file_is_an_exchange_error(tmp_path: Path) -> None:
    with pytest.raises(ExchangeError, match="Cannot read"):
        list(import_file(tmp_path / "nope.jsonl"))


def test_export_file_is_atomic_and_errors_are_clear(tmp_path: Path) -> None:
    from inspector.core.exchange import export_file

    target = tmp_path / "out.jsonl"
    assert export_file([_capture(EVENT_BODY)], target) == 1
    assert [c.id for c in import_file(target)] == [_capture(EVENT_BODY).id]

    def broken() -> Iterator[Capture]:
        yield _capture(EVENT_BODY, id="first")
        raise KeyboardInterrupt  # e.g. a cancelled export

    with pytest.raises(KeyboardInterrupt):
        export_file(broken(), target)
    # The earlier complete file is untouched and no partial file is left.
    assert [c.id for c in import_file(target)] == [_capture(EVENT_BODY).id]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    with pytest.raises(ExchangeError, match="Cannot write"):
        export_file([_capture(EVENT_BODY)], tmp_path / "missing" / "out.jsonl")


def test_import_errors_are_plain_words(tmp_path: Path) -> None:
    """Issue 9, item 9: "line 3 is not valid UTF-8", not Python's codec text."""
    good = [json.dumps(capture_to_record(make_capture())).encode() for _ in range(2)]
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(good[0] + b"\n" + good[1] + b'\n{"id": "\xff"}\n')
    with pytest.raises(ExchangeError) as caught:
        list(import_file(jsonl))
    assert "line 3 is not valid UTF-8" in str(caught.value)
    assert "codec" not in str(caught.value)
    har = tmp_path / "bad.har"
    har.write_bytes(b'{"log":\n{"entries":\n["\xff"]}}')
    with pytest.raises(ExchangeError) as caught:
        list(import_file(har))
    assert "line 3 is not valid UTF-8" in str(caught.value)
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(good[0] + b'\n{"id": \n')
    with pytest.raises(ExchangeError) as caught:
        list(import_file(broken))
    assert "line 2 is not valid JSON" in str(caught.value)


# --------------------------------------------------------------------------- lone surrogates


def _jsonl_with(tmp_path: Path, *records: dict[str, object]) -> Path:
    # json.dumps escapes a lone surrogate as \ud800 (ensure_ascii), as a hostile file would.
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("headers", [["X-Bad", "a\ud800"]], "a header value (headers[0][1])"),
        ("headers", [["\udfff", "v"]], "a header name (headers[0][0])"),
        ("path", "/h\ud800", "the path (path)"),
        ("query", "q=\udc80", "the query (query)"),
    ],
)
def test_a_lone_surrogate_is_refused_with_its_line(
    tmp_path: Path, field: str, value: object, words: str
) -> None:
    """Issue 12, item 9: such text cannot be stored as UTF-8 and broke every later export."""
    good = capture_to_record(make_capture())
    bad = {**capture_to_record(make_capture()), field: value}
    with pytest.raises(ExchangeError) as caught:
        list(import_file(_jsonl_with(tmp_path, good, good, bad)))
    assert caught.value.where == "line 3"
    assert "line 3 has a lone surrogate" in str(caught.value)
    assert words in str(caught.value) and "not valid Unicode" in str(caught.value)


def test_a_surrogate_pair_is_text_and_imports(tmp_path: Path) -> None:
    record = {**capture_to_record(make_capture()), "headers": [["X-Emoji", "ok \U0001f600"]]}
    path = _jsonl_with(tmp_path, record)  # written as "\ud83d\ude00": a valid pair
    assert b"\\ud83d\\ude00" in path.read_bytes()
    [capture] = import_file(path)
    assert capture.headers == (("X-Emoji", "ok \U0001f600"),)


def test_a_lone_surrogate_in_har_is_refused_with_its_entry(tmp_path: Path) -> None:
    out = io.BytesIO()
    export_har([make_capture(), make_capture()], out)
    document = json.loads(out.getvalue())
    document["log"]["entries"][1]["request"]["postData"]["text"] = '{"name": "\ud800"}'
    path = tmp_path / "in.har"
    path.write_text(json.dumps(document))
    with pytest.raises(ExchangeError) as caught:
        list(import_file(path))
    assert caught.value.where == "HAR entry 2"
    assert "request.postData.text" in str(caught.value)


def test_export_survives_a_store_poisoned_by_an_older_version(tmp_path: Path) -> None:
    """A store written before import refused them holds lone surrogates (escaped in its JSON
    columns): both exports write U+FFFD for each, and the result imports again."""
    from inspector.core.jobs import NO_PROGRESS, export_job, import_job
    from inspector.core.store import CaptureQuery, Store

    db = tmp_path / "captures.sqlite3"
    with Store(db) as store:
        poisoned = store.add(make_capture())
        store.add(make_capture())
    with sqlite3.connect(db) as conn:  # what an older import wrote: escapes in the JSON text
        conn.execute(
            "UPDATE capture_data SET headers = ? WHERE seq = (SELECT seq FROM captures "
            "WHERE id = ?)",
            ('[["X-Bad", "a\\ud800b"], ["\\udfff", "v"]]', poisoned.id),
        )
        conn.execute(
            "UPDATE capture_data SET signatures_json = replace(signatures_json, "
            '\'"detail": "\', \'"detail": "\\udc80\') WHERE seq = (SELECT seq FROM captures '
            "WHERE id = ?)",
            (poisoned.id,),
        )
    with Store(db) as store:
        stored = store.get(poisoned.id)
        assert stored is not None and ("X-Bad", "a\ud800b") in stored.headers
        for fmt in ("jsonl", "har"):
            target = tmp_path / f"out.{fmt}"
            assert export_job(NO_PROGRESS, store, CaptureQuery(), target, fmt) == 2
            text = target.read_bytes().decode("utf-8")  # strict: valid UTF-8
            assert "a\ufffdb" in text
            with Store(tmp_path / f"again-{fmt}.sqlite3") as again:
                assert import_job(NO_PROGRESS, again, target)[:2] == (2, 2)
                copy = again.get(poisoned.id)
                assert copy is not None and ("X-Bad", "a\ufffdb") in copy.headers
                assert copy.body == poisoned.body


def test_a_deeply_nested_har_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.har"
    path.write_bytes(b'{"log":\n{"entries": ["[[", "\\"[",\n' + b"[" * 100_000 + b"\n")
    with pytest.raises(ExchangeError) as caught:
        list(import_file(path))
    assert "line 3 is nested too deeply to read" in str(caught.value)


def test_an_escaped_surrogate_in_a_body_is_kept_and_the_event_text_replaced(
    tmp_path: Path,
) -> None:
    body = b'{"id": "E-1", "name": "\\ud800", "entityRef": "R\\udcff", "entityType": "ORDER"}'
    event = parse_event(body)
    assert event is not None and (event.name, event.entity_ref) == ("\ufffd", "R\ufffd")
    out = io.BytesIO()
    export_jsonl([_capture(body, event=event)], out)
    path = tmp_path / "body.jsonl"
    path.write_bytes(out.getvalue())
    [capture] = import_file(path)
    assert capture.body == body and capture.event == event
