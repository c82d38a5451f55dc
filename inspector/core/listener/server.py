"""The embedded HTTP listener: receives webhooks, stores them, and only then answers.

aiohttp runs on its own asyncio loop in one background thread. Each request goes through
the stages of ``pipeline.py`` (read exactly as it arrived, verify both signatures over
those bytes, store through the store's group commit, answer): the client gets its answer
only after the commit, so a 2xx means "on disk".
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from inspector.core.callbacks import Callbacks
from inspector.core.capture import Capture
from inspector.core.errors import ListenerError, RulesError
from inspector.core.listener.gates import (
    NO_KEY_FOR_SIGNED_ONLY,
    PathPrefix,
    normalize_path_prefix,
)
from inspector.core.listener.handle import (
    ListenerBase,
    ListenerConfig,
    ListenerState,
    ListenerStatus,
    is_loopback,
    notice_of,
)
from inspector.core.listener.pipeline import (
    ForwardTargets,
    Inbound,
    Stage,
    StoreCapture,
    default_stages,
)
from inspector.core.rules import RulesFile

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing
    from inspector.core.store import Store

__all__ = ["KEEPALIVE_TIMEOUT", "Listener"]

log = logging.getLogger("inspector.core.listener")

# Idle keep-alive connections are closed after this. Tunnels (ngrok, cloudflared) pool
# connections and break if the server closes first, so stay above their idle timeouts.
KEEPALIVE_TIMEOUT = 300.0
KEY_RELOAD_INTERVAL = 1.0
#: Where the window keeps these settings, as its menus name them: messages point users there.
SETTINGS_IN_WINDOW = "in the window: Listener → Listener settings…"


def _usable_prefix(prefix: str | None) -> str | None:
    """The configured prefix as compared; an unusable one is refused at start."""
    try:
        return normalize_path_prefix(prefix)
    except ValueError:
        return prefix.rstrip("/") if prefix else None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


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


class Listener(ListenerBase):
    """Receives webhooks on a local port and stores each one before answering.

    Thread-safe to drive from any thread: ``start``/``stop`` block until done. Subscriber
    callbacks run on the listener's own thread and must be quick (hand off, don't work).
    """

    def __init__(
        self, store: Store, keyring: KeyRing, config: ListenerConfig | None = None
    ) -> None:
        super().__init__(config)
        self._store = store
        self._keyring = keyring
        self._lock = threading.RLock()
        self._capture_subscribers: Callbacks[Capture] = Callbacks("capture subscriber")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.BaseRunner | None = None
        self._reload_task: asyncio.Task[None] | None = None
        self._tls = False
        self._in_flight = 0
        self._drained: asyncio.Event | None = None
        cfg = self._config
        self._store_stage = StoreCapture(
            store, self._notify, queue_limit=cfg.queue_limit, body_limit=cfg.body_limit
        )
        self._rules = (
            RulesFile(cfg.rules_file, required=cfg.rules_must_exist)
            if cfg.rules_file is not None
            else None
        )
        self._stages: list[Stage] = default_stages(
            body_limit=cfg.body_limit,
            read_timeout=cfg.read_timeout,
            keyring=keyring,
            store=self._store_stage,
            rules=self._rules,
            forward=ForwardTargets(
                cfg.forward_to, cfg.forward_paths, cfg.forward_timeout, cfg.forward_fallback
            ),
            require_signature=cfg.require_signature,
            path_prefix=_usable_prefix(cfg.path_prefix),
        )
        self._prefix_gate = next((s for s in self._stages if isinstance(s, PathPrefix)), None)
        self._refused_before = 0
        self._last_reload_error: str | None = None
        self._last_rules_error: str | None = None

    # -- public surface -------------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        """The most recent failure to store a capture (answered 503); None once storing works."""
        return self._store_stage.last_error

    @property
    def refused_outside_prefix(self) -> int:
        """Requests refused for a path outside the prefix since the last start."""
        gate = self._prefix_gate
        return gate.refused - self._refused_before if gate is not None else 0

    def subscribe_captures(self, callback: Callable[[Capture], None]) -> Callable[[], None]:
        """Like :meth:`subscribe`, with the whole stored capture, body and all (for the
        command line, which prints or forwards what it stored)."""
        return self._capture_subscribers.add(callback)

    def start(self) -> ListenerStatus:
        """Bind and start serving; returns once listening. Raises ListenerError on failure."""
        with self._lock:
            if self._status.state is ListenerState.LISTENING:
                return self._status
            self._set_status(ListenerStatus(ListenerState.STARTING))
            try:
                self._check_config()
                if self._prefix_gate is not None:
                    self._refused_before = self._prefix_gate.refused
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
            # With a prefix, the URL to give Fluent is the prefix's (its parent answers 404).
            path = _usable_prefix(self._config.path_prefix) or "/"
            url = f"{scheme}://{_url_host(self._config.host)}:{self._bound_port}{path}"
            self._set_status(ListenerStatus(ListenerState.LISTENING, url=url))
            return self._status

    def start_async(self) -> ListenerStatus:
        """Binding takes milliseconds here, so this starts at once; never raises
        ListenerError (the status says why it failed)."""
        try:
            return self.start()
        except ListenerError:
            return self._status

    def reload_keys(self, timeout: float = 2.0) -> bool:
        """Re-read the key ring now (the listener also does within ~1 s by itself)."""
        del timeout  # same thread of this process: done when this returns
        try:
            self._keyring.reload_if_changed()
        except Exception as exc:
            self._note_reload_error(exc)
            return False
        return True

    def reload_rules(self, timeout: float = 2.0) -> str | None:
        """Re-read the rules file now (the listener also does within ~1 s by itself): None
        once the file's rules apply, else why not (the previous rules stay)."""
        del timeout  # same process: done when this returns
        if self._rules is None:
            return "This listener was started without a rules file (--rules FILE)."
        try:
            self._rules.reload_if_changed()
        except RulesError as exc:
            self._note_rules_error(exc)
            return str(exc)
        self._last_rules_error = None
        return None

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
        if cfg.queue_limit < 1:
            raise ListenerError(
                f"The write queue limit must be at least 1 (got {cfg.queue_limit}): set it "
                "to a number of captures, e.g. 1000 (--queue-limit N)."
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
        self._check_forward()
        self._check_gates()
        if self._rules is not None:
            try:
                self._rules.load()
            except RulesError as exc:
                raise ListenerError(f"Not listening: {exc}") from exc

    def _check_forward(self) -> None:
        from inspector.core.forward import check_target_url

        cfg = self._config
        targets = [("forward target", cfg.forward_to)] if cfg.forward_to else []
        targets += [(f"forward target for {glob}", url) for glob, url in cfg.forward_paths]
        for what, url in targets:
            try:
                check_target_url(url, what)
            except ValueError as exc:
                raise ListenerError(f"{exc} (--forward-to, or {SETTINGS_IN_WINDOW})") from exc
        if not cfg.forward_timeout > 0:
            raise ListenerError(
                f"The forward timeout must be positive (got {cfg.forward_timeout:g}): set it "
                "to a number of seconds, e.g. 10 (--forward-timeout S)."
            )
        if not 200 <= cfg.forward_fallback <= 599:
            raise ListenerError(
                f"The forward fallback must be an HTTP status from 200 to 599 (got "
                f"{cfg.forward_fallback}): e.g. 502 (--forward-fallback STATUS)."
            )

    def _check_gates(self) -> None:
        cfg = self._config
        if cfg.path_prefix:
            try:
                normalize_path_prefix(cfg.path_prefix)
            except ValueError as exc:
                raise ListenerError(f"{exc} (--path-prefix, or {SETTINGS_IN_WINDOW})") from exc
        if cfg.require_signature:
            # The ring as it is on disk now (a key added a moment ago counts), not as it
            # was when this listener was made.
            with contextlib.suppress(Exception):
                self._keyring.reload_if_changed()
            if not self._keyring.keys():
                raise ListenerError(f"Not listening: {NO_KEY_FOR_SIGNED_ONLY}")

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
        try:
            await self._shutdown_runner(runner, timeout)
        finally:
            for stage in self._stages:
                close = getattr(stage, "aclose", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        await close()

    async def _shutdown_runner(self, runner: web.BaseRunner, timeout: float) -> None:
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
        # The rules file is followed the same way, so the window's rules editor (or any
        # editor) applies without a restart.
        while True:
            await asyncio.sleep(KEY_RELOAD_INTERVAL)
            try:
                self._keyring.reload_if_changed()
                self._last_reload_error = None
            except Exception as exc:
                self._note_reload_error(exc)
            if self._rules is not None:
                try:
                    if self._rules.reload_if_changed():
                        log.info("rules reloaded from %s", self._rules.path)
                    self._last_rules_error = None
                except RulesError as exc:
                    self._note_rules_error(exc)

    def _note_rules_error(self, exc: Exception) -> None:
        message = str(exc)
        if message != self._last_rules_error:
            log.warning("keeping the previous rules: %s", exc)
            self._last_rules_error = message

    def _note_reload_error(self, exc: Exception) -> None:
        message = str(exc)
        if message != self._last_reload_error:
            log.warning("could not reload the key ring, keeping the previous keys: %s", exc)
            self._last_reload_error = message

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
            inbound = Inbound.of(request, tls=self._tls)
            for stage in self._stages:
                await stage.run(inbound)
            assert inbound.answer is not None, "the last stage answers"
            return inbound.answer
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._drained is not None:
                self._drained.set()

    def _notify(self, capture: Capture) -> None:
        self._capture_subscribers(capture)
        if self._subscribers:
            self._subscribers(notice_of(capture))
