"""Sending a captured request on, byte-exact: the listener's forward stage and replay.

What "byte-exact" means here: the same method; the request's raw path and query appended to
the target URL's path; the headers in the order and case they arrived, with only what HTTP
itself requires rewritten (hop-by-hop headers dropped, ``Host`` set to the target, in its
original place); the exact body bytes. The target's answer comes back raw too (no
decompression), so what the sender gets is what the target sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from inspector.core.capture import Headers

__all__ = [
    "HOP_BY_HOP",
    "Delivery",
    "answer_headers",
    "check_target_url",
    "join_url",
    "outgoing_headers",
    "send_async",
    "send_sync",
]

# RFC 9110 7.6.1: meaningful for one connection only, so never passed on. "Expect" is not
# hop-by-hop, but we already answered its "100 Continue" and hold the whole body: passing
# it on would only make the target wait for a continue nobody needs.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
# The answer's framing is the listener's to write (it sends the exact body bytes we give it).
_ANSWER_DROPPED = HOP_BY_HOP | {"content-length"}


def check_target_url(url: str, what: str = "forward target") -> str:
    """``url`` if it is an http(s) URL with a host; else ValueError saying what to give."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"The {what} {url!r} is not an http:// or https:// URL with a host: give one "
            "like http://127.0.0.1:3000/hooks."
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"The {what} {url!r} has a query or fragment: give only scheme, host, port and "
            "path (each request's own path and query are appended to it)."
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"The {what} {url!r} has an invalid port: {exc}.") from exc
    return text


def join_url(base: str, target: str) -> str:
    """The target URL for a request: ``http://h:3000/int`` + ``/hooks/wms?x=1`` is
    ``http://h:3000/int/hooks/wms?x=1``. The request target is kept as it arrived."""
    root = base.rstrip("/")
    if not target.startswith("/"):
        target = "/" + target
    return root + target


def outgoing_headers(headers: Headers, url: str) -> list[tuple[str, str]]:
    """The received headers as they go on: order and case kept, hop-by-hop ones (and any
    the ``Connection`` header names) dropped, ``Host`` rewritten where it stood."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    out: list[tuple[str, str]] = []
    host_seen = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP or lowered in named:
            continue
        if lowered == "host":
            if host_seen:
                continue
            host_seen = True
            value = netloc
        out.append((name, value))
    if not host_seen:
        out.insert(0, ("Host", netloc))
    return out


def answer_headers(raw: Sequence[tuple[bytes, bytes]]) -> Headers:
    """The target's answer headers, case and order kept, minus its connection's framing."""
    return tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in raw
        if name.decode("latin-1").lower() not in _ANSWER_DROPPED
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """What came back: the target's status, headers and raw body, or why nothing usable."""

    url: str
    status: int | None
    headers: Headers
    body: bytes
    elapsed_ms: float
    error: str | None


def _os_cause(exc: BaseException) -> OSError | None:
    """The operating system's error under httpx's (its own message is generic)."""
    seen: BaseException | None = exc
    found: OSError | None = None
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, OSError):
            found = seen
            if seen.errno is not None:
                return seen  # the specific one (anyio wraps it in a generic OSError)
        seen = seen.__cause__ or seen.__context__
    return found


def _reason(exc: BaseException, timeout: float) -> str:
    """A short reason a person can act on."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        cause = _os_cause(exc)
        if isinstance(cause, ConnectionRefusedError):
            return "target not reachable (connection refused)"
        detail = (cause.strerror if cause is not None else None) or str(exc) or "connect failed"
        return f"target not reachable ({detail})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"target's answer is not valid HTTP ({exc})" if str(exc) else "bad answer"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _request(method: str, url: str, headers: Headers, body: bytes) -> httpx.Request:
    return httpx.Request(method, url, headers=outgoing_headers(headers, url), content=body)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _answered(url: str, response: httpx.Response, raw: bytes, started: float) -> Delivery:
    headers = answer_headers(response.headers.raw)
    return Delivery(url, response.status_code, headers, raw, _since(started), None)


def _undelivered(url: str, exc: BaseException, timeout: float, started: float) -> Delivery:
    return Delivery(url, None, (), b"", _since(started), _reason(exc, timeout))


async def send_async(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: Headers,
    body: bytes,
    timeout: float,
) -> Delivery:
    """Send one request on; never raises for the target's failures (see ``error``)."""
    started = time.perf_counter()
    try:
        # The overall deadline: httpx's own timeouts are per read, and a target that
        # trickles its answer must still count as too slow.
        async with asyncio.timeout(timeout):
            response = await client.send(_request(method, url, headers, body), stream=True)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
    except Exception as exc:
        return _undelivered(url, exc, timeout, started)
    return _answered(url, response, raw, started)


def send_sync(
    client: httpx.Client,
    method: str,
    url: str,
    headers: Headers,
    body: bytes,
    timeout: float,
) -> Delivery:
    """:func:`send_async` for a thread (replay); ``timeout`` applies per network step."""
    started = time.perf_counter()
    try:
        response = client.send(_request(method, url, headers, body), stream=True)
        try:
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
    except Exception as exc:
        return _undelivered(url, exc, timeout, started)
    return _answered(url, response, raw, started)
