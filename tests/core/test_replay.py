"""Replay against a real local target: byte-exact resends whose original signatures verify
at the target, edited bodies re-signed (checked by the openssl command line with the public
key), failures recorded with their original and exported as its "replays" list."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core.capture import Capture, SignatureHeader, Verdict
from inspector.core.errors import KeyLoadError
from inspector.core.exchange import export_jsonl, import_file
from inspector.core.keys import load_public_key
from inspector.core.replay import EDITED_WARNING, load_signing_key, plan, replay
from inspector.core.signatures import verify_headers
from inspector.core.store import Store
from tests.support.captures import event_body, make_capture
from tests.support.crypto import (
    make_rsa_key,
    openssl_available,
    private_pem,
    public_pem,
    signed_headers,
    spki_b64,
)
from tests.support.target import Received, closed_port, target


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "captures.sqlite3")
    yield s
    s.close()


def _signed_capture(store: Store) -> Capture:
    body = event_body(name="OrderCreated")
    headers = (
        ("Host", "example.ngrok.app"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *signed_headers(make_rsa_key(1024), body),
        ("X-Trace-ID", "abc"),
    )
    return store.add(make_capture(body=body, headers=headers, target="/hooks/wms?x=1"))


def _verdicts(got: Received, key_b64: str) -> list[Verdict]:
    key = load_public_key(key_b64, "at-target")
    checks = verify_headers(tuple(got.headers), got.body, (key,))
    return [c.verdict for c in checks]


def test_a_byte_exact_replay_verifies_at_the_target(store: Store) -> None:
    capture = _signed_capture(store)
    with target("ok") as handler:
        record = replay(capture, handler.url + "/int")
    [got] = handler.received
    assert got.target == "/int/hooks/wms?x=1"
    assert got.body == capture.body
    assert [n for n, _ in got.headers] == [n for n, _ in capture.headers]
    assert got.headers[1:] == list(capture.headers[1:])
    assert _verdicts(got, spki_b64(make_rsa_key(1024))) == [Verdict.VALID, Verdict.VALID]
    assert record.ok and record.status == 201 and not record.edited
    assert record.signed_with is None and record.sent_body is None
    assert record.body == b'{"handled":1}' and record.elapsed_ms > 0


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command line")
def test_an_edited_body_is_re_signed_and_openssl_verifies_both_headers(
    store: Store, tmp_path: Path
) -> None:
    capture = _signed_capture(store)
    test_key = make_rsa_key(1024, index=1)
    key_file = tmp_path / "my-test-key.pem"
    key_file.write_bytes(private_pem(test_key))
    public = tmp_path / "pub.pem"
    public.write_bytes(public_pem(test_key))
    edited = capture.body.replace(b"OrderCreated", b"OrderCancelled")
    with target("ok") as handler:
        record = replay(capture, handler.url, body=edited, key=load_signing_key(key_file))
    [got] = handler.received
    assert got.body == edited
    assert got.header("Content-Length") == str(len(edited))
    assert record.edited and record.signed_with == "my-test-key"
    assert record.badge == "re-signed (test key my-test-key)"
    assert record.sent_body == edited
    body_file = tmp_path / "body"
    body_file.write_bytes(got.body)
    for header, digest in (("flex.signature", "-md5"), ("fluent-signature", "-sha512")):
        value = got.header(header)
        assert value is not None
        sig = tmp_path / f"{header}.sig"
        sig.write_bytes(base64.b64decode(value))
        result = subprocess.run(
            [
                "openssl",
                "dgst",
                digest,
                "-verify",
                str(public),
                "-signature",
                str(sig),
                str(body_file),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and "Verified OK" in result.stdout, result
    # Same names, same places: only the two values changed.
    assert [n for n, _ in got.headers] == [n for n, _ in capture.headers]


def test_an_edited_body_without_a_key_keeps_the_headers_and_says_so(store: Store) -> None:
    capture = _signed_capture(store)
    what = plan(capture, "http://127.0.0.1:1", body=b"{}")
    assert what.warning == EDITED_WARNING and what.signed_with is None
    original = {n: v for n, v in capture.headers}
    sent = {n: v for n, v in what.headers}
    for header in SignatureHeader:
        assert sent[header.value] == original[header.value]
    assert sent["Content-Length"] == "2"


def test_an_undeliverable_replay_is_recorded_with_why(store: Store) -> None:
    capture = _signed_capture(store)
    record = replay(capture, f"http://127.0.0.1:{closed_port()}", timeout=2)
    assert not record.ok and record.status is None
    assert record.error is not None and "connection refused" in record.error
    store.add_replay(capture.id, record)
    assert store.replays(capture.id) == (record,)


def test_replays_show_with_their_original_in_the_export_and_survive_import(
    store: Store, tmp_path: Path
) -> None:
    capture = _signed_capture(store)
    with target("500") as handler:
        failed = replay(capture, handler.url, body=b"{}")
    store.add_replay(capture.id, failed)
    down = replay(capture, f"http://127.0.0.1:{closed_port()}", timeout=2)
    store.add_replay(capture.id, down)
    loaded = store.get(capture.id)
    assert loaded is not None and loaded.replays == (failed, down)
    out = io.BytesIO()
    export_jsonl(store.iter_captures(), out)
    record = json.loads(out.getvalue())
    assert [r["status"] for r in record["replays"]] == [500, None]
    assert record["replays"][0]["edited"] is True
    assert base64.b64decode(record["replays"][0]["sent_body_b64"]) == b"{}"
    assert "connection refused" in record["replays"][1]["error"]
    exported = tmp_path / "out.jsonl"
    exported.write_bytes(out.getvalue())
    with Store(tmp_path / "other.sqlite3") as other:
        other.add_many(import_file(exported))
        again = other.get(capture.id)
        assert again is not None and again.replays == (failed, down)
        # Deleting the original takes its replays along.
        other.delete([capture.id])
        assert other.replays(capture.id) == ()


def test_a_public_key_file_is_refused_for_signing(tmp_path: Path) -> None:
    public = tmp_path / "pub.pem"
    public.write_bytes(public_pem(make_rsa_key(1024)))
    with pytest.raises(KeyLoadError, match="private"):
        load_signing_key(public)
