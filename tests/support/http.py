"""Small HTTP client helpers for tests that talk to a real listener over loopback.

Raw sockets when the exact bytes on the wire matter (header case/order, garbage, Expect),
http.client otherwise.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def json(self) -> Any:
        return json.loads(self.body)


def build_request(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes = b"",
    *,
    content_length: bool = True,
) -> bytes:
    """Bytes of an HTTP/1.1 request with exactly these headers (plus Content-Length)."""
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{n}: {v}" for n, v in headers]
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def connect(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def read_reply(sock: socket.socket, *, skip_interim: bool = True) -> Reply:
    """Read one HTTP/1.1 response (Content-Length framed, or until close) from a socket."""
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed before a response: {buffer!r}")
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        if skip_interim and 100 <= status < 200:
            continue
        break
    headers = [tuple(line.split(": ", 1)) for line in header_lines]
    pairs = [(h[0], h[1]) for h in headers if len(h) == 2]
    length = next((int(v) for n, v in pairs if n.lower() == "content-length"), None)
    if length is None:
        while chunk := sock.recv(65536):
            buffer += chunk
        return Reply(status, pairs, buffer)
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return Reply(status, pairs, buffer[:length])


def raw_exchange(port: int, data: bytes, host: str = "127.0.0.1") -> Reply:
    """Send bytes on a fresh connection and read one response."""
    with connect(port, host) as sock:
        sock.sendall(data)
        return read_reply(sock)


def request(
    port: int,
    method: str = "POST",
    target: str = "/",
    body: bytes | Iterable[bytes] | None = b"",
    headers: Sequence[tuple[str, str]] = (),
    *,
    chunked: bool = False,
    tls: bool = False,
    host: str = "127.0.0.1",
) -> Reply:
    """One request over http.client on a fresh connection."""
    conn: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        send(conn, method, target, body, headers, chunked=chunked)
        return receive(conn)
    finally:
        conn.close()


def send(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes | Iterable[bytes] | None,
    headers: Sequence[tuple[str, str]],
    *,
    chunked: bool = False,
) -> None:
    conn.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        assert body is not None and not isinstance(body, bytes)
        for piece in body:
            conn.send(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
    else:
        data = body if isinstance(body, bytes) else b"".join(body or ())
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)


def receive(conn: http.client.HTTPConnection) -> Reply:
    response = conn.getresponse()
    body = response.read()
    return Reply(response.status, list(response.getheaders()), body)
