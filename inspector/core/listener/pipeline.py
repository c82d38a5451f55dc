"""What one request goes through: an ordered list of small stages.

Read the body, verify the signatures, store (and wait for the COMMIT), then act - response
rules, forwarding - record how it was answered, and answer. Acting comes after the commit on
purpose: whatever a rule or the forward target answers, the request is already on disk.

Each stage is a class with its own settings and one ``run`` method that reads and updates the
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE, HttpVersion10, HttpVersion11

from inspector.core.capture import (
    Capture,
    ForwardRecord,
    Headers,
    ResponseRecord,
    SignatureCheck,
    new_capture_id,
    split_target,
    utc_now,
)
from inspector.core.errors import StoreBusyError
from inspector.core.events import EventSummary
from inspector.core.payload import inspect_body
from inspector.core.signatures import verify_headers

if TYPE_CHECKING:
    import httpx

    from inspector.core.keys import KeyRing, PublicKey
    from inspector.core.rules import RulesFile
    from inspector.core.store import Store

__all__ = [
    "OFFLOAD_BYTES",
    "Announce",
    "Answer",
    "Forward",
    "ForwardTargets",
    "Inbound",
    "ReadBody",
    "Respond",
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


_date_cache: list[Any] = [0, ""]


def http_date() -> str:
    """The Date header for now, formatted once a second (as aiohttp does): every answer
    carries one, and formatting it per request was a measurable share of the hot path."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0], _date_cache[1] = now, email.utils.formatdate(now, usegmt=True)
    date: str = _date_cache[1]
    return date


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
    stored: Capture | None = None
    """The capture as committed (seq, attempt); None when storing failed."""
    rule: str | None = None
    """The response rule that answered."""
    decided: bool = False
    """A rule decided the answer: the default forward target is not asked."""
    forward_to: str | None = None
    """Where a rule sends this request on."""
    forward: ForwardRecord | None = None
    acted: bool = False
    """A stage after the commit changed the answer: it is recorded before answering."""
    delay: float = 0.0
    """Seconds to wait before answering (a rule's ``delay_ms``)."""
    hang_up: bool = False
    """Close the connection without any answer (a rule's ``close``)."""
    payload_problems: str | None = None
    """The store's payload_problems column, from the same parse as ``event`` (None: not
    parsed, the store works it out)."""

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
            added.append(("Date", http_date()))
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
) -> tuple[tuple[SignatureCheck, ...], tuple[EventSummary | None, str]]:
    return verify_headers(headers, body, keys), inspect_body(body)


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
            inbound.signatures, parsed = await loop.run_in_executor(
                None, _inspect, inbound.headers, body, keys
            )
        else:
            inbound.signatures = verify_headers(inbound.headers, body, keys)
            parsed = inspect_body(body)
        # One parse for both the event summary and the payload check the store keeps.
        inbound.event, inbound.payload_problems = parsed


QUEUE_BYTES = 64 * 1024 * 1024
"""Back-pressure on memory: most body bytes waiting for the writer (at least two bodies at
the body limit, so one big webhook always gets in)."""
RETRY_AFTER_S = 1


class StoreCapture:
    """Submit the capture to the store's group commit and wait for its COMMIT: the answer
    comes after this stage, so a 2xx means "on disk". A failure to store an accepted
    request answers 503; a rejected one keeps its answer (and is not announced).
    :class:`Announce` tells ``on_stored`` once the answer is settled.

    Back-pressure: when more than ``queue_limit`` captures (or :data:`QUEUE_BYTES` of
    bodies) already wait for the writer - the disk stalls, another process holds the write
    lock - the request is not queued but answered 503 with ``Retry-After``, so memory stays
    bounded and the sender (Fluent retries) comes back later; nothing answered 503 is
    stored. It recovers by itself as the writer catches up."""

    __slots__ = ("last_error", "on_stored", "queue_bytes", "queue_limit", "store")

    def __init__(
        self,
        store: Store,
        on_stored: Callable[[Capture], None],
        *,
        queue_limit: int = 1000,
        body_limit: int = 0,
    ) -> None:
        self.store = store
        self.on_stored = on_stored
        self.queue_limit = queue_limit
        self.queue_bytes = max(QUEUE_BYTES, 2 * body_limit)
        self.last_error: str | None = None
        """The most recent failure to store; None once storing works again."""

    async def run(self, inbound: Inbound) -> None:
        waiting, waiting_bytes = self.store.backlog()
        if waiting >= self.queue_limit or (waiting and waiting_bytes >= self.queue_bytes):
            self._busy(inbound, waiting)
            return
        try:
            stored = await self.store.submit_async(
                inbound.capture(), payload_problems=inbound.payload_problems
            )
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
        inbound.stored = stored

    def _busy(self, inbound: Inbound, waiting: int) -> None:
        """Answer without queueing: the writer is behind."""
        # Logged once per episode (the message does not change with the count).
        self._note_error(
            StoreBusyError(
                "the store's writer is behind (the disk is slow or another program holds "
                "the write lock): new webhooks get 503 with Retry-After until it catches up"
            )
        )
        if inbound.rejected is not None:
            return  # its own answer stands; it is not recorded
        inbound.close = False
        inbound.response = ResponseRecord(
            503,
            (*_JSON_HEADERS, ("Retry-After", str(RETRY_AFTER_S))),
            _json_body(
                {
                    "status": "not_stored",
                    "id": inbound.id,
                    "error": f"The capture was not stored: {waiting:,} captures are "
                    f"waiting to be written; retry after {RETRY_AFTER_S} s.",
                }
            ),
        )

    def _note_error(self, exc: Exception) -> str:
        message = str(exc) or type(exc).__name__
        if message != self.last_error:
            # Logged once per distinct failure, not per request: a full disk at 10k req/s
            # would otherwise bury the log.
            log.error("could not store a capture, answering 503: %s", message)
        self.last_error = message
        return message


class Respond:
    """Response rules: the first rule matching the stored capture decides the answer (or
    where it is forwarded). Only accepted, committed requests; with no rules this is one
    attribute read."""

    __slots__ = ("rules",)

    def __init__(self, rules: RulesFile | None) -> None:
        self.rules = rules

    async def run(self, inbound: Inbound) -> None:
        if self.rules is None:
            return
        rules = self.rules.current
        stored = inbound.stored
        if not rules or stored is None or inbound.rejected is not None:
            return
        event = inbound.event
        rule = rules.first_match(
            inbound.method,
            inbound.path,
            event.name if event is not None else None,
            event.entity_type if event is not None else None,
            stored.attempt,
        )
        if rule is None:
            return
        inbound.rule = rule.name
        inbound.decided = inbound.acted = True
        if rule.forward is not None:
            inbound.forward_to = rule.forward
            return
        respond = rule.respond
        assert respond is not None, "a rule either forwards or responds"
        inbound.response = ResponseRecord(respond.status, respond.headers, respond.body)
        inbound.delay = respond.delay_ms / 1000
        inbound.hang_up = respond.close


@dataclass(frozen=True, slots=True)
class ForwardTargets:
    """Where requests go on: per-path targets first (globs, in order), then the default."""

    default: str | None = None
    paths: tuple[tuple[str, str], ...] = ()
    timeout: float = 10.0
    fallback: int = 502

    def __bool__(self) -> bool:
        return self.default is not None or bool(self.paths)

    def for_path(self, path: str) -> str | None:
        if self.paths:
            from fnmatch import fnmatchcase

            for pattern, url in self.paths:
                if fnmatchcase(path, pattern):
                    return url
        return self.default


class Forward:
    """Send the committed request on, byte-exact, and answer with the target's answer; a
    target that is down, too slow or answers garbage gets the sender the fallback status
    with a short reason. One pooled httpx client per listener, made on its loop on first
    use: awaiting it never holds up other requests."""

    __slots__ = ("_client", "targets")

    def __init__(self, targets: ForwardTargets) -> None:
        self.targets = targets
        self._client: httpx.AsyncClient | None = None

    async def run(self, inbound: Inbound) -> None:
        base = inbound.forward_to
        if base is None:
            if inbound.decided or not self.targets:
                return
            base = self.targets.for_path(inbound.path)
            if base is None:
                return
        if inbound.stored is None or inbound.rejected is not None:
            return
        from inspector.core.forward import join_url, send_async

        url = join_url(base, inbound.target)
        timeout = self.targets.timeout
        delivery = await send_async(
            self._client_for(), inbound.method, url, inbound.headers, inbound.body, timeout
        )
        inbound.acted = True
        inbound.forward = ForwardRecord(
            url,
            delivery.status,
            delivery.headers,
            delivery.body,
            delivery.elapsed_ms,
            delivery.error,
        )
        if delivery.error is None and delivery.status is not None:
            inbound.response = ResponseRecord(delivery.status, delivery.headers, delivery.body)
            return
        inbound.response = ResponseRecord(
            self.targets.fallback,
            _JSON_HEADERS,
            _json_body(
                {"status": "forward_failed", "id": inbound.id, "reason": delivery.error or ""}
            ),
        )

    def _client_for(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            # trust_env=False: a proxy from the environment must not reroute a forward to a
            # local handler; redirects are the target's answer, passed to the sender as is.
            self._client = httpx.AsyncClient(
                timeout=self.targets.timeout,
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class Announce:
    """Record how the request was answered when a rule or the forward target decided it
    (a write of its own: the capture itself is already committed), then tell the
    subscribers. Without rules or forwarding this only announces."""

    __slots__ = ("on_stored", "store")

    def __init__(self, store: Store, on_stored: Callable[[Capture], None]) -> None:
        self.store = store
        self.on_stored = on_stored

    async def run(self, inbound: Inbound) -> None:
        stored = inbound.stored
        if stored is None:
            return
        if inbound.acted:
            response = inbound.response
            assert response is not None
            stored = stored.with_(response=response, rule=inbound.rule, forward=inbound.forward)
            try:
                await asyncio.wrap_future(self.store.record_outcome(stored))
            except Exception as exc:
                # The capture is stored; only how it was answered is missing from it.
                log.warning("could not record how capture %s was answered: %s", stored.id, exc)
        self.on_stored(stored)


class Answer:
    """Turn the decided response into the HTTP answer (after a rule's delay, which only this
    request waits for)."""

    __slots__ = ()

    async def run(self, inbound: Inbound) -> None:
        if inbound.delay:
            await asyncio.sleep(inbound.delay)
        response = inbound.response
        assert response is not None, "StoreCapture decides every response"
        answer = web.Response(status=response.status, headers=response.headers, body=response.body)
        if inbound.hang_up:
            # "close": hang up without a word. aiohttp then finds the transport closed and
            # drops this answer unwritten.
            transport = inbound.request.transport
            if transport is not None:
                transport.abort()
        if inbound.close:
            answer.force_close()
        inbound.answer = answer


def default_stages(
    *,
    body_limit: int,
    read_timeout: float,
    keyring: KeyRing,
    store: StoreCapture,
    rules: RulesFile | None = None,
    forward: ForwardTargets | None = None,
    require_signature: bool = False,
    path_prefix: str | None = None,
) -> list[Stage]:
    """The stages in the order every request goes through them. Rules, forwarding and the
    gates of ``gates.py`` are left out when not configured, so a plain listener pays
    nothing for them. The path-prefix gate holds the stages up to the answer: a request
    outside the prefix skips them all (its body is never read)."""
    targets = forward or ForwardTargets()
    acting: Sequence[Stage] = []
    if rules is not None:
        acting = [Respond(rules)]
    if rules is not None or targets:
        # A rule may forward even when no default target is set.
        acting = [*acting, Forward(targets)]
    from inspector.core.listener.gates import PathPrefix, RequireSignature

    signed_only: Sequence[Stage] = [RequireSignature(keyring)] if require_signature else []
    served: list[Stage] = [
        ReadBody(body_limit, read_timeout),
        Verify(keyring),
        *signed_only,
        store,
        *acting,
        Announce(store.store, store.on_stored),
    ]
    if path_prefix:
        served = [PathPrefix(path_prefix, served)]
    return [*served, Answer()]
