"""A real local HTTP target for forward and replay tests: records the exact bytes of every
request it gets (request line, header names in order and case, body) and answers in the
mode the test asks for: ok, 500, slow, garbage, or closing in the middle of its answer.

Raw sockets on purpose: an HTTP framework would normalise exactly what the tests compare.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None


class Target:
    """``mode``: "ok" (200 + JSON), "500", "slow" (answers after ``delay`` s), "garbage"
    (not HTTP), "drop" (headers promising a body, then hang up)."""

    def __init__(self, mode: str = "ok", delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self.received: list[Received] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buffer = b""
        with contextlib.suppress(OSError), conn:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = line.split(" ", 2)
                headers = [(n, v) for n, _, v in (h.partition(": ") for h in header_lines) if n]
                length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                self.received.append(Received(method, target, headers, body))
                if not self._answer(conn, len(self.received)):
                    return

    def _answer(self, conn: socket.socket, n: int) -> bool:
        mode = self.mode
        if mode == "slow":
            time.sleep(self.delay)
            mode = "ok"
        if mode == "garbage":
            conn.sendall(b"this is not HTTP at all\r\n\r\n")
            return False
        if mode == "drop":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            conn.shutdown(socket.SHUT_RDWR)
            return False
        status = b"500 Internal Server Error" if mode == "500" else b"201 Created"
        body = b'{"handled":%d}' % n
        conn.sendall(
            b"HTTP/1.1 " + status + b"\r\nX-Handler: yes\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        return True

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)


@contextlib.contextmanager
def target(mode: str = "ok", delay: float = 0.0) -> Iterator[Target]:
    server = Target(mode, delay)
    try:
        yield server
    finally:
        server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (the "target is down" case)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
