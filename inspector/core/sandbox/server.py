"""An offline stand-in for a Fluent account on loopback: OAuth + GraphQL, and webhook scenarios.

:class:`Sandbox` serves ``/oauth/token`` (password and single-use refresh grants) and
``/graphql`` (graphql-core over :mod:`.schema`) from the in-memory :mod:`.data`, and plays
:mod:`.scenarios` that post signed webhooks to any URL. It runs on its own thread and event
loop, like the listener; test hooks force 401/429/500, slow answers, refused introspection
and permission errors that leave partial data.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from graphql import graphql

from inspector.core.sandbox.data import DemoData
from inspector.core.sandbox.errors import SandboxError
from inspector.core.sandbox.scenarios import Stage, get_scenario
from inspector.core.sandbox.schema import resolved_schema
from inspector.core.sandbox.webhooks import Delivery, fluent_event, load_demo_private_key

__all__ = ["Sandbox"]

log = logging.getLogger(__name__)

DEFAULT_CLIENT_ID: Final = "sandbox"
DEFAULT_CLIENT_SECRET: Final = "sandbox-secret"
DEFAULT_USERNAME: Final = "demo"
DEFAULT_PASSWORD: Final = "demo"


@dataclass(slots=True)
class _Fault:
    status: int
    times: int
    retry_after: float | None
    body: dict[str, Any] | None


class Sandbox:
    """Offline Fluent account on loopback. ``start()`` binds; ``base_url`` is the API root."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        account: str = "DEMO",
        retailer_id: str = "1",
        token_ttl: float = 86400.0,
        issue_refresh_tokens: bool = True,
        signing_key: RSAPrivateKey | None = None,
        emit_timeout: float = 10.0,
    ) -> None:
        self._requested_port = port
        self.host = host
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.account = account
        self.retailer_id = retailer_id
        self.token_ttl = token_ttl
        """Lifetime of new access tokens in seconds (short values make expiry testable)."""
        self.issue_refresh_tokens = issue_refresh_tokens
        self.refuse_introspection = False
        """When True, ``__schema``/``__type`` queries get an error, as on locked-down accounts."""
        self.emit_timeout = emit_timeout
        self._signing_key = signing_key
        self.data = DemoData(retailer_id)
        self._denied: dict[str, str] = {}
        self._schema = resolved_schema(self.data, self._denied)
        self._access: dict[str, float] = {}
        self._refresh: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[float]] = {}
        self.grants: list[str] = []
        """Grant types of successful token requests, in order (for tests and the demo log)."""
        self.requests: list[tuple[str, int]] = []
        """(path, status) of every request served."""
        self.arrived: dict[str, int] = {}
        """Requests received per path, counted on arrival (before any forced delay)."""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self) -> Sandbox:
        with self._lock:
            if self._runner is not None:
                return self
            self._loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                assert self._loop is not None
                asyncio.set_event_loop(self._loop)
                self._loop.call_soon(ready.set)
                self._loop.run_forever()

            self._thread = threading.Thread(target=run, name="fluent-sandbox", daemon=True)
            self._thread.start()
            ready.wait()
            try:
                asyncio.run_coroutine_threadsafe(self._bind(), self._loop).result()
            except OSError as exc:
                self._stop_loop()
                raise SandboxError(
                    f"The sandbox could not listen on {self.host}:{self._requested_port} "
                    f"({exc.strerror or exc}); pick another port or stop what uses it."
                ) from exc
            log.info("sandbox serving %s", self.base_url)
            return self

    async def _bind(self) -> None:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post("/oauth/token", self._handle_token)
        app.router.add_post("/graphql", self._handle_graphql)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1]) if sockets else self._requested_port
        self._runner = runner

    def stop(self) -> None:
        with self._lock:
            if self._loop is None:
                return
            if self._runner is not None:
                runner = self._runner
                self._runner = None

                async def shutdown() -> None:
                    if self._closing is not None:
                        self._closing.set()
                    # Scenarios still playing are ended here, on their loop: a task left
                    # pending when the loop closes is reported as destroyed at exit.
                    current = asyncio.current_task()
                    playing = [t for t in asyncio.all_tasks() if t is not current]
                    for task in playing:
                        task.cancel()
                    await asyncio.gather(*playing, return_exceptions=True)
                    await runner.cleanup()

                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._stop_loop()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(10)
        loop.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the sandbox loop (data is only touched there) and return its result."""
        if self._loop is None:
            return fn()

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    # -- test hooks ------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        path: str = "/graphql",
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` (401, 429, 500...)."""
        self._call(
            lambda: self._faults.setdefault(path, []).append(
                _Fault(status, times, retry_after, body)
            )
        )

    def delay_next(self, seconds: float, *, times: int = 1, path: str = "/graphql") -> None:
        """Hold the next ``times`` answers on ``path`` for ``seconds`` (to provoke timeouts)."""
        self._call(lambda: self._delays.setdefault(path, []).extend([seconds] * times))

    def deny_field(self, type_field: str, permission: str) -> None:
        """Make ``Type.field`` fail with Fluent's C0020E permission error (partial data)."""
        self._call(lambda: self._denied.__setitem__(type_field, permission))

    def allow_all(self) -> None:
        self._call(self._denied.clear)

    def expire_tokens(self) -> None:
        """Invalidate every access token now (refresh tokens stay valid)."""
        self._call(self._access.clear)

    # -- OAuth -----------------------------------------------------------------------------

    async def _preamble(self, request: web.Request) -> web.StreamResponse | None:
        path = request.path
        self.arrived[path] = self.arrived.get(path, 0) + 1
        delays = self._delays.get(path)
        if delays:
            delay = delays.pop(0)
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        faults = self._faults.get(path)
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            body = fault.body or {"error": "forced", "error_description": f"HTTP {fault.status}"}
            return web.json_response(body, status=fault.status, headers=headers)
        return None

    def _record(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        self.requests.append((request.path, response.status))
        return response

    async def _handle_token(self, request: web.Request) -> web.StreamResponse:
        forced = await self._preamble(request)
        if forced is not None:
            return self._record(request, forced)
        form: dict[str, str] = {k: v for k, v in request.query.items()}
        with contextlib.suppress(ValueError):
            posted = await request.post()
            form.update({k: v for k, v in posted.items() if isinstance(v, str)})
        return self._record(request, self._token_answer(form))

    def _token_answer(self, form: Mapping[str, str]) -> web.Response:
        def oauth_error(status: int, error: str, description: str) -> web.Response:
            return web.json_response(
                {"error": error, "error_description": description}, status=status
            )

        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return oauth_error(401, "invalid_client", "Bad client credentials")
        grant = form.get("grant_type", "")
        if grant == "password":
            if form.get("username") != self.username or form.get("password") != self.password:
                return oauth_error(400, "invalid_grant", "Bad credentials")
            if form.get("scope", "api") != "api":
                return oauth_error(400, "invalid_scope", "Invalid scope")
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self._refresh:
                return oauth_error(400, "invalid_grant", f"Invalid refresh token: {refresh[:4]}…")
            self._refresh.discard(refresh)
        else:
            return oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        token = secrets.token_urlsafe(24)
        self._access[token] = time.monotonic() + self.token_ttl
        self.grants.append(grant)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(self.token_ttl) if self.token_ttl >= 1 else self.token_ttl,
            "scope": "api",
            "Retailer_id": self.retailer_id,
        }
        if self.issue_refresh_tokens:
            refresh_token = secrets.token_urlsafe(24)
            self._refresh.add(refresh_token)
            answer["refresh_token"] = refresh_token
        return web.json_response(answer)

    # -- GraphQL ---------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        expires = self._access.get(token.strip())
        if expires is None:
            return False
        if time.monotonic() >= expires:
            del self._access[token.strip()]
            return False
        return True

    async def _handle_graphql(self, request: web.Request) -> web.StreamResponse:
        forced = await self._preamble(request)
        if forced is not None:
            return self._record(request, forced)
        if not self._authorized(request):
            return self._record(
                request,
                web.json_response(
                    {"error": "invalid_token", "error_description": "Access token expired"},
                    status=401,
                ),
            )
        try:
            payload = await request.json()
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._record(
                request,
                web.json_response(
                    {"errors": [{"message": 'Body must be {"query": ...}'}]}, status=400
                ),
            )
        query: str = payload["query"]
        if self.refuse_introspection and ("__schema" in query or "__type(" in query):
            return self._record(
                request,
                web.json_response(
                    {
                        "errors": [
                            {
                                "message": "Validation error of type FieldUndefined: Field "
                                "'__schema' in type 'Query' is undefined",
                                "extensions": {"classification": "ValidationError"},
                            }
                        ]
                    }
                ),
            )
        variables = payload.get("variables")
        result = await graphql(
            self._schema,
            query,
            variable_values=variables if isinstance(variables, dict) else None,
            operation_name=payload.get("operationName") or None,
        )
        return self._record(request, web.json_response(result.formatted))

    # -- webhooks --------------------------------------------------------------------------

    def _key(self) -> RSAPrivateKey:
        if self._signing_key is None:
            self._signing_key = load_demo_private_key()
        return self._signing_key

    def event(
        self, name: str, entity: Mapping[str, Any], entity_type: str, **kwargs: Any
    ) -> dict[str, Any]:
        """A Fluent event from this account; keywords as :func:`~.webhooks.fluent_event`."""
        return fluent_event(self.account, self.retailer_id, name, entity, entity_type, **kwargs)

    async def _play(
        self, name: str, url: str, step: float, on_delivery: Callable[[Delivery], None] | None
    ) -> list[Delivery]:
        timeout = aiohttp.ClientTimeout(total=self.emit_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            stage = Stage(
                self.data,
                self.account,
                self.retailer_id,
                session,
                self._key(),
                url,
                step,
                on_delivery,
            )
            await get_scenario(name).play(stage)
        return stage.deliveries

    def play(
        self,
        scenario: str,
        url: str,
        *,
        step_seconds: float = 1.0,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> concurrent.futures.Future[list[Delivery]]:
        """Start a scenario posting to ``url``; cancel the returned future to stop it.

        ``step_seconds`` scales every pause (1.0: a second between lifecycle steps and the
        real 0/2/4/8 s retry schedule; tests pass a small value).
        """
        get_scenario(scenario)  # an unknown name fails here, in the caller's thread
        if self._loop is None:
            raise SandboxError("The sandbox is not running; start it first.")
        self._key()  # fail here, in the caller's thread, when the signing key is unusable
        return asyncio.run_coroutine_threadsafe(
            self._play(scenario, url, step_seconds, on_delivery), self._loop
        )

    def run_scenario(self, scenario: str, url: str, *, step_seconds: float = 1.0) -> list[Delivery]:
        """Play a scenario and wait for it to finish."""
        return self.play(scenario, url, step_seconds=step_seconds).result()
