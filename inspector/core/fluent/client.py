"""The asynchronous Fluent client: OAuth token lifecycle and GraphQL over httpx.

One :class:`FluentClient` per profile, reused (it pools connections). Tokens: password grant
with ``scope=api``, cached until shortly before ``expires_in``, renewed with the (single-use)
refresh token when one was offered, re-authenticated once on a 401 from GraphQL. Access and
refresh tokens are kept in memory only. Run it on :class:`~.runner.ApiRunner`, or block on
it with :class:`~.sync.SyncFluentClient`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
from graphql import get_introspection_query

from inspector.core.fluent.errors import (
    AuthError,
    FluentApiError,
    HttpStatusError,
    IntrospectionError,
)
from inspector.core.fluent.profiles import Profile
from inspector.core.fluent.request import is_mutation, request_payload
from inspector.core.fluent.result import GraphQLResult
from inspector.core.fluent.schema import SchemaCache
from inspector.core.fluent.transport import (
    RetryPolicy,
    json_object,
    post_with_backoff,
    status_error,
)
from inspector.core.paths import default_data_dir
from inspector.core.secrets import SecretStore

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENV_CLIENT_SECRET",
    "ENV_PASSWORD",
    "MAX_REQUEST_BYTES",
    "FluentClient",
]

log = logging.getLogger(__name__)

ENV_CLIENT_SECRET: Final = "FLUENT_CLIENT_SECRET"
ENV_PASSWORD: Final = "FLUENT_PASSWORD"
DEFAULT_TIMEOUT: Final = 30.0
MAX_REQUEST_BYTES: Final = 2 * 1024 * 1024
"""Fluent answers 413 above this; refusing early gives a clearer message."""


@dataclass(slots=True)
class _Token:
    access_token: str = field(repr=False)
    expires_at: float | None
    refresh_token: str | None = field(default=None, repr=False)
    retailer_id: str | None = None


_OAUTH_HINTS = {
    "invalid_client": "the client id or client secret is wrong",
    "unauthorized_client": "this client id may not use the password grant",
    "invalid_grant": "the username or password is wrong (or the account is locked)",
    "invalid_scope": "the client may not request scope 'api'",
    "invalid_request": "the token request was incomplete",
}


class FluentClient:
    """Asynchronous client for one profile. Build it once and reuse it (it pools connections).

    All coroutines must run on the same event loop (see :class:`ApiRunner`). Cancelling a
    task that awaits :meth:`execute` aborts the HTTP request; the client stays usable.
    """

    def __init__(
        self,
        profile: Profile,
        secrets: SecretStore,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        data_dir: Path | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.profile = profile.validated()
        self._secrets = secrets
        self._transport = transport
        self.timeout = timeout
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self._schema_cache = SchemaCache(self.data_dir, self.profile.name)
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._http: httpx.AsyncClient | None = None
        self._token: _Token | None = None
        self._token_lock: asyncio.Lock | None = None
        self.token_requests = 0
        """How many token requests were sent (password and refresh grants); for tests/UI."""

    def __repr__(self) -> str:
        return f"FluentClient(profile={self.profile.name!r}, base_url={self.profile.base_url!r})"

    # -- lifecycle

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": "fluent-webhook-inspector"},
                follow_redirects=False,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> FluentClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- secrets

    def _secret(self, kind: str, env: str | None, label: str) -> str:
        value = os.environ.get(env) if env else None
        if not value:
            value = self._secrets.get(self.profile.name, kind)
        if not value:
            where = f" (or set {env})" if env else ""
            raise AuthError(
                f"No {label} is stored for profile {self.profile.name!r}; enter it in the "
                f"profile settings{where}."
            )
        return value

    # -- HTTP with back-off

    async def _send(self, url: str, *, retry_server_errors: bool, **kwargs: Any) -> httpx.Response:
        return await post_with_backoff(
            self._client(),
            url,
            timeout=self.timeout,
            retry=self.retry,
            sleep=self._sleep,
            retry_server_errors=retry_server_errors,
            **kwargs,
        )

    # -- tokens

    def _token_valid(self, token: _Token | None) -> bool:
        if token is None or not token.access_token:
            return False
        return token.expires_at is None or self._clock() < token.expires_at

    async def access_token(self) -> str:
        """A valid access token, requesting or refreshing one when needed."""
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            if not self._token_valid(self._token):
                self._token = await self._new_token()
            assert self._token is not None
            return self._token.access_token

    def invalidate_token(self) -> None:
        """Forget the access token (keeping an unused refresh token)."""
        if self._token is not None:
            self._token = _Token("", None, self._token.refresh_token, self._token.retailer_id)

    @property
    def retailer_id(self) -> str | None:
        """``Retailer_id`` from the last token answer, else the profile's."""
        if self._token is not None and self._token.retailer_id:
            return self._token.retailer_id
        return self.profile.retailer_id

    async def _new_token(self) -> _Token:
        if self.profile.bearer_token_mode:
            return _Token(self._secret("token", None, "bearer token"), None)
        old = self._token
        self._token = None
        if old is not None and old.refresh_token:
            # Single-use: it is dropped above whatever the answer, so it is never resent.
            try:
                return await self._token_request(
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": old.refresh_token,
                        "client_id": self.profile.client_id,
                        "client_secret": self._secret(
                            "client_secret", ENV_CLIENT_SECRET, "client secret"
                        ),
                    }
                )
            except AuthError:
                log.info("refresh token refused; falling back to the password grant")
        return await self._token_request(
            {
                "username": self.profile.username,
                "password": self._secret("password", ENV_PASSWORD, "password"),
                "client_id": self.profile.client_id,
                "client_secret": self._secret("client_secret", ENV_CLIENT_SECRET, "client secret"),
                "scope": "api",
                "grant_type": "password",
            }
        )

    async def _token_request(self, form: dict[str, str]) -> _Token:
        self.token_requests += 1
        response = await self._send(self.profile.token_url, retry_server_errors=True, data=form)
        body = json_object(response)
        status = response.status_code
        if status == 200 and body is not None and isinstance(body.get("access_token"), str):
            expires_in = body.get("expires_in")
            expires_at: float | None = None
            if isinstance(expires_in, int | float) and expires_in > 0:
                # Renew a little early so a token never expires in flight.
                margin = min(60.0, float(expires_in) / 10)
                expires_at = self._clock() + float(expires_in) - margin
            refresh = body.get("refresh_token")
            retailer = body.get("Retailer_id", body.get("retailer_id"))
            return _Token(
                body["access_token"],
                expires_at,
                refresh if isinstance(refresh, str) and refresh else None,
                str(retailer) if retailer not in (None, "") else None,
            )
        if status in (400, 401, 403) or (body is not None and "error" in body):
            code = str(body.get("error", "")) if body else ""
            detail = str(body.get("error_description", "")) if body else ""
            hint = _OAUTH_HINTS.get(
                code, "check the client id, client secret, username and password"
            )
            grant = form.get("grant_type", "")
            raise AuthError(
                f"Fluent refused the {grant} token request (HTTP {status}"
                f"{', ' + code if code else ''}{': ' + detail if detail else ''}): {hint}. "
                f"Fix the credentials of profile {self.profile.name!r}."
            )
        raise status_error(response, "token request", self.profile.base_url)

    # -- GraphQL

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> GraphQLResult:
        """Run one GraphQL operation. ``errors[]`` come back in the result with partial data.

        Raises :class:`AuthError`, :class:`NetworkError`, :class:`HttpStatusError` or
        :class:`FluentApiError` when there is no usable GraphQL answer at all.
        """
        started = time.perf_counter()
        try:
            body = json.dumps(request_payload(query, variables, operation_name)).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise FluentApiError(
                f"The variables cannot be sent as JSON ({exc}); fix the variables."
            ) from exc
        if len(body) > MAX_REQUEST_BYTES:
            raise FluentApiError(
                f"The request is {len(body):,} bytes, above Fluent's 2 MB limit; send less data."
            )
        retry_server_errors = not is_mutation(query, operation_name)
        for auth_attempt in range(2):
            token = await self.access_token()
            response = await self._send(
                self.profile.graphql_url,
                retry_server_errors=retry_server_errors,
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            if response.status_code != 401:
                break
            self.invalidate_token()
            if auth_attempt == 0 and not self.profile.bearer_token_mode:
                log.info("GraphQL answered 401; re-authenticating once")
                continue
            if self.profile.bearer_token_mode:
                raise AuthError(
                    f"Fluent rejected the pasted bearer token of profile {self.profile.name!r} "
                    "(HTTP 401); it has probably expired. Paste a new token."
                )
            raise AuthError(
                "Fluent rejected a freshly issued token (HTTP 401 twice); the API user may be "
                "disabled or lack API access. Check the user in Fluent's admin console."
            )
        return self._result(response, time.perf_counter() - started)

    def _result(self, response: httpx.Response, elapsed: float) -> GraphQLResult:
        status = response.status_code
        body = json_object(response)
        if body is not None and ("data" in body or "errors" in body):
            raw_errors = body.get("errors") or []
            if not isinstance(raw_errors, list):
                raw_errors = [{"message": str(raw_errors)}]
            errors = tuple(e if isinstance(e, Mapping) else {"message": str(e)} for e in raw_errors)
            if status == 403 and not body.get("data"):
                result = GraphQLResult(None, errors, status, elapsed, len(response.content))
                raise AuthError(
                    f"Fluent refused the query (HTTP 403): {result.error_summary()} Grant the "
                    "missing permissions to the API user's role."
                )
            return GraphQLResult(
                body.get("data"),
                errors,
                status,
                elapsed,
                len(response.content),
                body=response.content,
            )
        if status == 403:
            raise AuthError(
                "Fluent refused the query (HTTP 403): the API user lacks permission. Grant the "
                "needed permissions to the user's role."
            )
        if status >= 400:
            raise status_error(response, "GraphQL request", self.profile.base_url)
        kind = response.headers.get("content-type", "no content type")
        raise FluentApiError(
            f"{self.profile.graphql_url} answered HTTP {status} with {kind} instead of a GraphQL "
            "JSON response; check that the base URL is the Fluent API root."
        )

    # -- schema

    @property
    def schema_cache_path(self) -> Path:
        return self._schema_cache.path

    def cached_schema(self) -> dict[str, Any] | None:
        """The cached introspection ``data`` (``{"__schema": ...}``) for this profile, if any."""
        return self._schema_cache.read(self.profile.base_url)

    async def introspect(self, *, refresh: bool = False) -> dict[str, Any]:
        """The schema as introspection ``data``, from the disk cache unless ``refresh``.

        Uses the same authentication as queries. Raises :class:`IntrospectionError` when the
        API refuses introspection (queries still work; only completion is unavailable).
        """
        if not refresh:
            cached = self.cached_schema()
            if cached is not None:
                return cached
        try:
            result = await self.execute(
                get_introspection_query(descriptions=True), operation_name="IntrospectionQuery"
            )
        except HttpStatusError as exc:
            raise IntrospectionError(
                f"Fluent refused schema introspection ({exc}). Queries still run; completion "
                "and validation stay off."
            ) from exc
        data = result.data
        if (
            result.errors
            or not isinstance(data, dict)
            or not isinstance(data.get("__schema"), dict)
        ):
            reason = result.error_summary() if result.errors else "no schema in the answer"
            raise IntrospectionError(
                f"Fluent refused schema introspection ({reason}). Queries still run; completion "
                "and validation stay off."
            )
        self._schema_cache.write(self.profile.base_url, data)
        return data
