"""Where Fluent clients run: one background event loop thread, and one client per profile.

The GUI never awaits on its own thread: it submits coroutines to :class:`ApiRunner` and gets
``concurrent.futures.Future`` objects back; :class:`ClientPool` keeps one
:class:`~.client.FluentClient` per profile so connections and tokens are reused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from inspector.core.fluent.errors import FluentApiError
from inspector.core.fluent.profiles import Profile
from inspector.core.secrets import SecretStore

if TYPE_CHECKING:
    # Imported in ClientPool.get: the client pulls in httpx and graphql-core (~0.3 s), which
    # the window's first paint does not need.
    from inspector.core.fluent.client import FluentClient

__all__ = ["ApiRunner", "ClientPool"]

T = TypeVar("T")


class ApiRunner:
    """One background thread running an asyncio loop for API clients (never the GUI thread)."""

    def __init__(self, name: str = "fluent-api") -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()
        self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine; ``future.cancel()`` cancels the task (and its HTTP request)."""
        if self._loop.is_closed() or not self._thread.is_alive():
            coro.close()
            raise FluentApiError("The API runner is closed; create a new one.")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the background loop and wait for its result."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("ApiRunner.run() called from its own loop thread; await instead")
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()


class ClientPool:
    """One :class:`FluentClient` per profile, reused; rebuilt when the profile changes."""

    def __init__(self, secrets: SecretStore, runner: ApiRunner, **client_kwargs: Any) -> None:
        self._secrets = secrets
        self._runner = runner
        self._kwargs = client_kwargs
        self._clients: dict[str, FluentClient] = {}
        self._lock = threading.Lock()

    def get(self, profile: Profile) -> FluentClient:
        profile = profile.validated()
        with self._lock:
            client = self._clients.get(profile.name)
            if client is not None and client.profile == profile:
                return client
            if client is not None:
                self._runner.submit(client.aclose())
            from inspector.core.fluent.client import FluentClient

            client = FluentClient(profile, self._secrets, **self._kwargs)
            self._clients[profile.name] = client
            return client

    def discard(self, name: str) -> None:
        """Drop a profile's client (after removing the profile or changing its secrets)."""
        with self._lock:
            client = self._clients.pop(name, None)
        if client is not None:
            self._runner.submit(client.aclose())

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            with contextlib.suppress(Exception):
                self._runner.run(client.aclose(), timeout=5)
