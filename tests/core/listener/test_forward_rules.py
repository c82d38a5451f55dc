"""Forwarding and response rules over real loopback HTTP: a real listener, a real SQLite
store, and a real target server that records the exact bytes it was sent."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from inspector.core import codec
from inspector.core.errors import ListenerError
from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig
from inspector.core.store import Store
from tests.core.listener.conftest import MakeListener
from tests.support.captures import event_body
from tests.support.crypto import make_rsa_key, signed_headers
from tests.support.http import build_request, connect, raw_exchange, read_reply, request
from tests.support.target import closed_port, target

RULES = {
    "rules": [
        {
            "name": "fail twice",
            "match": {
                "path": "/hooks/*",
                "method": "POST",
                "event": "OrderCreated",
                "entity_type": "ORDER",
                "attempts": [1, 2],
            },
            "respond": {
                "status": 500,
                "headers": [["Retry-After", "1"]],
                "body": '{"error":"try later"}',
            },
        },
        {"name": "slow", "match": {"path": "/slow"}, "respond": {"status": 200, "delay_ms": 1500}},
        {"name": "hang up", "match": {"path": "/drop"}, "respond": {"close": True}},
    ]
}


def _rules_file(tmp_path: Path, rules: object = RULES) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules, indent=1))
    return path


# --------------------------------------------------------------------------- forward


def test_forward_is_byte_exact_and_the_sender_gets_the_targets_answer(
    make_listener: MakeListener, store: Store
) -> None:
    body = event_body(name="OrderCreated")
    headers = [
        ("X-Custom-CASE", "one"),
        ("Content-Type", "application/json"),
        *signed_headers(make_rsa_key(1024), body),
        ("x-lower", "two"),
        ("X-Custom-CASE", "dup"),
    ]
    with target("ok") as handler:
        listener = make_listener(forward_to=handler.url + "/int")
        raw = build_request(
            "POST", "/hooks/wms?x=1&y=%20", [("Host", "example.test"), *headers], body
        )
        reply = raw_exchange(listener.port, raw)
    assert reply.status == 201
    assert reply.header("X-Handler") == "yes"
    assert reply.body == b'{"handled":1}'
    [got] = handler.received
    assert got.method == "POST"
    assert got.target == "/int/hooks/wms?x=1&y=%20"
    assert got.body == body
    [capture] = list(store.iter_captures())
    # Names in order and case as captured; only Host is rewritten (in its place).
    assert [n for n, _ in got.headers] == [n for n, _ in capture.headers]
    assert got.headers[0] == ("Host", f"127.0.0.1:{handler.port}")
    assert got.headers[1:] == list(capture.headers[1:])
    assert capture.body == body
    # The target's answer and timing are recorded beside the capture.
    assert capture.response.status == 201
    assert capture.forward is not None and capture.forward.status == 201
    assert capture.forward.body == b'{"handled":1}'
    assert capture.forward.elapsed_ms > 0
    assert capture.forward.url == f"{handler.url}/int/hooks/wms?x=1&y=%20"


def test_forward_drops_hop_by_hop_headers_only(make_listener: MakeListener) -> None:
    with target("ok") as handler:
        listener = make_listener(forward_to=handler.url)
        raw = build_request(
            "PUT",
            "/a",
            [("Host", "h"), ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"), ("X-Kept", "2")],
            b"hi",
        )
        assert raw_exchange(listener.port, raw).status == 201
    [got] = handler.received
    assert got.method == "PUT"
    assert [n for n, _ in got.headers] == ["Host", "X-Kept", "Content-Length"]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("down", "connection refused"),
        ("slow", "no answer within 0.5 s"),
        ("garbage", "not valid HTTP"),
        ("drop", ""),
    ],
)
def test_a_failing_target_gets_the_sender_the_fallback(
    make_listener: MakeListener, store: Store, mode: str, reason: str
) -> None:
    with target("slow" if mode == "slow" else mode, delay=2.0) as handler:
        url = f"http://127.0.0.1:{closed_port()}" if mode == "down" else handler.url
        listener = make_listener(forward_to=url, forward_timeout=0.5, forward_fallback=504)
        reply = request(listener.port, "POST", "/hooks/x", b"{}")
    assert reply.status == 504
    assert reply.json()["status"] == "forward_failed"
    assert reason in reply.json()["reason"]
    [capture] = list(store.iter_captures())
    assert capture.body == b"{}"  # stored before forwarding, whatever happened
    assert capture.forward is not None and capture.forward.error
    assert reason in capture.forward.error
    assert capture.forward.summary.startswith("forward failed: ")
    row = store.row(capture.id)
    assert row is not None and row.forward_error == capture.forward.error
    assert row.response_status == 504


def test_the_default_fallback_is_502(make_listener: MakeListener) -> None:
    listener = make_listener(forward_to=f"http://127.0.0.1:{closed_port()}")
    assert request(listener.port, "POST", "/", b"x").status == 502


def test_a_slow_target_does_not_block_other_requests(make_listener: MakeListener) -> None:
    with target("slow", delay=1.5) as slow, target("ok") as fast:
        listener = make_listener(forward_to=fast.url, forward_paths=(("/slow*", slow.url),))
        results: list[int] = []
        thread = threading.Thread(
            target=lambda: results.append(request(listener.port, "POST", "/slow", b"1").status)
        )
        thread.start()
        time.sleep(0.2)
        started = time.monotonic()
        assert request(listener.port, "POST", "/fast", b"2").status == 201
        assert time.monotonic() - started < 1.0
        thread.join()
    assert results == [201]
    assert [r.target for r in slow.received] == ["/slow"]
    assert [r.target for r in fast.received] == ["/fast"]


def test_a_bad_forward_url_refuses_to_start(make_listener: MakeListener) -> None:
    with pytest.raises(ListenerError, match="not an http"):
        make_listener(forward_to="ftp://x")


# --------------------------------------------------------------------------- rules


def _fluent_retry(port: int, body: bytes, delays: list[float]) -> list[int]:
    """Deliver like Fluent: the same event again after each delay while the answer is not 2xx."""
    statuses: list[int] = []
    for delay in delays:
        time.sleep(delay)
        status = request(
            port, "POST", "/hooks/orders", body, [("Content-Type", "application/json")]
        ).status
        statuses.append(status)
        if 200 <= status < 300:
            break
    return statuses


def test_a_client_retrying_like_fluent_sees_the_fail_twice_rule(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    listener = make_listener(rules_file=_rules_file(tmp_path))
    body = event_body(name="OrderCreated")
    # Fluent retries at 0/+2/+4/+8 s; shortened a hundredfold here.
    assert _fluent_retry(listener.port, body, [0, 0.02, 0.04, 0.08]) == [500, 500, 200]
    captures = list(store.iter_captures())
    assert [c.attempt for c in captures] == [1, 2, 3]
    assert [c.rule for c in captures] == ["fail twice", "fail twice", None]
    assert [c.response.status for c in captures] == [500, 500, 200]
    assert captures[0].response.headers == (("Retry-After", "1"),)
    assert captures[0].response.body == b'{"error":"try later"}'
    record = codec.encode_capture(captures[0])
    assert record["response"]["rule"] == "fail twice"
    rows = store.page()
    assert [r.rule for r in reversed(rows)] == ["fail twice", "fail twice", None]


def test_the_delay_rule_does_not_slow_a_parallel_request(
    make_listener: MakeListener, tmp_path: Path
) -> None:
    listener = make_listener(rules_file=_rules_file(tmp_path))
    slow: list[float] = []

    def delayed() -> None:
        started = time.monotonic()
        assert request(listener.port, "POST", "/slow", b"{}").status == 200
        slow.append(time.monotonic() - started)

    thread = threading.Thread(target=delayed)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert request(listener.port, "POST", "/other", b"{}").status == 200
    assert time.monotonic() - started < 0.5
    thread.join()
    assert slow and slow[0] >= 1.4


def test_the_close_rule_hangs_up_after_storing(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    listener = make_listener(rules_file=_rules_file(tmp_path))
    with connect(listener.port) as sock:
        sock.sendall(build_request("POST", "/drop", [("Host", "h")], b"kept"))
        with pytest.raises(ConnectionError):
            read_reply(sock)
    [capture] = list(store.iter_captures())
    assert capture.body == b"kept"
    assert capture.rule == "hang up"


def test_a_rule_can_forward(make_listener: MakeListener, store: Store, tmp_path: Path) -> None:
    with target("ok") as handler:
        rules = {
            "rules": [
                {"name": "to my handler", "match": {"path": "/wms/*"}, "forward": handler.url}
            ]
        }
        listener = make_listener(rules_file=_rules_file(tmp_path, rules))
        assert request(listener.port, "POST", "/wms/1", b"a").status == 201
        assert request(listener.port, "POST", "/other", b"b").status == 200
    assert [r.target for r in handler.received] == ["/wms/1"]
    first, second = store.iter_captures()
    assert first.rule == "to my handler" and first.forward is not None
    assert second.rule is None and second.forward is None


def test_no_rule_matching_falls_back_to_forward_to(
    make_listener: MakeListener, tmp_path: Path
) -> None:
    with target("ok") as handler:
        listener = make_listener(rules_file=_rules_file(tmp_path), forward_to=handler.url)
        assert request(listener.port, "POST", "/slow-not", b"a").status == 201
    assert [r.target for r in handler.received] == ["/slow-not"]


def test_rules_apply_live_when_the_file_changes(
    make_listener: MakeListener, tmp_path: Path
) -> None:
    path = _rules_file(tmp_path, {"rules": []})
    listener = make_listener(rules_file=path)
    assert request(listener.port, "POST", "/x", b"").status == 200
    path.write_text(
        json.dumps({"rules": [{"name": "teapot", "match": {}, "respond": {"status": 418}}]})
    )
    assert listener.reload_rules() is None
    assert request(listener.port, "POST", "/x", b"").status == 418
    # A broken edit keeps the rules in force and says why.
    path.write_text('{"rules": [\n  {"name": 1}\n]}')
    problem = listener.reload_rules()
    assert problem is not None and "line 2" in problem
    assert request(listener.port, "POST", "/x", b"").status == 418


def test_the_listener_does_not_start_on_a_bad_rules_file(
    make_listener: MakeListener, tmp_path: Path
) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [\n {"name": "a", "match": {}, "respond": {"status": 42}}\n]}')
    with pytest.raises(ListenerError, match="line 2"):
        make_listener(rules_file=path)


def test_rejected_requests_keep_their_answer(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    rules = {"rules": [{"name": "all", "match": {}, "respond": {"status": 500}}]}
    listener = make_listener(rules_file=_rules_file(tmp_path, rules), body_limit=10)
    assert request(listener.port, "POST", "/", b"x" * 100).status == 413
    [capture] = list(store.iter_captures())
    assert capture.rule is None


# --------------------------------------------------------------------------- child process


def test_the_window_s_child_listener_forwards_and_reloads_rules(
    tmp_path: Path, keyring: KeyRing
) -> None:
    from inspector.core.listener import ListenerProcess

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    parent_store = Store.open(data_dir)
    rules = data_dir / "rules.json"  # not there yet: no rules until the editor saves
    with target("ok") as handler:
        child = ListenerProcess(
            parent_store,
            keyring,
            ListenerConfig(
                port=0,
                forward_paths=(("/wms/*", handler.url),),
                rules_file=rules,
                rules_must_exist=False,
            ),
        )
        try:
            child.start()
            assert request(child.port, "POST", "/wms/a", b"1").status == 201
            assert request(child.port, "POST", "/x", b"2").status == 200
            rules.write_text(json.dumps({"rules": [{"name": "t", "respond": {"status": 418}}]}))
            assert child.reload_rules() is None
            assert request(child.port, "POST", "/x", b"3").status == 418
            rules.write_text("{")
            problem = child.reload_rules()
            assert problem is not None and "line 1" in problem
        finally:
            child.stop()
            parent_store.close()
    assert [r.target for r in handler.received] == ["/wms/a"]
