"""Signed-only mode and the secret path prefix, over real loopback HTTP to the real
listener, with RSA keys generated here and signatures made by the ``openssl`` CLI."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from inspector.core.capture import Verdict
from inspector.core.errors import ListenerError
from inspector.core.keys import KeyRing
from inspector.core.listener import Listener, ListenerConfig
from inspector.core.listener.gates import (
    PathPrefix,
    generate_path_prefix,
    normalize_path_prefix,
    path_prefix_problem,
)
from inspector.core.store import Store
from tests.core.listener.conftest import KEY_NAME, MakeListener
from tests.support.captures import event_body
from tests.support.crypto import (
    FLUENT_HEADER,
    make_rsa_key,
    openssl_available,
    signed_headers,
    spki_b64,
)
from tests.support.http import build_request, connect, read_reply, request

needs_openssl = pytest.mark.skipif(not openssl_available(), reason="needs the openssl CLI")
PREFIX = "/h/Zq3-secret_Prefix9"


# -- signed-only ----------------------------------------------------------------------------


@needs_openssl
def test_signed_only_lets_a_verified_webhook_through(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    listener = make_listener(require_signature=True)
    body = event_body(name="ORDER_CREATED")
    reply = request(
        listener.port,
        "POST",
        "/hooks",
        body,
        signed_headers(make_rsa_key(), body, tmp_dir=tmp_path),
    )
    assert reply.status == 200, reply
    capture = store.get(reply.json()["id"])
    assert capture is not None and capture.rejected is None and capture.body == body


@needs_openssl
def test_one_valid_header_is_enough_and_the_other_verdict_is_kept(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    listener = make_listener(require_signature=True)
    body = event_body()
    flex, _ = signed_headers(make_rsa_key(), body, tmp_dir=tmp_path)
    wrong = signed_headers(make_rsa_key(1024, index=1), body, tmp_dir=tmp_path / "w")[1]
    reply = request(listener.port, "POST", "/hooks", body, [flex, wrong])
    assert reply.status == 200, reply
    capture = store.get(reply.json()["id"])
    assert capture is not None
    assert [c.verdict for c in capture.signatures] == [Verdict.VALID, Verdict.INVALID]


@needs_openssl
def test_unverified_requests_get_401_and_are_recorded_rejected(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    listener = make_listener(require_signature=True)
    body = event_body()
    wrong = signed_headers(make_rsa_key(1024, index=1), body, tmp_dir=tmp_path)
    cases = {
        "unsigned": ([], "no flex.signature or fluent-signature header"),
        "wrong key": (wrong, "flex.signature invalid, fluent-signature invalid"),
        "garbage": ([(FLUENT_HEADER, "not base64!")], "fluent-signature malformed"),
    }
    for name, (headers, why) in cases.items():
        reply = request(listener.port, "POST", "/hooks", body, headers)
        assert reply.status == 401, name
        payload = reply.json()
        assert payload["status"] == "rejected" and why in payload["reason"], (name, payload)
        capture = store.get(payload["id"])
        assert capture is not None, name
        assert capture.rejected == payload["reason"]
        assert capture.response.status == 401
        # Headers and verdicts are kept; the unverified body is not (disk stays bounded).
        assert capture.body == b"" and capture.body_size == len(body)
        assert all(pair in capture.headers for pair in headers), name
        assert all(c.verdict is not Verdict.VALID for c in capture.signatures), name
        assert len(capture.signatures) == 2, name
    assert store.count() == 3


def test_signed_only_refuses_to_start_without_a_key(store: Store, tmp_path: Path) -> None:
    listener = Listener(
        store, KeyRing(tmp_path / "empty.json"), ListenerConfig(port=0, require_signature=True)
    )
    with pytest.raises(ListenerError) as caught:
        listener.start()
    message = str(caught.value)
    assert "needs at least one Fluent public key" in message
    assert "keys add" in message and "Keys" in message
    listener.stop()


@needs_openssl
def test_a_key_added_while_listening_lets_the_next_webhook_through(
    store: Store, tmp_path: Path
) -> None:
    ring = KeyRing(tmp_path / "keys.json")
    ring.add("other", spki_b64(make_rsa_key(1024, index=1)))
    listener = Listener(store, ring, ListenerConfig(port=0, require_signature=True))
    listener.start()
    try:
        body = event_body()
        headers = signed_headers(make_rsa_key(), body, tmp_dir=tmp_path)
        assert request(listener.port, "POST", "/", body, headers).status == 401
        # Another process (keys add) writes the file; the listener re-reads it.
        KeyRing(tmp_path / "keys.json").add(KEY_NAME, spki_b64(make_rsa_key()))
        assert listener.reload_keys()
        reply = request(listener.port, "POST", "/", body, headers)
        assert reply.status == 200
        capture = store.get(reply.json()["id"])
        assert capture is not None and capture.signatures[1].key_name == KEY_NAME
        # And every key removed: refused, saying why.
        KeyRing(tmp_path / "keys.json").remove(KEY_NAME)
        KeyRing(tmp_path / "keys.json").remove("other")
        assert listener.reload_keys()
        reply = request(listener.port, "POST", "/", body, headers)
        assert reply.status == 401 and "no public key is configured" in reply.json()["reason"]
    finally:
        listener.stop()


def test_without_signed_only_unsigned_requests_are_accepted(make_listener: MakeListener) -> None:
    assert request(make_listener().port, "POST", "/", b"{}", []).status == 200


# -- path prefix -----------------------------------------------------------------------------


def test_paths_under_the_prefix_are_served_and_stored_as_received(
    make_listener: MakeListener, store: Store
) -> None:
    listener = make_listener(path_prefix=PREFIX + "/")
    assert listener.status.url == f"http://127.0.0.1:{listener.port}{PREFIX}"
    for target in (PREFIX, PREFIX + "/", PREFIX + "/orders?x=1"):
        reply = request(listener.port, "POST", target, b'{"a":1}')
        assert reply.status == 200, target
        capture = store.get(reply.json()["id"])
        assert capture is not None and capture.target == target
    assert listener.refused_outside_prefix == 0


def test_everything_else_gets_404_is_not_stored_and_is_counted(
    make_listener: MakeListener, store: Store
) -> None:
    listener = make_listener(path_prefix=PREFIX)
    outside = ["/", "/h", "/h/", PREFIX + "x", PREFIX[:-1], "/H/" + PREFIX[3:], "/hooks", "/h%2F"]
    for method in ("POST", "GET"):
        for target in outside:
            reply = request(listener.port, method, target, b"secret body")
            assert reply.status == 404, target
            assert reply.json() == {"status": "not_found"}
            assert reply.header("Connection") == "close"
    assert store.count() == 0
    assert listener.refused_outside_prefix == 2 * len(outside)
    # A restart counts afresh.
    listener.stop()
    listener.start()
    assert listener.refused_outside_prefix == 0
    assert request(listener.port, "POST", "/", b"").status == 404
    assert listener.refused_outside_prefix == 1


def test_a_refused_body_is_not_read(make_listener: MakeListener, store: Store) -> None:
    listener = make_listener(path_prefix=PREFIX, body_limit=1024)
    # Declares 50 MB and sends none of it: answered without waiting for the body (no 413),
    # and the connection is not kept for another request.
    with connect(listener.port) as sock:
        sock.sendall(b"POST /wp-login.php HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n")
        reply = read_reply(sock)
        assert reply.status == 404 and reply.header("Connection") == "close"
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""
    assert store.count() == 0
    # The listener still serves under the prefix on a new connection.
    assert request(listener.port, "POST", PREFIX, b"{}").status == 200


def test_prefix_and_signed_only_together(make_listener: MakeListener, store: Store) -> None:
    listener = make_listener(path_prefix=PREFIX, require_signature=True)
    assert request(listener.port, "POST", "/", b"{}").status == 404
    assert request(listener.port, "POST", PREFIX, b"{}").status == 401
    assert store.count() == 1 and listener.refused_outside_prefix == 1


def test_a_bad_prefix_refuses_to_start(store: Store, keyring: KeyRing) -> None:
    listener = Listener(store, keyring, ListenerConfig(port=0, path_prefix="h/x"))
    with pytest.raises(ListenerError, match=r"must start with '/'.*--path-prefix"):
        listener.start()


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("h/abc", "must start with '/'"),
        ("/h/abc?x=1", "without '?' or '#'"),
        ("/h/abc#x", "without '?' or '#'"),
        ("/h/../abc", "'..'"),
        ("/h/..abc", "'..'"),
        ("/h/./abc", "'.' segments"),
        ("/h/a\x1b[2Jb", "control characters"),
        ("/h/a\nb", "control characters"),
        ("/h/a b", "' '"),
        ("/h/a%41", "'%'"),
        ("/h/ä", "'ä'"),
        ("/", "every path"),
        ("//", "every path"),
        ("/h//abc", "empty segment"),
        ("/" + "a" * 250, "at most 200"),
    ],
)
def test_prefix_validation_says_what_is_wrong(prefix: str, why: str) -> None:
    problem = path_prefix_problem(prefix)
    assert problem is not None and why in problem
    assert "\x1b" not in problem and "\n" not in problem  # shown escaped
    with pytest.raises(ValueError):
        normalize_path_prefix(prefix)


def test_generated_prefixes_are_valid_and_unguessable() -> None:
    made = {generate_path_prefix() for _ in range(50)}
    assert len(made) == 50
    for prefix in made:
        assert prefix.startswith("/h/") and len(prefix) == 3 + 22
        assert path_prefix_problem(prefix) is None
    assert normalize_path_prefix("/h/abc/") == "/h/abc"
    assert normalize_path_prefix("") is None and normalize_path_prefix(None) is None


def test_the_gate_matches_whole_segments_only() -> None:
    gate = PathPrefix("/h/abc", [])
    assert gate.serves("/h/abc") and gate.serves("/h/abc/") and gate.serves("/h/abc/x/y")
    for path in ("/h/abcd", "/h/ab", "/h/", "/", "", "/H/abc", "/x/h/abc", "/h/abc\xff"):
        assert not gate.serves(path), path
    assert not gate.serves("/h/abcd")


def test_raw_garbage_paths_outside_are_refused_without_a_trace(
    make_listener: MakeListener, store: Store
) -> None:
    listener = make_listener(path_prefix=PREFIX)
    data = build_request("POST", "/\x1b]0;pwned\x07", [("Host", "x")], b"x")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        sock.sendall(data)
        status = read_reply(sock).status
    assert status in (400, 404)
    assert store.count() == 0
