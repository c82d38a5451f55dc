"""A small, strict HTTP/1.1 server on ``asyncio.Protocol``: what the listener speaks.

Why our own and not aiohttp's: a webhook inspector must record what arrives, and aiohttp's
C parser refused valid requests (methods it does not know, a complete request followed by
garbage in the same packet) before any of our code saw them, never answered a request whose
client then half-closed, had no header-read timeout and no connection cap; and its
per-request machinery was most of the listener's CPU per webhook. This module parses with
``bytes.find`` and two regular expressions per request head, hands each complete head to
one handler (``Server.handler``, one Task per request), and writes the answer the handler
gives. It is strict where ambiguity could smuggle a second request past a proxy:

- Content-Length together with Transfer-Encoding, more than one Content-Length, a
  Content-Length that is not digits, a bad chunk, obs-fold, control bytes in a header, a
  non-token method or header name -> ``400`` and close;
- a transfer coding other than ``chunked`` -> ``501`` and close; an HTTP version other than
  1.0 and 1.1 -> ``505``;
- a request line over :data:`MAX_REQUEST_LINE` -> ``414``, a header section over
  :data:`MAX_HEADER_BYTES` or with more than :data:`MAX_HEADERS` fields -> ``431``; both close.

None of these is recorded (no complete request arrived). Everything else is: any method
that is an RFC 9110 token (``FOOBAR``, lowercase ``post``), any ASCII request target.
Requests on one connection are answered in order (pipelining); a complete request is
answered even when the client half-closed after it, and bytes after it that are not a
request get their own ``400``. Headers must arrive within ``header_timeout`` of a request's
first byte (``408``, not recorded); an idle keep-alive connection closes after
``keepalive_timeout`` (tunnels pool connections, so that one is long). Beyond
``max_connections`` open connections a new one gets ``503`` with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from inspector import __version__

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_REQUEST_LINE",
    "SERVER_SOFTWARE",
    "Connection",
    "Request",
    "Server",
    "format_remote",
    "http_date",
]

log = logging.getLogger("inspector.core.listener")

SERVER_SOFTWARE = f"fluent-inspector/{__version__}"
MAX_REQUEST_LINE = 8 * 1024
"""Longest request line (method, target, version); longer gets 414."""
MAX_HEADER_BYTES = 64 * 1024
"""Largest header section (every header line together); larger gets 431."""
MAX_HEADERS = 256
"""Most header fields in one request; more gets 431 (Fluent sends about 15)."""
MAX_PENDING = 1024 * 1024
"""Bytes of pipelined requests buffered while one is answered, before reading pauses."""
LINGER = 2.0
"""Seconds a connection we close keeps reading (and discarding), so that the client reads
our last answer instead of a reset."""
_CHUNK_LINE = 1024
"""Longest chunk-size line (size and extensions)."""

_TCHAR = r"!#$%&'*+.^_`|~0-9A-Za-z-"
_REQUEST_LINE = re.compile(rf"([{_TCHAR}]+) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
# Header lines over the head decoded as latin-1 (one char per byte): a token, a colon right
# after it (no space: RFC 9112 5.1), optional whitespace, then tab, visible ASCII, space or
# obs-text up to CRLF. No control byte, bare CR or LF, and no line starting with whitespace
# (obs-fold) can match. Neither pattern can backtrack beyond a line: ":" and "\r" end them.
_FIELD_CHARS = r"\t\x20-\x7e\x80-\xff"
_HEADER_BLOCK = re.compile(rf"(?:[{_TCHAR}]+:[{_FIELD_CHARS}]*\r\n)*")
_HEADER_LINE = re.compile(rf"([{_TCHAR}]+):[ \t]*([{_FIELD_CHARS}]*)\r\n")
_METHOD_SO_FAR = re.compile(rf"[{_TCHAR}]*(?: |\Z)".encode())
_DIGITS = re.compile(r"[0-9]{1,18}")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?")
_TLS_HANDSHAKE = 0x16

_date_cache: list[Any] = [0, ""]


def http_date() -> str:
    """The Date header for now, formatted once a second: every answer carries one, and
    formatting it per request was a measurable share of the hot path."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0], _date_cache[1] = now, email.utils.formatdate(now, usegmt=True)
    date: str = _date_cache[1]
    return date


def format_remote(peer: Any) -> str:
    """``host:port`` of a peer address, IPv6 hosts in brackets."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer) if peer else ""


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"HTTP/1.1 {status} {phrase}\r\n"


_STATUS_LINES = {int(s): _status_line(int(s)) for s in HTTPStatus}
_NO_BODY = frozenset({204, 304})


#: A request head we refuse: (status, reason); the connection closes after the answer.
Refusal = tuple[int, str]


class Request:
    """One request whose head arrived in full: what the handler reads, and how it answers.

    ``headers`` are (name, value) pairs as received, in order, names in their case, bytes
    decoded as latin-1 (one char per byte, so nothing is lost). The body arrives through
    :meth:`wait_body`; once ``body_done``, :meth:`body` has it (unless ``body_error`` says why
    not, or ``body_size`` went over the server's body limit, when it was not kept).
    """

    __slots__ = (
        "_conn",
        "_parts",
        "_waiter",
        "body_done",
        "body_error",
        "body_size",
        "chunked",
        "content_length",
        "expect_continue",
        "gone",
        "headers",
        "method",
        "persistent",
        "remote",
        "responded",
        "target",
        "version",
    )

    def __init__(
        self,
        conn: Connection,
        method: str,
        target: str,
        version: tuple[int, int],
        headers: tuple[tuple[str, str], ...],
    ) -> None:
        self._conn = conn
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.remote = conn.remote
        self.persistent = version == (1, 1)
        """The client lets the connection stay open (HTTP/1.1 without ``close``, or
        HTTP/1.0 with ``keep-alive``)."""
        self.content_length: int | None = None
        self.chunked = False
        self.expect_continue = False
        self.body_done = False
        self.body_size = 0
        self.body_error: str | None = None
        """Why the body is unusable (a bad chunk, the client went away)."""
        self.gone = False
        """The client closed the connection before the body was complete."""
        self.responded = False
        self._parts: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None

    @property
    def keep_alive(self) -> bool:
        """Whether the connection can serve another request after this one's answer."""
        return self.persistent and self.body_done and self.body_error is None

    def body(self) -> bytes:
        parts = self._parts
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    async def wait_body(self) -> None:
        """Until the body is complete (or unusable). Sends ``100 Continue`` first when the
        client asked for it: only a handler that wants the body says so."""
        if self.body_done:
            return
        if self.expect_continue:
            self.expect_continue = False
            self._conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def respond(
        self,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        close: bool = False,
    ) -> None:
        """Write the answer: exactly these headers (the caller adds Content-Length, Date,
        Server, Connection as it wants them recorded), then the body (none for HEAD, 204,
        304). ``close``: close the connection once it is written."""
        if self.responded:
            return
        self.responded = True
        self._conn.reply(self, status, headers, body, close or not self.keep_alive)

    def abort(self) -> None:
        """Hang up without an answer."""
        self.responded = True
        self._conn.abort()

    # -- called by the connection -------------------------------------------------------

    def _add(self, data: bytes) -> None:
        self.body_size += len(data)
        self._parts.append(data)

    def _finish(self, error: str | None = None, *, gone: bool = False) -> None:
        if self.body_done:
            return
        self.body_done = True
        self.body_error = error
        self.gone = gone
        if error is not None:
            self._parts = []
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _parse_head(conn: Connection, head: bytes) -> Request | Refusal:
    """The request of one head (request line and header lines, without the blank line)."""
    text = head.decode("latin-1")
    end = text.find("\r\n")
    line = text if end < 0 else text[:end]
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        return (400, _request_line_problem(line))
    method, target, major, minor = match.groups()
    version = (int(major), int(minor))
    if version not in ((1, 1), (1, 0)):
        return (505, f"HTTP version {major}.{minor} is not supported: use HTTP/1.1")
    if end < 0:
        fields: list[tuple[str, str]] = []
    else:
        block = text[end + 2 :] + "\r\n"
        if _HEADER_BLOCK.fullmatch(block) is None:
            return (400, _header_problem(block))
        fields = _HEADER_LINE.findall(block)
        if len(fields) > MAX_HEADERS:
            return (431, f"more than {MAX_HEADERS} header fields")
    headers = tuple([(name, value.rstrip(" \t")) for name, value in fields])
    request = Request(conn, method, target, version, headers)
    refusal = _frame(request)
    return request if refusal is None else refusal


def _request_line_problem(line: str) -> str:
    method = line.split(" ", 1)[0]
    if not method or re.fullmatch(f"[{_TCHAR}]+", method) is None:
        return "the method is not an HTTP token (RFC 9110: letters, digits and !#$%&'*+-.^_`|~)"
    parts = line.split(" ")
    if len(parts) != 3:
        return "the request line is not METHOD SP TARGET SP HTTP/1.1"
    if re.fullmatch(r"[\x21-\x7e]+", parts[1]) is None:
        return "the request target has bytes outside visible ASCII (percent-encode them)"
    return "the request line does not end in HTTP/1.1 or HTTP/1.0"


def _header_problem(block: str) -> str:
    for number, line in enumerate(block.split("\r\n")[:-1], start=1):
        if line[:1] in (" ", "\t"):
            return f"header line {number} starts with whitespace (obsolete line folding)"
        if _HEADER_BLOCK.fullmatch(line + "\r\n") is None:
            if ":" not in line:
                return f"header line {number} has no colon"
            return f"header line {number} has a bad name or a control byte"
    return "a header line has a bare CR or LF"


def _frame(request: Request) -> Refusal | None:
    """How the body is delimited, the connection's persistence and the expectation."""
    lengths: list[str] = []
    codings: list[str] | None = None
    connection: list[str] = []
    expect: str | None = None
    for name, value in request.headers:
        if len(name) not in (6, 10, 14, 17):
            continue
        lower = name.lower()
        if lower == "content-length":
            lengths.append(value)
        elif lower == "transfer-encoding":
            if codings is None:
                codings = []
            codings += [c.strip().lower() for c in value.split(",")]
        elif lower == "connection":
            connection += [c.strip().lower() for c in value.split(",")]
        elif lower == "expect":
            expect = value
    if request.version == (1, 1):
        request.persistent = "close" not in connection
    else:
        request.persistent = "keep-alive" in connection
    if codings is not None:
        if lengths:
            return (400, "both Content-Length and Transfer-Encoding (request smuggling?)")
        if request.version != (1, 1):
            return (400, "Transfer-Encoding in an HTTP/1.0 request")
        unknown = [c for c in codings if c != "chunked"]
        if any(re.fullmatch(f"[{_TCHAR}]+", c) is None for c in unknown):
            return (400, "Transfer-Encoding is not a list of codings")
        if unknown:
            return (501, "only the chunked transfer coding is supported")
        if len(codings) != 1:
            return (400, "chunked applied more than once")
        request.chunked = True
    elif lengths:
        if len(lengths) > 1:
            return (400, "more than one Content-Length (request smuggling?)")
        if _DIGITS.fullmatch(lengths[0]) is None:
            return (400, "Content-Length is not a number")
        request.content_length = int(lengths[0])
    if expect is not None and request.version == (1, 1):
        if expect.lower() != "100-continue":
            return (417, "the only expectation supported is 100-continue")
        request.expect_continue = True
    return None


class Connection(asyncio.Protocol):
    """One client connection: parses request heads and bodies, answers in order."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._request: Request | None = None
        """The request being handled (one at a time; later ones wait in the buffer)."""
        self._chunk_left = -1
        """Chunked body state: bytes left in this chunk; -1 expecting a size line, -2 the
        CRLF after data, -3 trailers."""
        self._length_left = 0
        self._discard = False
        """Incoming bytes are thrown away (a body over the limit, or closing)."""
        self._closing = False
        self._peer_closed = False
        self._reading_paused = False
        self._writing_paused = False
        self._served = 0
        self.deadline = 0.0
        """loop.time() at which :meth:`expire` runs; 0 for never (a request is in hand)."""
        self._deadline_kind = "head"
        self.remote = ""
        self.tls = server.tls

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        server = self._server
        self.remote = format_remote(transport.get_extra_info("peername"))
        server.connections.add(self)
        self._set_deadline("head", server.header_timeout)
        if len(server.connections) > server.max_connections:
            server.note_busy()
            self._refuse(503, f"too many connections (more than {server.max_connections})")

    def data_received(self, data: bytes) -> None:
        if self._discard:
            return
        self._buffer += data
        try:
            request = self._request
            if request is None:
                self._parse()
            elif not request.body_done:
                self._feed_body(request)
            elif len(self._buffer) > MAX_PENDING and not self._reading_paused:
                self._pause_reading()
        except Exception:
            # A parser bug must cost one connection, never the listener.
            log.exception("the listener failed reading a request; closing that connection")
            self.abort()

    def eof_received(self) -> bool | None:
        self._peer_closed = True
        request = self._request
        if request is not None:
            if not request.body_done:
                request._finish("the client closed the connection mid-body", gone=True)
            # Keep our side open to answer (not possible over TLS: close_notify ends both).
            return None if self.tls else True
        if self._closing:
            return None
        if not self._buffer:
            return None
        # Bytes in the buffer: a complete request gets its answer, a partial one is dropped.
        self._parse()
        if self._request is not None and not self.tls:
            return True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        self._discard = True
        request = self._request
        if request is not None and not request.body_done:
            request._finish("the client closed the connection mid-body", gone=True)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._request is None and not self._closing:
            self._parse()

    # -- parsing --------------------------------------------------------------------------

    def _parse(self) -> None:
        """Start the next request whose head is complete, or wait for more bytes."""
        if self._request is not None or self._closing or self._writing_paused:
            return
        buffer = self._buffer
        while buffer[:2] == b"\r\n":
            # RFC 9112 2.2: empty lines before a request line are ignored.
            del buffer[:2]
        if self._reading_paused:
            self._resume_reading()
        if not buffer:
            if self._peer_closed:
                self.close()
            return
        end = buffer.find(b"\r\n\r\n", 0, MAX_REQUEST_LINE + MAX_HEADER_BYTES + 4)
        if end < 0:
            self._partial_head()
            return
        head = bytes(buffer[:end])
        del buffer[: end + 4]
        line_end = head.find(b"\r\n")
        parsed: Request | Refusal
        if line_end > MAX_REQUEST_LINE or (line_end < 0 and end > MAX_REQUEST_LINE):
            parsed = (414, f"request line longer than {MAX_REQUEST_LINE} bytes")
        elif end - line_end > MAX_HEADER_BYTES:
            parsed = (431, f"header section larger than {MAX_HEADER_BYTES} bytes")
        else:
            parsed = _parse_head(self, head)
        if isinstance(parsed, tuple):
            self._refuse(*parsed)
            return
        self._start(parsed)

    def _partial_head(self) -> None:
        buffer = self._buffer
        if self._deadline_kind != "head":
            self._set_deadline("head", self._server.header_timeout)
        if buffer[0] == _TLS_HANDSHAKE:
            self._refuse(400, "this is a plain HTTP port: a TLS handshake arrived")
            return
        if _METHOD_SO_FAR.match(buffer, 0, 64) is None:
            self._refuse(400, "the method is not an HTTP token")
            return
        newline = buffer.find(b"\n", 0, MAX_REQUEST_LINE + 2)
        if newline == 0 or (newline > 0 and buffer[newline - 1] != 0x0D):
            # Lines end in CRLF; a bare LF would otherwise wait for the header timeout.
            self._refuse(400, "a line of the request ends in a bare LF, not CRLF")
            return
        line_end = buffer.find(b"\r\n", 0, MAX_REQUEST_LINE + 2)
        if line_end < 0 and len(buffer) > MAX_REQUEST_LINE:
            self._refuse(414, f"request line longer than {MAX_REQUEST_LINE} bytes")
        elif len(buffer) > MAX_REQUEST_LINE + MAX_HEADER_BYTES + 4:
            self._refuse(431, f"header section larger than {MAX_HEADER_BYTES} bytes")
        elif self._peer_closed:
            # A head that will never complete: nobody to answer.
            self.close()

    def _start(self, request: Request) -> None:
        self._request = request
        self.deadline = 0.0
        self._deadline_kind = "none"
        length = request.content_length
        if request.chunked:
            self._chunk_left = -1
            self._feed_body(request)
        elif length:
            if length > self._server.body_limit:
                # Refused before it is read (413): nothing of it is kept, and the connection
                # closes after the answer.
                request.body_size = length
                request.body_done = True
                request.persistent = False
                self._discard = True
                self._buffer.clear()
            else:
                self._length_left = length
                self._feed_body(request)
        else:
            request.body_done = True
        if self._peer_closed and not request.body_done:
            request._finish("the client closed the connection mid-body", gone=True)
        self._server.spawn(self, request)

    def _feed_body(self, request: Request) -> None:
        buffer = self._buffer
        if not request.chunked:
            take = min(len(buffer), self._length_left)
            if take:
                if take == len(buffer):
                    request._add(bytes(buffer))
                    buffer.clear()
                else:
                    request._add(bytes(buffer[:take]))
                    del buffer[:take]
                self._length_left -= take
            if not self._length_left:
                request._finish()
            return
        error = self._feed_chunks(request)
        if error is not None:
            self._discard = True
            buffer.clear()
            request._finish(error)
        elif request.body_size > self._server.body_limit:
            # Over the limit: stop keeping it; the handler answers 413 and we close.
            self._discard = True
            buffer.clear()
            request._parts = []
            request.body_done = True
            request.persistent = False
            waiter = request._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _feed_chunks(self, request: Request) -> str | None:
        """Consume what the buffer holds of a chunked body; a reason when it is malformed."""
        buffer = self._buffer
        while buffer:
            left = self._chunk_left
            if left > 0:
                take = min(left, len(buffer))
                request._add(bytes(buffer[:take]))
                del buffer[:take]
                self._chunk_left = left - take
                if self._chunk_left == 0:
                    self._chunk_left = -2
                if request.body_size > self._server.body_limit:
                    return None
            elif left == -2:
                if len(buffer) < 2:
                    return None
                if buffer[:2] != b"\r\n":
                    return "malformed chunked body: chunk data not followed by CRLF"
                del buffer[:2]
                self._chunk_left = -1
            elif left == -1:
                end = buffer.find(b"\r\n", 0, _CHUNK_LINE + 2)
                if end < 0:
                    if len(buffer) > _CHUNK_LINE:
                        return "malformed chunked body: chunk size line too long"
                    if b"\n" in buffer:
                        return "malformed chunked body: bare LF in a chunk size line"
                    return None
                match = _CHUNK_SIZE.fullmatch(buffer, 0, end)
                if match is None:
                    return "malformed chunked body: bad chunk size"
                size = int(match.group(1), 16)
                del buffer[: end + 2]
                self._chunk_left = size if size else -3
            else:
                # Trailer fields after the last chunk: checked like headers, not kept.
                end = buffer.find(b"\r\n", 0, MAX_HEADER_BYTES + 2)
                if end < 0:
                    if len(buffer) > MAX_HEADER_BYTES:
                        return "malformed chunked body: trailer section too large"
                    return None
                if end == 0:
                    del buffer[:2]
                    request._finish()
                    return None
                line = bytes(buffer[: end + 2]).decode("latin-1")
                if _HEADER_LINE.fullmatch(line) is None:
                    return "malformed chunked body: bad trailer line"
                del buffer[: end + 2]
        return None

    # -- answering ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def reply(
        self,
        request: Request,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        close: bool,
    ) -> None:
        lines = [f"{name}: {value}" for name, value in headers]
        text = "\r\n".join(lines)
        if text.count("\r") != len(lines) - 1 or text.count("\n") != len(lines) - 1:
            # A header value with a line break (a rule's or a forward target's) must not
            # become a header of its own.
            lines = [line.replace("\r", " ").replace("\n", " ") for line in lines]
            text = "\r\n".join(lines)
        status_line = _STATUS_LINES.get(status) or _status_line(status)
        head = f"{status_line}{text}\r\n\r\n" if lines else f"{status_line}\r\n"
        data = head.encode("latin-1", "replace")
        if body and request.method != "HEAD" and status not in _NO_BODY and status >= 200:
            data += body
        self.write(data)
        self._served += 1
        if close:
            self._closing = True

    def after(self, request: Request) -> None:
        """The handler of ``request`` is done: next request, or close."""
        self._request = None
        if not request.responded:
            self._refuse(500, "the listener failed on this request (see its log)")
            return
        if self._closing or self._transport is None:
            self._linger()
            return
        if self._server.closing:
            self.close()
            return
        if self._buffer:
            self._parse()
        elif self._peer_closed:
            self.close()
        else:
            self._set_deadline("idle", self._server.keepalive_timeout)

    def _refuse(self, status: int, reason: str) -> None:
        """Answer a request we will not handle (nothing recorded), then close."""
        log.debug("refused a request from %s: %s %s", self.remote, status, reason)
        body = json.dumps({"status": "rejected", "reason": reason}).encode()
        self._request = None
        fake = Request(self, "GET", "/", (1, 1), ())
        self.reply(
            fake,
            status,
            (
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Date", http_date()),
                ("Server", SERVER_SOFTWARE),
                ("Connection", "close"),
            ),
            body,
            True,
        )
        self._linger()

    def _linger(self) -> None:
        """Close after what was written, reading (and dropping) for a moment first so that
        the client is not reset before it reads our answer."""
        self._closing = True
        self._discard = True
        self._buffer.clear()
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._peer_closed or self.tls or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        if self._reading_paused:
            self._resume_reading()
        self._set_deadline("linger", LINGER)

    def close(self) -> None:
        self._closing = True
        self._discard = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self._closing = True
        self._discard = True
        if self._transport is not None:
            self._transport.abort()

    @property
    def idle(self) -> bool:
        """Between requests, nothing of the next one received."""
        return self._request is None and not self._buffer

    def expire(self) -> None:
        """Its deadline passed: the head took too long, it idled too long, or it lingered."""
        self.deadline = 0.0
        kind = self._deadline_kind
        if kind == "head" and self._request is None and self._buffer:
            timeout = self._server.header_timeout
            self._refuse(408, f"request headers not received within {timeout:g} s")
        elif kind == "linger" or self._request is None:
            self.close()

    def _set_deadline(self, kind: str, seconds: float) -> None:
        self._deadline_kind = kind
        self.deadline = self._server.loop.time() + seconds

    def _pause_reading(self) -> None:
        if self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        self._reading_paused = False
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()


class Server:
    """The connections of one listening socket, their deadlines, and the handler."""

    def __init__(
        self,
        handler: Callable[[Request], Awaitable[None]],
        *,
        body_limit: int,
        header_timeout: float,
        keepalive_timeout: float,
        max_connections: int,
        tls: bool,
    ) -> None:
        self.handler = handler
        self.body_limit = body_limit
        self.header_timeout = header_timeout
        self.keepalive_timeout = keepalive_timeout
        self.max_connections = max_connections
        self.tls = tls
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self.loop = asyncio.get_running_loop()
        self._sweeper: asyncio.Task[None] | None = None
        self._busy = _Throttled("refusing connections: more than %d open (answered 503)", 10.0)

    def protocol(self) -> Connection:
        return Connection(self)

    def start_sweeping(self) -> None:
        self._sweeper = self.loop.create_task(self._sweep())

    def spawn(self, conn: Connection, request: Request) -> None:
        task = self.loop.create_task(self._run(conn, request))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, conn: Connection, request: Request) -> None:
        try:
            await self.handler(request)
        except ConnectionError:
            # The client went away mid-body: nobody to answer, nothing recorded.
            request.responded = True
            conn.abort()
        except Exception:
            log.exception("the listener failed on a request from %s", conn.remote)
        conn.after(request)

    def note_busy(self) -> None:
        self._busy.note(self.max_connections)

    async def _sweep(self) -> None:
        # One timer for every connection's deadline, not one per request: the head and idle
        # deadlines only move a float per request.
        interval = max(0.05, min(1.0, self.header_timeout / 4, self.keepalive_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            now = self.loop.time()
            for conn in [c for c in self.connections if c.deadline and c.deadline <= now]:
                conn.expire()

    def close_idle(self) -> None:
        """Stop taking new requests: idle connections close now, busy ones after their
        answer."""
        self.closing = True
        for conn in list(self.connections):
            if conn.idle:
                conn.close()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for conn in list(self.connections):
            conn.abort()
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Throttled:
    """A warning logged at most once per ``interval``, with how often it happened since."""

    def __init__(self, message: str, interval: float) -> None:
        self._message = message
        self._interval = interval
        self._last = 0.0
        self._count = 0

    def note(self, *args: object) -> None:
        self._count += 1
        now = time.monotonic()
        if self._last and now - self._last < self._interval:
            return
        more = f" ({self._count} times in the last {self._interval:g} s)" if self._last else ""
        log.warning(self._message + more, *args)
        self._last, self._count = now, 0


_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class AcceptErrors:
    """The loop's exception handler: running out of descriptors on accept is one line per
    10 s (asyncio retries the accept a second later by itself), never a traceback per
    accept; everything else goes to the default handler."""

    def __init__(self) -> None:
        self._throttle = _Throttled(
            "cannot accept connections: %s. New connections wait until some close; raise "
            "the open-file limit (ulimit -n) or lower --max-connections",
            10.0,
        )

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_DESCRIPTORS:
            self._throttle.note(exc.strerror or exc)
            return
        callback = getattr(context.get("handle"), "_callback", None)
        if isinstance(exc, ValueError) and getattr(callback, "__name__", "") == "_start_serving":
            # asyncio's accept retry (scheduled after running out of descriptors) firing
            # after the listener closed its socket: nothing is lost, the socket is gone.
            log.debug("accept retry after the listening socket closed: %s", exc)
            return
        loop.default_exception_handler(context)
