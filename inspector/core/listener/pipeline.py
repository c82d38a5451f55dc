"""What one request goes through: an ordered list of small stages.

Today: read the body, verify the signatures, store (and only then) answer. Each stage is a
class with its own settings and one ``run`` method that reads and updates the
:class:`Inbound` the request travels in; a stage that refuses the request calls
:meth:`Inbound.reject`, and later stages see ``inbound.rejected``. Adding a stage (a prefix
gate, a signed-only gate, rules, forwarding) is one class and one line in
:func:`default_stages`. Every stage runs for every request, so a stage is cheap: at
thousands of requests a second, one stage's Python is a visible share of the loop's time.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE, HttpVersion10, HttpVersion11

from inspector.core.capture import (
    Capture,
    Headers,
    ResponseRecord,
    SignatureCheck,
    new_capture_id,
    split_target,
    utc_now,
)
from inspector.core.events import EventSummary, parse_event
from inspector.core.signatures import verify_headers

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing, PublicKey
    from inspector.core.store import Store

__all__ = [
    "OFFLOAD_BYTES",
    "Answer",
    "Inbound",
    "ReadBody",
    "Stage",
    "StoreCapture",
    "Verify",
    "default_stages",
]

log = logging.getLogger("inspector.core.listener")

# Above this, verification and JSON parsing move to a worker thread so one huge body
# does not stall every other connection on the loop.
OFFLOAD_BYTES = 256 * 1024
_JSON_HEADERS: Headers = (("Content-Type", "application/json"),)


def _json_body(payload: dict[str, str]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _format_remote(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer) if peer else ""


@dataclass(slots=True)
class Inbound:
    """One request on its way through the stages: what arrived, and what was made of it."""

    request: web.BaseRequest
    id: str
    received_at: datetime
    method: str
    target: str
    path: str
    query: str
    headers: Headers
    remote: str
    tls: bool
    body: bytes = b""
    body_size: int | None = None
    """Set when the body was not kept (rejected): how much arrived or was declared."""
    signatures: tuple[SignatureCheck, ...] = ()
    event: EventSummary | None = None
    response: ResponseRecord | None = None
    """What to answer; None until a stage decides (StoreCapture then answers "received")."""
    rejected: str | None = None
    close: bool = False
    """Close the connection after answering (the rest of a body may still trickle in)."""
    answer: web.StreamResponse | None = field(default=None)

    @classmethod
    def of(cls, request: web.BaseRequest, *, tls: bool) -> Inbound:
        """The request exactly as it arrived: raw target, header pairs with case, order and
        duplicates."""
        transport = request.transport
        target = request.raw_path
        path, query = split_target(target)
        return cls(
            request=request,
            id=new_capture_id(),
            received_at=utc_now(),
            method=request.method,
            target=target,
            path=path,
            query=query,
            headers=tuple(
                [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in request.raw_headers
                ]
            ),
            remote=_format_remote(transport.get_extra_info("peername") if transport else None),
            tls=tls,
        )

    def reject(
        self, status: int, reason: str, body_size: int | None, *, close: bool = False
    ) -> None:
        """Refuse the request: it is still stored (without its body) and answered ``status``."""
        self.rejected = reason
        self.body = b""
        self.body_size = body_size
        self.close = close
        self.response = ResponseRecord(
            status,
            _JSON_HEADERS,
            _json_body({"status": "rejected", "id": self.id, "reason": reason}),
        )

    def capture(self) -> Capture:
        response = self.response
        if response is None:
            response = ResponseRecord(
                200, _JSON_HEADERS, b'{"status":"received","id":"' + self.id.encode("ascii") + b'"}'
            )
        response = self.as_sent(response)
        return Capture(
            id=self.id,
            received_at=self.received_at,
            method=self.method,
            target=self.target,
            path=self.path,
            query=self.query,
            headers=self.headers,
            body=self.body,
            remote=self.remote,
            tls=self.tls,
            response=response,
            signatures=self.signatures,
            event=self.event,
            rejected=self.rejected,
            body_size=self.body_size,
        )

    def as_sent(self, response: ResponseRecord) -> ResponseRecord:
        """The response with the headers aiohttp would add when sending it (Content-Length,
        Date, Server, Connection), set now: the capture is stored before the answer goes out
        (2xx means "on disk"), and the stored headers must be the ones actually sent - the
        Answer stage sends exactly these, and aiohttp keeps headers that are already set."""
        have = {name.lower() for name, _ in response.headers}
        added: list[tuple[str, str]] = []
        if "content-length" not in have:
            added.append(("Content-Length", str(len(response.body))))
        if "date" not in have:
            added.append(("Date", email.utils.formatdate(usegmt=True)))
        if "server" not in have:
            added.append(("Server", SERVER_SOFTWARE))
        if "connection" not in have:
            keep_alive = self.request.keep_alive and not self.close
            version = self.request.version
            if keep_alive and version == HttpVersion10:
                added.append(("Connection", "keep-alive"))
            elif not keep_alive and version == HttpVersion11:
                added.append(("Connection", "close"))
        if not added:
            return response
        return replace(response, headers=(*response.headers, *added))


class Stage(Protocol):
    async def run(self, inbound: Inbound) -> None: ...


class _BodyReader:
    """Reads a request body up to a limit, keeping count so a timeout can say how far it got."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        self.size = 0

    async def read(self, content: Any, limit: int) -> bytes | None:
        """The whole body, or None as soon as it exceeds ``limit``."""
        chunks: list[bytes] = []
        while True:
            chunk: bytes = await content.readany()
            if not chunk:
                break
            self.size += len(chunk)
            if self.size > limit:
                return None
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@dataclass(frozen=True, slots=True)
class ReadBody:
    """Take the body; refuse one over ``body_limit`` (413) or slower than ``read_timeout``
    (408, and the connection is closed)."""

    body_limit: int
    read_timeout: float

    async def run(self, inbound: Inbound) -> None:
        limit = self.body_limit
        length = inbound.request.content_length
        if length is not None and length > limit:
            inbound.reject(413, f"body too large: {length} bytes > limit {limit}", length)
            return
        content = inbound.request.content
        body: bytes | None
        if content.is_eof():
            # Already fully buffered (the usual small webhook): take it as it is, with no
            # timer and no read loop.
            body = content.read_nowait()
            size = len(body)
            if size > limit:
                body = None
        else:
            reader = _BodyReader()
            try:
                async with asyncio.timeout(self.read_timeout):
                    body = await reader.read(content, limit)
            except TimeoutError:
                inbound.reject(
                    408,
                    f"body not received within {self.read_timeout:g} s (got {reader.size} bytes)",
                    reader.size,
                    close=True,
                )
                return
            size = reader.size
        if body is None:
            inbound.reject(413, f"body too large: {size} bytes > limit {limit}", size)
            return
        inbound.body = body


def _inspect(
    headers: Headers, body: bytes, keys: tuple[PublicKey, ...]
) -> tuple[tuple[SignatureCheck, ...], EventSummary | None]:
    return verify_headers(headers, body, keys), parse_event(body)


@dataclass(frozen=True, slots=True)
class Verify:
    """Check both signatures over the exact body bytes and summarise the event."""

    keyring: KeyRing

    async def run(self, inbound: Inbound) -> None:
        if inbound.rejected is not None:
            return
        body, keys = inbound.body, self.keyring.keys()
        if len(body) > OFFLOAD_BYTES:
            loop = asyncio.get_running_loop()
            inbound.signatures, inbound.event = await loop.run_in_executor(
                None, _inspect, inbound.headers, body, keys
            )
        else:
            inbound.signatures = verify_headers(inbound.headers, body, keys)
            inbound.event = parse_event(body)


class StoreCapture:
    """Submit the capture to the store's group commit and wait for its COMMIT: the answer
    comes after this stage, so a 2xx means "on disk". A failure to store an accepted
    request answers 503; a rejected one keeps its answer (and is not announced)."""

    __slots__ = ("last_error", "on_stored", "store")

    def __init__(self, store: Store, on_stored: Callable[[Capture], None]) -> None:
        self.store = store
        self.on_stored = on_stored
        self.last_error: str | None = None
        """The most recent failure to store; None once storing works again."""

    async def run(self, inbound: Inbound) -> None:
        try:
            stored = await self.store.submit_async(inbound.capture())
        except Exception as exc:
            message = self._note_error(exc)
            if inbound.rejected is None:
                inbound.close = False
                inbound.response = ResponseRecord(
                    503,
                    _JSON_HEADERS,
                    _json_body(
                        {
                            "status": "not_stored",
                            "id": inbound.id,
                            "error": f"The capture was not stored ({message}); please retry.",
                        }
                    ),
                )
            return
        if self.last_error is not None and inbound.rejected is None:
            self.last_error = None
        inbound.response = stored.response
        self.on_stored(stored)

    def _note_error(self, exc: Exception) -> str:
        message = str(exc) or type(exc).__name__
        if message != self.last_error:
            # Logged once per distinct failure, not per request: a full disk at 10k req/s
            # would otherwise bury the log.
            log.error("could not store a capture, answering 503: %s", message)
        self.last_error = message
        return message


class Answer:
    """Turn the decided response into the HTTP answer."""

    __slots__ = ()

    async def run(self, inbound: Inbound) -> None:
        response = inbound.response
        assert response is not None, "StoreCapture decides every response"
        answer = web.Response(status=response.status, headers=response.headers, body=response.body)
        if inbound.close:
            answer.force_close()
        inbound.answer = answer


def default_stages(
    *,
    body_limit: int,
    read_timeout: float,
    keyring: KeyRing,
    store: StoreCapture,
) -> list[Stage]:
    """The stages in the order every request goes through them."""
    return [
        ReadBody(body_limit, read_timeout),
        Verify(keyring),
        store,
        Answer(),
    ]
