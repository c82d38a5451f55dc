"""A hostile client against the real listener (issue 12): each case says what it gets back
(status or close), whether it is recorded, and that a well-formed client on another
connection keeps getting 200s while the hostile one is at it.

Small timeouts through ListenerConfig keep this fast; nothing asserts how long anything took.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from inspector.core.listener import Listener
from inspector.core.store import Store
from tests.core.listener.conftest import MakeListener
from tests.support.http import build_request, connect, request

HEADER_TIMEOUT = 0.5
READ_TIMEOUT = 0.5


@pytest.fixture
def listener(make_listener: MakeListener) -> Listener:
    return make_listener(header_timeout=HEADER_TIMEOUT, read_timeout=READ_TIMEOUT)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


class Conn:
    """A raw connection that reads answers one after another (pipelining) and sees EOF."""

    def __init__(self, port: int) -> None:
        self.sock = connect(port, timeout=10.0)
        self.buffer = b""

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return False
        self.buffer += chunk
        return bool(chunk)

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.buffer:
            assert self._more(), f"closed before an answer: {self.buffer!r}"
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), status_line
        headers = [(n, v) for n, _, v in (line.partition(": ") for line in lines)]
        answer = Answer(int(status_line.split()[1]), headers, b"")
        length = int(answer.header("Content-Length") or 0)
        while len(self.buffer) < length:
            assert self._more(), "closed mid-answer"
        answer.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return answer

    def closed(self) -> bool:
        """True when the server closed the connection (after anything already answered)."""
        while True:
            if self.buffer:
                return False
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buffer += chunk


def good(port: int, store: Store) -> None:
    """A well-formed webhook on its own connection: 200 and stored."""
    reply = request(port, "POST", "/good", b'{"ok":true}', [("Content-Type", "application/json")])
    assert reply.status == 200, reply
    assert store.get(reply.json()["id"]) is not None


def recorded(store: Store, answer: Answer) -> bool:
    capture_id = answer.json().get("id")
    return isinstance(capture_id, str) and store.get(capture_id) is not None


def trickle(conn: Conn, data: bytes, pause: float = 0.05) -> bytes:
    """Send ``data`` a byte at a time until the server answers or closes; what was left."""
    for i in range(len(data)):
        readable, _, _ = select.select([conn.sock], [], [], pause)
        if readable:
            return data[i:]
        try:
            conn.sock.send(data[i : i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return data[i:]
    return b""


SLOW_HEAD = b"POST /slow HTTP/1.1\r\nHost: x\r\n" + b"X-Drip: " + b"d" * 400 + b"\r\n\r\n"


# -- item 15: any RFC 9110 token is a method ------------------------------------------------


@pytest.mark.parametrize("method", ["FOOBAR", "MYMETHOD", "post", "M-SEARCH", "PROPFIND", "x!#$"])
def test_any_token_method_is_answered_and_recorded(
    listener: Listener, store: Store, method: str
) -> None:
    with Conn(listener.port) as conn:
        conn.send(build_request(method, "/m?x=1", [("Host", "x")], b'{"m":1}'))
        good(listener.port, store)
        answer = conn.answer()
    assert answer.status == 200
    capture = store.get(str(answer.json()["id"]))
    assert capture is not None
    assert capture.method == method
    assert capture.body == b'{"m":1}'


@pytest.mark.parametrize("line", [b"GE(T / HTTP/1.1", b"G\x00T / HTTP/1.1", b"GET  / HTTP/1.1"])
def test_a_method_that_is_no_token_is_400_and_not_recorded(
    listener: Listener, store: Store, line: bytes
) -> None:
    with Conn(listener.port) as conn:
        conn.send(line + b"\r\nHost: x\r\n\r\n")
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 400
        assert not recorded(store, answer)
        assert conn.closed()
    assert store.count() == 1


# -- item 16: half-close and trailing bytes -------------------------------------------------


def test_a_complete_request_then_half_close_is_answered_and_recorded(
    listener: Listener, store: Store
) -> None:
    with Conn(listener.port) as conn:
        conn.send(build_request("POST", "/half", [("Host", "x")], b'{"half":1}'))
        conn.sock.shutdown(socket.SHUT_WR)
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 200
        assert recorded(store, answer)
        assert conn.closed()


def test_pipelined_requests_then_half_close_are_all_answered_in_order(
    listener: Listener, store: Store
) -> None:
    with Conn(listener.port) as conn:
        conn.send(
            b"".join(
                build_request("POST", f"/p?i={i}", [("Host", "x")], b"%d" % i) for i in range(3)
            )
        )
        conn.sock.shutdown(socket.SHUT_WR)
        answers = [conn.answer() for _ in range(3)]
        assert conn.closed()
    captures = [store.get(str(a.json()["id"])) for a in answers]
    assert [a.status for a in answers] == [200, 200, 200]
    assert [c.query if c else None for c in captures] == ["i=0", "i=1", "i=2"]


def test_a_complete_request_followed_by_garbage_is_recorded_then_400(
    listener: Listener, store: Store
) -> None:
    with Conn(listener.port) as conn:
        conn.send(
            build_request("POST", "/first", [("Host", "x")], b"{}") + b"\x00\x01garbage\r\n\r\n"
        )
        first = conn.answer()
        second = conn.answer()
        assert conn.closed()
    assert first.status == 200
    assert recorded(store, first)
    assert second.status == 400
    assert not recorded(store, second)
    assert store.count() == 1
    good(listener.port, store)


def test_pipelining_is_answered_in_order(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(
            b"".join(
                build_request("PUT", f"/q?i={i}", [("Host", "x")], b"x" * i) for i in range(10)
            )
        )
        good(listener.port, store)
        answers = [conn.answer() for _ in range(10)]
        # Still open: pipelining does not end the connection.
        conn.send(build_request("POST", "/last", [("Host", "x")], b""))
        assert conn.answer().status == 200
    captures = [store.get(str(a.json()["id"])) for a in answers]
    assert [c.query if c else None for c in captures] == [f"i={i}" for i in range(10)]
    assert [c.body if c else None for c in captures] == [b"x" * i for i in range(10)]


# -- HTTP/1.0 -------------------------------------------------------------------------------


def test_http_1_0_closes_unless_keep_alive(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
        answer = conn.answer()
        assert answer.status == 200 and recorded(store, answer)
        assert answer.header("Connection") == "close"
        assert conn.closed()
    with Conn(listener.port) as conn:
        for i in range(2):
            conn.send(
                b"POST /ka HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n%d" % i
            )
            answer = conn.answer()
            assert answer.status == 200 and recorded(store, answer)
            assert answer.header("Connection") == "keep-alive"
    assert store.count() == 3


def test_http_2_request_line_is_505(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
        assert conn.answer().status == 505
        assert conn.closed()
    assert store.count() == 0


# -- smuggling and framing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nX-A: 1\r\n\tcontinued\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nX-A : 1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nX-A: a\nX-B: b\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nBad[Name]: 1\r\n\r\n", 400),
        (b"POST /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: x\n\n", 400),
        (b"POST / HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417),
    ],
)
def test_ambiguous_or_malformed_heads_are_refused_unrecorded_and_closed(
    listener: Listener, store: Store, data: bytes, status: int
) -> None:
    with Conn(listener.port) as conn:
        conn.send(data)
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == status
        assert answer.header("Connection") == "close"
        assert not recorded(store, answer)
        assert conn.closed()
    assert store.count() == 1


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",  # not hex
        b"3\r\nabcX\r\n0\r\n\r\n",  # data not followed by CRLF
        b"3\nabc\r\n0\r\n\r\n",  # bare LF after the size
        b"-3\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabc\r\n0\r\nbad trailer\r\n\r\n",
    ],
)
def test_broken_chunked_body_is_400_recorded_as_rejected_and_closed(
    listener: Listener, store: Store, chunks: bytes
) -> None:
    with Conn(listener.port) as conn:
        conn.send(
            b"POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
        )
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 400
        assert conn.closed()
    capture = store.get(str(answer.json()["id"]))
    assert capture is not None
    assert capture.rejected is not None and "malformed chunked body" in capture.rejected
    assert capture.body == b""


def test_content_length_smaller_than_the_body(listener: Listener, store: Store) -> None:
    # The bytes after the declared length are the next request: here not one, so 400.
    with Conn(listener.port) as conn:
        conn.send(b"POST /short HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}EXTRA BYTES\r\n\r\n")
        first = conn.answer()
        second = conn.answer()
        assert conn.closed()
    capture = store.get(str(first.json()["id"]))
    assert first.status == 200 and capture is not None and capture.body == b"{}"
    assert second.status == 400
    assert store.count() == 1


def test_content_length_larger_than_the_body_times_out_recorded(
    listener: Listener, store: Store
) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"POST /long HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 40)
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 408
        assert conn.closed()
    capture = store.get(str(answer.json()["id"]))
    assert capture is not None and capture.body_size == 40
    assert capture.rejected is not None and "not received within" in capture.rejected


# -- size limits ----------------------------------------------------------------------------


def test_ten_thousand_headers_get_431_unrecorded(listener: Listener, store: Store) -> None:
    head = b"POST / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000))
    with Conn(listener.port) as conn:
        conn.send(head + b"Content-Length: 0\r\n\r\n")
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 431
        assert conn.closed()
    assert store.count() == 1


def test_many_headers_within_the_size_limit_are_still_too_many(
    listener: Listener, store: Store
) -> None:
    head = b"POST / HTTP/1.1\r\n" + b"".join(b"A: %d\r\n" % i for i in range(300))
    with Conn(listener.port) as conn:
        conn.send(head + b"\r\n")
        assert conn.answer().status == 431
    assert store.count() == 0


def test_a_one_megabyte_header_value_gets_431_unrecorded(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        # Refused before it is all sent, maybe.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(b"POST / HTTP/1.1\r\nX-Big: " + b"v" * (1024 * 1024) + b"\r\n\r\n")
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 431
        assert conn.closed()
    assert store.count() == 1


def test_an_overlong_request_line_gets_414(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n")
        assert conn.answer().status == 414
        assert conn.closed()
    assert store.count() == 0


# -- item 4: slow and idle clients, connection cap -------------------------------------------


def test_slowloris_on_headers_gets_408_unrecorded(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"P")
        left = trickle(conn, SLOW_HEAD[1:])
        assert left, "the whole head went out before the server gave up"
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 408
        assert "headers not received" in str(answer.json()["reason"])
        assert conn.closed()
    assert store.count() == 1


def test_slowloris_on_the_body_gets_408_recorded(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"POST /drip HTTP/1.1\r\nContent-Length: 400\r\n\r\n")
        left = trickle(conn, b"b" * 400)
        assert left
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 408
        assert conn.closed()
    capture = store.get(str(answer.json()["id"]))
    assert capture is not None and capture.rejected is not None
    assert "not received within" in capture.rejected
    # What had arrived when the timeout struck (a byte may still have been on its way).
    assert capture.body_size is not None and 0 < capture.body_size <= 400 - len(left)


def test_an_idle_new_connection_is_closed_without_an_answer(
    listener: Listener, store: Store
) -> None:
    with Conn(listener.port) as conn:
        good(listener.port, store)
        assert conn.closed()
        assert conn.buffer == b""
    assert store.count() == 1


def test_keep_alive_idle_is_not_the_header_timeout(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(build_request("POST", "/1", [("Host", "x")], b"1"))
        assert conn.answer().status == 200
        # Idle for longer than the header timeout: the keep-alive timeout (300 s) applies.
        readable, _, _ = select.select([conn.sock], [], [], HEADER_TIMEOUT * 3)
        assert readable == []
        conn.send(build_request("POST", "/2", [("Host", "x")], b"2"))
        assert conn.answer().status == 200
    assert store.count() == 2


def test_disconnect_mid_body_is_not_recorded(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"POST /gone HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        wait_until(lambda: listener._in_flight == 1)
    wait_until(lambda: listener._in_flight == 0)
    good(listener.port, store)
    assert store.count() == 1


def test_half_close_mid_body_is_not_recorded(listener: Listener, store: Store) -> None:
    with Conn(listener.port) as conn:
        conn.send(b"POST /gone HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.closed()
        assert conn.buffer == b""
    wait_until(lambda: listener._in_flight == 0)
    assert store.count() == 0


def test_tls_client_hello_on_the_plain_port_is_400(listener: Listener, store: Store) -> None:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello[0] == 0x16
    with Conn(listener.port) as conn:
        conn.send(hello)
        good(listener.port, store)
        answer = conn.answer()
        assert answer.status == 400
        assert "plain HTTP port" in str(answer.json()["reason"])
        assert conn.closed()
    assert store.count() == 1


def test_beyond_max_connections_a_client_gets_503_and_close(
    make_listener: MakeListener, store: Store
) -> None:
    listener = make_listener(max_connections=3, header_timeout=30.0)
    idle = [Conn(listener.port) for _ in range(3)]
    try:
        wait_until(lambda: len(connections(listener)) == 3)
        with Conn(listener.port) as extra:
            answer = extra.answer()
            assert answer.status == 503
            assert answer.header("Connection") == "close"
            assert "too many connections" in str(answer.json()["reason"])
            assert extra.closed()
        # An idle one goes: there is room again.
        idle.pop().sock.close()
        wait_until(lambda: len(connections(listener)) <= 2)
        good(listener.port, store)
    finally:
        for conn in idle:
            conn.sock.close()
    assert store.count() == 1


def connections(listener: Listener) -> set[object]:
    server = listener._server
    assert server is not None
    return set(server.connections)


def wait_until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


# -- descriptors run out ------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, resource, sys
    from pathlib import Path
    from inspector.core.keys import KeyRing
    from inspector.core.listener import Listener, ListenerConfig
    from inspector.core.store import Store

    data = Path(sys.argv[1])
    store = Store(data / "captures.sqlite3")
    listener = Listener(store, KeyRing(data / "keys.json"), ListenerConfig(port=0))
    listener.start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    hog = []
    try:
        while True:
            hog.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    print(listener.port, flush=True)
    sys.stdin.readline()          # the parent has seen accept fail for a while
    for fd in hog:
        os.close(fd)
    print("freed", flush=True)
    sys.stdin.readline()
    listener.stop()
    store.close()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptor limits")
def test_out_of_descriptors_is_one_line_and_serving_resumes(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    try:
        port = int(child.stdout.readline())
        waiting = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
        first = child.stderr.readline()
        assert "cannot accept connections" in first, first
        # asyncio retries the accept every second: let it fail a few more times.
        time.sleep(3.5)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "freed"
        # The connections that waited in the backlog are served now.
        sock = waiting[0]
        sock.sendall(build_request("POST", "/after", [("Host", "x")], b"{}"))
        reply = Conn.__new__(Conn)
        reply.sock, reply.buffer = sock, b""
        assert reply.answer().status == 200
        for s in waiting:
            s.close()
        child.stdin.write("\n")
        child.stdin.flush()
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0
    rest = err.splitlines()
    assert "Traceback" not in first + err, first + err
    assert len(rest) <= 1, rest  # one line per 10 s at most, never one per accept


def test_assert_helpers_can_fail(listener: Listener, store: Store) -> None:
    # The helpers above must be able to tell an answer from a close.
    with Conn(listener.port) as conn:
        conn.send(build_request("POST", "/", [("Host", "x")], b""))
        assert not conn.closed()
        assert conn.answer().status == 200
