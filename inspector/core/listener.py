"""The embedded HTTP listener: receives webhooks, stores them, and only then answers.

aiohttp runs on its own asyncio loop in one background thread. Each request is read
exactly as it arrived (raw target, header pairs with case/order/duplicates, body bytes),
both signatures are verified over those bytes, and the capture goes to the store's group
commit. The client gets its answer only after the commit, so a 2xx means "on disk".
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from inspector.core.callbacks import Callbacks
from inspector.core.capture import (
    Capture,
    Headers,
    ResponseRecord,
    SignatureCheck,
    new_capture_id,
    split_target,
    utc_now,
)
from inspector.core.errors import ListenerError
from inspector.core.events import EventSummary, parse_event
from inspector.core.signatures import verify_headers

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing, PublicKey
    from inspector.core.store import Store

__all__ = [
    "Listener",
    "ListenerConfig",
    "ListenerState",
    "ListenerStatus",
    "is_loopback",
]

log = logging.getLogger(__name__)

# Above this, verification and JSON parsing move to a worker thread so one huge body
# does not stall every other connection on the loop.
OFFLOAD_BYTES = 256 * 1024
# Idle keep-alive connections are closed after this. Tunnels (ngrok, cloudflared) pool
# connections and break if the server closes first, so stay above their idle timeouts.
KEEPALIVE_TIMEOUT = 300.0
KEY_RELOAD_INTERVAL = 1.0
_JSON_HEADERS: Headers = (("Content-Type", "application/json"),)


#: Where the window keeps these settings, as its menus name them: messages point users there.
SETTINGS_IN_WINDOW = "in the window: Listener → Listener settings…"


class ListenerState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    LISTENING = "listening"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    """0 picks a free port (tests)."""
    body_limit: int = 10 * 1024 * 1024
    read_timeout: float = 30.0
    """Seconds a request body may take to arrive once its headers are in."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allow_remote: bool = False
    """Required to bind any address that is not loopback."""


@dataclass(frozen=True, slots=True)
class ListenerStatus:
    state: ListenerState
    url: str | None = None
    """E.g. ``http://127.0.0.1:8765/`` once listening, with the actual port."""
    error: str | None = None
    """User-facing reason when FAILED."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.x``, ``::1``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _json_body(payload: dict[str, str]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _received_body(capture_id: str) -> bytes:
    return b'{"status":"received","id":"' + capture_id.encode("ascii") + b'"}'


def _format_remote(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer) if peer else ""


class _ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's logger, minus the alarm for malformed client input.

    aiohttp logs every unparseable request at ERROR with a traceback; that is a client's
    mistake (or a port scanner), not ours, so it goes to DEBUG. Real failures stay ERROR.
    """

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        if isinstance(msg, str) and msg.startswith("Error handling request"):
            self.debug(msg, *args, exc_info=exc_info, **kw)
        else:
            self.error(msg, *args, exc_info=exc_info, **kw)


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


def _inspect(
    headers: Headers, body: bytes, keys: tuple[PublicKey, ...]
) -> tuple[tuple[SignatureCheck, ...], EventSummary | None]:
    return verify_headers(headers, body, keys), parse_event(body)


class Listener:
    """Receives webhooks on a local port and stores each one before answering.

    Thread-safe to drive from any thread: ``start``/``stop`` block until done. Subscriber
    callbacks run on the listener's own thread and must be quick (hand off, don't work).
    """

    def __init__(
        self, store: Store, keyring: KeyRing, config: ListenerConfig | None = None
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._config = config if config is not None else ListenerConfig()
        self._lock = threading.RLock()
        self._status = ListenerStatus(ListenerState.STOPPED)
        self._subscribers: Callbacks[Capture] = Callbacks("capture subscriber")
        self._status_callbacks: Callbacks[ListenerStatus] = Callbacks("listener status callback")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.BaseRunner | None = None
        self._reload_task: asyncio.Task[None] | None = None
        self._bound_port = 0
        self._tls = False
        self._in_flight = 0
        self._drained: asyncio.Event | None = None
        self._last_error: str | None = None
        self._last_reload_error: str | None = None

    # -- public surface -------------------------------------------------------------------

    @property
    def config(self) -> ListenerConfig:
        return self._config

    @property
    def status(self) -> ListenerStatus:
        return self._status

    @property
    def port(self) -> int:
        """The bound port while listening (the real one when configured as 0)."""
        return self._bound_port if self._bound_port else self._config.port

    @property
    def last_error(self) -> str | None:
        """The most recent failure to store a capture (answered 503); None once storing works."""
        return self._last_error

    def subscribe(self, callback: Callable[[Capture], None]) -> Callable[[], None]:
        """Call ``callback(capture)`` for every capture once it is committed (rejected too).

        Runs on the listener thread before the client gets its answer. Returns a function
        that unsubscribes. A callback that raises is logged and does not affect serving.
        """
        return self._subscribers.add(callback)

    def on_status(self, callback: Callable[[ListenerStatus], None]) -> Callable[[], None]:
        """Call ``callback(status)`` on every state change, on the thread that caused it."""
        return self._status_callbacks.add(callback)

    def start(self) -> ListenerStatus:
        """Bind and start serving; returns once listening. Raises ListenerError on failure."""
        with self._lock:
            if self._status.state is ListenerState.LISTENING:
                return self._status
            self._set_status(ListenerStatus(ListenerState.STARTING))
            try:
                self._check_config()
                ssl_context = self._ssl_context()
                self._tls = ssl_context is not None
                self._start_loop()
                assert self._loop is not None
                future = asyncio.run_coroutine_threadsafe(self._bind(ssl_context), self._loop)
                try:
                    future.result()
                except BaseException:
                    self._stop_loop(timeout=5.0)
                    raise
            except ListenerError as exc:
                self._set_status(ListenerStatus(ListenerState.FAILED, error=str(exc)))
                raise
            except Exception as exc:
                # Anything unforeseen still reaches the user as something actionable.
                log.exception("listener failed to start")
                message = (
                    f"The listener could not start on {self._address()}: {exc}. "
                    "Try another port, or restart the application."
                )
                self._set_status(ListenerStatus(ListenerState.FAILED, error=message))
                raise ListenerError(message) from exc
            scheme = "https" if self._tls else "http"
            url = f"{scheme}://{_url_host(self._config.host)}:{self._bound_port}/"
            self._set_status(ListenerStatus(ListenerState.LISTENING, url=url))
            return self._status

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let in-flight requests finish (up to ``timeout``), stop the thread.

        Idempotent; safe to call when never started or after a failed start. Not from a
        subscriber callback: those run on the listener thread, which stop() must join.
        """
        if self._thread is not None and threading.current_thread() is self._thread:
            raise RuntimeError("Listener.stop() cannot run on the listener's own thread")
        with self._lock:
            if self._loop is None:
                if self._status.state is not ListenerState.STOPPED:
                    self._set_status(ListenerStatus(ListenerState.STOPPED))
                return
            self._stop_loop(timeout)
            self._bound_port = 0
            self._set_status(ListenerStatus(ListenerState.STOPPED))

    # -- lifecycle internals ----------------------------------------------------------------

    def _address(self) -> str:
        return f"{_url_host(self._config.host)}:{self._config.port}"

    def _check_config(self) -> None:
        cfg = self._config
        if not 0 <= cfg.port <= 65535:
            raise ListenerError(
                f"Port {cfg.port} is not a valid port: pick one from 1024 to 65535 "
                f"(--port N, or {SETTINGS_IN_WINDOW})."
            )
        if cfg.body_limit <= 0:
            raise ListenerError(
                f"The body size limit must be positive (got {cfg.body_limit}): "
                "set it to a number of bytes, e.g. 10485760 for 10 MiB."
            )
        if cfg.read_timeout <= 0:
            raise ListenerError(
                f"The read timeout must be positive (got {cfg.read_timeout}): "
                "set it to a number of seconds, e.g. 30."
            )
        if not cfg.allow_remote and not is_loopback(cfg.host):
            shown = cfg.host or "all interfaces"
            raise ListenerError(
                f"Refusing to listen on {shown}: anyone on that network could post to it. "
                "Pass --allow-remote if you mean it."
            )

    def _ssl_context(self) -> ssl.SSLContext | None:
        cert, key = self._config.tls_cert, self._config.tls_key
        if cert is None and key is None:
            return None
        if cert is None:
            raise ListenerError(
                f"A TLS key ({key}) was given without a certificate: "
                "give both --tls-cert and --tls-key, or neither for plain HTTP."
            )
        for label, path in (("certificate", cert), ("key", key)):
            if path is not None and not Path(path).is_file():
                raise ListenerError(
                    f"TLS {label} file not found: {path}. Check the path, or leave out the "
                    "TLS options to listen on plain HTTP."
                )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(str(cert), str(key) if key is not None else None)
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise ListenerError(
                f"Cannot use TLS certificate {cert} with key {key}: {reason}. Both must be "
                "PEM files, the key must match the certificate and must not need a password."
            ) from exc
        return context

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="inspector-listener", daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread

    def _stop_loop(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(timeout), loop)
            try:
                future.result(timeout=timeout + 2.0)
            except Exception:
                log.warning("listener did not shut down cleanly", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout + 2.0)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    async def _bind(self, ssl_context: ssl.SSLContext | None) -> None:
        cfg = self._config
        # The low-level server, not an Application: every path and method goes to one
        # handler anyway, and skipping routing and the middleware chain is a measurable part
        # of the per-request cost. The price is answering "Expect: 100-continue" ourselves.
        server = web.Server(
            self._handle,
            access_log=None,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            # Keep the body as it came over the wire: the signatures cover those bytes.
            auto_decompress=False,
            logger=_ServerLog(logging.getLogger(__name__ + ".http"), {}),
        )
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        # "localhost" may resolve to both 127.0.0.1 and ::1, and with port 0 each would get
        # a different port; one well-defined socket is what users and tunnels expect.
        host = "127.0.0.1" if cfg.host.lower() == "localhost" else cfg.host
        site = web.TCPSite(runner, host or None, cfg.port, ssl_context=ssl_context)
        try:
            await site.start()
        except BaseException as exc:
            await runner.cleanup()
            if isinstance(exc, OSError):
                raise self._bind_error(exc) from exc
            raise
        self._runner = runner
        self._bound_port = site.port
        try:
            self._keyring.reload_if_changed()
        except Exception as exc:
            self._note_reload_error(exc)
        self._reload_task = asyncio.get_running_loop().create_task(self._reload_keys())

    def _bind_error(self, exc: OSError) -> ListenerError:
        host, port = self._config.host or "all interfaces", self._config.port
        if isinstance(exc, socket.gaierror):
            return ListenerError(
                f"Cannot listen on {host}: that host name does not resolve ({exc.strerror}). "
                "Use 127.0.0.1, or an IP address of this computer."
            )
        code = exc.errno
        if code == errno.EADDRINUSE:
            return ListenerError(
                f"Port {port} on {host} is already in use by another program: stop it, "
                f"or pick another port (--port N, or {SETTINGS_IN_WINDOW})."
            )
        if code == errno.EADDRNOTAVAIL:
            return ListenerError(
                f"Cannot listen on {host}: that address does not belong to this computer. "
                "Use 127.0.0.1, or an address of one of this computer's network interfaces."
            )
        if code in (errno.EACCES, errno.EPERM):
            return ListenerError(
                f"Permission denied listening on port {port} of {host}: ports below 1024 "
                "need administrator rights. Pick a port of 1024 or above (e.g. 8765) and let "
                "your tunnel map 443 to it."
            )
        reason = exc.strerror or str(exc)
        return ListenerError(
            f"Cannot listen on {host} port {port}: {reason}. "
            f"Pick another host or port (--host/--port, or {SETTINGS_IN_WINDOW})."
        )

    async def _shutdown(self, timeout: float) -> None:
        if self._reload_task is not None:
            self._reload_task.cancel()
            self._reload_task = None
        runner, self._runner = self._runner, None
        if runner is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for site in list(runner.sites):
            await site.stop()
        # aiohttp's own graceful shutdown stops reading from every connection at once, so a
        # body still arriving would never complete; drain our handlers first, then clean up.
        if self._in_flight:
            self._drained = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self._drained.wait()
            self._drained = None
        # aiohttp only takes the grace period for the rest at construction.
        runner._shutdown_timeout = max(0.1, deadline - loop.time())
        await runner.cleanup()
        # Connection tasks that aiohttp cancelled still need loop turns to finish and close
        # their transports; stopping the loop under them would leak sockets.
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await asyncio.sleep(0)
        await loop.shutdown_default_executor()

    async def _reload_keys(self) -> None:
        # Keys added by `fluent-inspector keys add` in another process land in the key
        # file; a stat a second picks them up without touching the per-request path.
        while True:
            await asyncio.sleep(KEY_RELOAD_INTERVAL)
            try:
                self._keyring.reload_if_changed()
                self._last_reload_error = None
            except Exception as exc:
                self._note_reload_error(exc)

    def _note_reload_error(self, exc: Exception) -> None:
        message = str(exc)
        if message != self._last_reload_error:
            log.warning("could not reload the key ring, keeping the previous keys: %s", exc)
            self._last_reload_error = message

    def _set_status(self, status: ListenerStatus) -> None:
        self._status = status
        self._status_callbacks(status)

    # -- request path (loop thread) ---------------------------------------------------------

    async def _expect(self, request: web.BaseRequest) -> web.StreamResponse | None:
        # A body we will refuse gets no "100 Continue": the handler answers 413 at once.
        length = request.content_length
        if length is not None and length > self._config.body_limit:
            return None
        expect = request.headers.get("Expect", "")
        if request.version >= (1, 1):
            if expect.lower() == "100-continue":
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                request.writer.output_size = 0
            else:
                raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
        return None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self._in_flight += 1
        try:
            if "Expect" in request.headers:
                # What web.Application does before calling a route's handler.
                early = await self._expect(request)
                await request.writer.drain()
                if early is not None:
                    return early
            return await self._process(request)
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._drained is not None:
                self._drained.set()

    async def _process(self, request: web.BaseRequest) -> web.StreamResponse:
        received_at = utc_now()
        capture_id = new_capture_id()
        headers: Headers = tuple(
            [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in request.raw_headers
            ]
        )
        transport = request.transport
        remote = _format_remote(transport.get_extra_info("peername") if transport else None)
        target = request.raw_path
        path, query = split_target(target)
        method = request.method

        def without_body() -> Capture:
            return Capture(
                id=capture_id,
                received_at=received_at,
                method=method,
                target=target,
                path=path,
                query=query,
                headers=headers,
                body=b"",
                remote=remote,
                tls=self._tls,
            )

        limit = self._config.body_limit
        length = request.content_length
        if length is not None and length > limit:
            return await self._reject(
                without_body(), 413, f"body too large: {length} bytes > limit {limit}", length
            )
        content = request.content
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
                async with asyncio.timeout(self._config.read_timeout):
                    body = await reader.read(content, limit)
            except TimeoutError:
                timeout = self._config.read_timeout
                return await self._reject(
                    without_body(),
                    408,
                    f"body not received within {timeout:g} s (got {reader.size} bytes)",
                    reader.size,
                    close=True,
                )
            size = reader.size
        if body is None:
            return await self._reject(
                without_body(), 413, f"body too large: {size} bytes > limit {limit}", size
            )

        keys = self._keyring.keys()
        if len(body) > OFFLOAD_BYTES:
            loop = asyncio.get_running_loop()
            signatures, event = await loop.run_in_executor(None, _inspect, headers, body, keys)
        else:
            signatures = verify_headers(headers, body, keys)
            event = parse_event(body)
        response = ResponseRecord(200, _JSON_HEADERS, _received_body(capture_id))
        capture = Capture(
            id=capture_id,
            received_at=received_at,
            method=method,
            target=target,
            path=path,
            query=query,
            headers=headers,
            body=body,
            remote=remote,
            tls=self._tls,
            response=response,
            signatures=signatures,
            event=event,
        )
        try:
            stored = await self._store.submit_async(capture)
        except Exception as exc:
            return self._store_failed(capture_id, exc)
        if self._last_error is not None:
            self._last_error = None
        self._notify(stored)
        return web.Response(status=response.status, headers=response.headers, body=response.body)

    async def _reject(
        self,
        base: Capture,
        status: int,
        reason: str,
        body_size: int | None,
        *,
        close: bool = False,
    ) -> web.StreamResponse:
        response = ResponseRecord(
            status,
            _JSON_HEADERS,
            _json_body({"status": "rejected", "id": base.id, "reason": reason}),
        )
        capture = base.with_(response=response, rejected=reason, body_size=body_size)
        try:
            stored = await self._store.submit_async(capture)
        except Exception as exc:
            self._record_store_error(exc)
        else:
            self._notify(stored)
        answer = web.Response(status=status, headers=response.headers, body=response.body)
        if close:
            # The rest of the body may still trickle in; this connection is done.
            answer.force_close()
        return answer

    def _store_failed(self, capture_id: str, exc: Exception) -> web.StreamResponse:
        message = self._record_store_error(exc)
        body = _json_body(
            {
                "status": "not_stored",
                "id": capture_id,
                "error": f"The capture was not stored ({message}); please retry.",
            }
        )
        return web.Response(status=503, headers=_JSON_HEADERS, body=body)

    def _record_store_error(self, exc: Exception) -> str:
        message = str(exc) or type(exc).__name__
        if message != self._last_error:
            # Logged once per distinct failure, not per request: a full disk at 10k req/s
            # would otherwise bury the log.
            log.error("could not store a capture, answering 503: %s", message)
        self._last_error = message
        return message

    def _notify(self, capture: Capture) -> None:
        self._subscribers(capture)
