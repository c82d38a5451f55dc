"""Fluent Commerce API client: connection profiles, OAuth token lifecycle, GraphQL over httpx.

* Profiles are stored as JSON in the data dir **without** secrets; client secret, password
  and pasted bearer tokens live in :class:`~inspector.core.secrets.SecretStore` (or come from
  ``FLUENT_CLIENT_SECRET`` / ``FLUENT_PASSWORD`` for headless use).
* :class:`FluentClient` is asynchronous (one ``httpx.AsyncClient`` per profile, reused);
  :class:`ApiRunner` runs it on a background event loop and :class:`SyncFluentClient` is a
  blocking facade for the CLI and worker threads. Every public call maps library errors to
  :class:`FluentApiError` subclasses whose message says what happened and what to do.
* Tokens: password grant with ``scope=api``, cached until shortly before ``expires_in``,
  renewed with the (single-use) refresh token when one was offered, re-authenticated once
  on a 401 from GraphQL. Access and refresh tokens are kept in memory only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import json
import logging
import os
import re
import shlex
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from graphql import GraphQLSyntaxError, OperationType, get_introspection_query, parse
from graphql.language import OperationDefinitionNode

from inspector.core.errors import InspectorError
from inspector.core.paths import default_data_dir
from inspector.core.secrets import SecretStore

__all__ = [
    "ENV_CLIENT_SECRET",
    "ENV_PASSWORD",
    "KNOWN_ERROR_CODES",
    "ApiRunner",
    "ApiTimeoutError",
    "AuthError",
    "ClientPool",
    "FluentApiError",
    "FluentClient",
    "GraphQLError",
    "GraphQLResult",
    "HttpStatusError",
    "IntrospectionError",
    "NetworkError",
    "Profile",
    "ProfileError",
    "ProfileStore",
    "RetryPolicy",
    "SyncFluentClient",
    "curl_command",
    "error_codes",
    "explain_error",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

ENV_CLIENT_SECRET: Final = "FLUENT_CLIENT_SECRET"
ENV_PASSWORD: Final = "FLUENT_PASSWORD"
PROFILES_FILENAME: Final = "profiles.json"
SCHEMAS_DIRNAME: Final = "schemas"
DEFAULT_TIMEOUT: Final = 30.0
MAX_REQUEST_BYTES: Final = 2 * 1024 * 1024
"""Fluent answers 413 above this; refusing early gives a clearer message."""

# --------------------------------------------------------------------------------------
# Errors


class FluentApiError(InspectorError):
    """Base class of every error the Fluent API client reports."""


class ProfileError(FluentApiError):
    """A connection profile is invalid, unknown, duplicated, or the profiles file is unusable."""


class AuthError(FluentApiError):
    """Authentication failed: missing/wrong credentials, rejected token, missing permission."""


class NetworkError(FluentApiError):
    """The API could not be reached (DNS, refused connection, TLS, proxy...)."""


class ApiTimeoutError(NetworkError):
    """The API did not answer in time."""


class HttpStatusError(FluentApiError):
    """The API answered with an HTTP status the client cannot use (413, 429/5xx after retries)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GraphQLError(FluentApiError):
    """A GraphQL answer carried ``errors[]``; see :meth:`GraphQLResult.raise_for_errors`."""

    def __init__(self, message: str, result: GraphQLResult) -> None:
        super().__init__(message)
        self.result = result


class IntrospectionError(FluentApiError):
    """The API refused schema introspection; queries still run, without completion."""


# --------------------------------------------------------------------------------------
# Fluent error codes

KNOWN_ERROR_CODES: Final[Mapping[str, str]] = {
    "C0001E": (
        "Query too complex for Fluent's limit (11,111): ask for fewer fields, less nesting "
        "or smaller pages (first: N), or split the query."
    ),
    "C0020E": (
        "The API user lacks a permission this query needs (the message lists the missing "
        "ones): grant them to the user's role, or remove those fields."
    ),
    "C0100E": "A date argument is not a valid UTC date-time: use ISO 8601 (2024-01-31T00:00:00Z).",
    "C0101E": "A date-range filter needs a 'from' or a 'to' value: pass at least one.",
    "C0102E": "This date-range filter needs both 'from' and 'to': pass both.",
    "C0103E": "The date range is too long for the chosen granularity: shorten it or coarsen it.",
    "C0120E": (
        "The entity the operation refers to was not found: check the id/ref (and catalogue "
        "or retailer) passed in the variables."
    ),
}

_CODE_RE = re.compile(r"\b([CST])(\d{4})([EW])\b")
_PREFIX_HINTS = {
    "C": "a client-side problem you can usually fix in the query or the user's setup",
    "S": "a Fluent server-side problem: retry later, or contact Fluent support with the message",
    "T": "a problem in a third-party system Fluent called",
}


def error_codes(error: Mapping[str, Any]) -> list[str]:
    """Fluent codes (``C0020E``...) found in one ``errors[]`` entry, message and extensions."""
    texts = [str(error.get("message", ""))]
    extensions = error.get("extensions")
    if isinstance(extensions, Mapping):
        texts.extend(str(v) for v in extensions.values() if isinstance(v, str | int))
    found: list[str] = []
    for text in texts:
        for match in _CODE_RE.finditer(text):
            code = match.group(0)
            if code not in found:
                found.append(code)
    return found


def explain_error(error: Mapping[str, Any]) -> str | None:
    """A one-line explanation for a Fluent error code in an ``errors[]`` entry, if any."""
    for code in error_codes(error):
        if code in KNOWN_ERROR_CODES:
            return f"{code}: {KNOWN_ERROR_CODES[code]}"
    codes = error_codes(error)
    if codes:
        code = codes[0]
        kind = "warning" if code.endswith("W") else "error"
        return f"{code}: an unlisted Fluent {kind}, {_PREFIX_HINTS[code[0]]}."
    return None


# --------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class GraphQLResult:
    """One GraphQL answer: partial ``data`` and ``errors`` together, as Fluent sends them."""

    data: Any
    errors: tuple[Mapping[str, Any], ...]
    status: int
    elapsed: float
    """Seconds for the whole call, including any token request and retries."""
    size: int
    """Response body size in bytes."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def explanations(self) -> list[str]:
        """Explanations of the known Fluent codes among the errors, in order, no duplicates."""
        seen: list[str] = []
        for error in self.errors:
            text = explain_error(error)
            if text and text not in seen:
                seen.append(text)
        return seen

    def error_summary(self) -> str:
        messages = [str(e.get("message", "(no message)")) for e in self.errors]
        head = "; ".join(messages[:3]) + (
            f" (+{len(messages) - 3} more)" if len(messages) > 3 else ""
        )
        extra = " ".join(self.explanations())
        return f"{head} {extra}".strip()

    def raise_for_errors(self) -> None:
        if self.errors:
            partial = " Partial data was returned." if self.data else ""
            raise GraphQLError(
                f"The GraphQL API returned {len(self.errors)} error(s): "
                f"{self.error_summary()}{partial}",
                self,
            )


# --------------------------------------------------------------------------------------
# Profiles

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _normalize_base_url(url: str) -> str:
    text = url.strip()
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ProfileError(
            f"{text!r} is not an API base URL; enter it like "
            "https://ACCOUNT.sandbox.api.fluentretail.com"
        )
    if parts.scheme.lower() == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ProfileError(
            f"{text!r} uses plain http, which would send the password unencrypted; use https:// "
            "(plain http is accepted only for localhost, e.g. the built-in sandbox)."
        )
    path = parts.path.rstrip("/")
    # People paste the GraphQL or token URL; the profile wants the account root.
    for suffix in ("/graphql", "/oauth/token"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


@dataclass(frozen=True, slots=True)
class Profile:
    """How to reach one Fluent account. Holds no secrets (those are in the SecretStore)."""

    name: str
    base_url: str
    client_id: str = ""
    username: str = ""
    retailer_id: str | None = None
    bearer_token_mode: bool = False
    """True: use a pasted bearer token (secret kind ``token``) instead of the password grant."""

    def validated(self) -> Profile:
        """A normalised copy; raises :class:`ProfileError` saying what to fix."""
        name = self.name.strip()
        if not _NAME_RE.match(name):
            raise ProfileError(
                f"Profile name {self.name!r} is not usable: use 1-64 letters, digits, spaces, "
                "dots, dashes or underscores, starting with a letter or digit."
            )
        if not self.bearer_token_mode:
            missing = [
                n
                for n, v in (("client id", self.client_id), ("username", self.username))
                if not v.strip()
            ]
            if missing:
                raise ProfileError(
                    f"Profile {name!r} needs a {' and a '.join(missing)} for the password grant "
                    "(or switch it to bearer-token mode)."
                )
        retailer = (self.retailer_id or "").strip() or None
        return replace(
            self,
            name=name,
            base_url=_normalize_base_url(self.base_url),
            client_id=self.client_id.strip(),
            username=self.username.strip(),
            retailer_id=retailer,
        )

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        retailer = data.get("retailer_id")
        return cls(
            name=str(data["name"]),
            base_url=str(data["base_url"]),
            client_id=str(data.get("client_id") or ""),
            username=str(data.get("username") or ""),
            retailer_id=str(retailer) if retailer not in (None, "") else None,
            bearer_token_mode=bool(data.get("bearer_token_mode", False)),
        )


class ProfileStore:
    """Connection profiles in ``<data_dir>/profiles.json`` (no secrets in it, ever)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / PROFILES_FILENAME
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Profile]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            items = raw["profiles"] if isinstance(raw, dict) else None
            if not isinstance(items, list):
                raise ValueError("no 'profiles' list")
            profiles = [Profile.from_json(item) for item in items]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProfileError(
                f"The profiles file {self.path} is unreadable ({exc}); fix or delete it and add "
                "the profiles again."
            ) from exc
        return {p.name: p for p in profiles}

    def _write(self, profiles: Mapping[str, Profile]) -> None:
        payload = {"version": 1, "profiles": [p.to_json() for p in profiles.values()]}
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ProfileError(
                f"Could not save profiles to {self.path} ({exc.strerror or exc}); check that the "
                "data directory is writable and the disk is not full."
            ) from exc

    def list(self) -> list[Profile]:
        with self._lock:
            return sorted(self._read().values(), key=lambda p: p.name.lower())

    def get(self, name: str) -> Profile:
        with self._lock:
            profiles = self._read()
        try:
            return profiles[name.strip()]
        except KeyError:
            known = ", ".join(sorted(profiles)) or "none yet"
            raise ProfileError(
                f"There is no profile named {name!r} (known: {known}); add it first with "
                "'fluent-inspector profile add'."
            ) from None

    def add(self, profile: Profile, *, replace_existing: bool = False) -> Profile:
        """Validate and save a profile; returns the normalised profile."""
        profile = profile.validated()
        with self._lock:
            profiles = self._read()
            if profile.name in profiles and not replace_existing:
                raise ProfileError(
                    f"A profile named {profile.name!r} already exists; remove it first or pick "
                    "another name."
                )
            profiles[profile.name] = profile
            self._write(profiles)
        return profile

    def remove(self, name: str) -> None:
        with self._lock:
            profiles = self._read()
            if name.strip() not in profiles:
                raise ProfileError(f"There is no profile named {name!r} to remove.")
            del profiles[name.strip()]
            self._write(profiles)


# --------------------------------------------------------------------------------------
# Client


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off for 429/5xx answers: ``base * 2**attempt`` capped, or the server's Retry-After."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    """A longer Retry-After is not waited for: the error is reported instead."""


@dataclass(slots=True)
class _Token:
    access_token: str = field(repr=False)
    expires_at: float | None
    refresh_token: str | None = field(default=None, repr=False)
    retailer_id: str | None = None


def _is_mutation(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return bool(definition.operation == OperationType.MUTATION)
    return False


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


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
        attempt = 0
        host = urllib.parse.urlsplit(url).netloc
        while True:
            try:
                response = await self._client().post(url, **kwargs)
            except httpx.TimeoutException as exc:
                raise ApiTimeoutError(
                    f"{host} did not answer within {self.timeout:g} s; try again, or raise the "
                    "timeout for slow queries."
                ) from exc
            except httpx.TransportError as exc:
                raise NetworkError(
                    f"Could not reach {host} ({type(exc).__name__}: {exc}); check the base URL, "
                    "your network and any proxy."
                ) from exc
            status = response.status_code
            # 429 and 503 mean "not processed": always safe to resend. Other 5xx may have
            # half-run a mutation, so only queries are resent.
            retryable = status in (429, 503) or (retry_server_errors and status in (500, 502, 504))
            if not retryable or attempt >= self.retry.max_retries:
                return response
            delay = _retry_after(response)
            if delay is None:
                delay = min(self.retry.max_delay, self.retry.base_delay * 2**attempt)
            elif delay > self.retry.max_retry_after:
                return response
            log.info("HTTP %s from %s; retrying in %.1f s", status, host, delay)
            await response.aclose()
            await self._sleep(delay)
            attempt += 1

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
        body = _json_object(response)
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
        raise self._status_error(response, "token request")

    def _status_error(self, response: httpx.Response, what: str) -> FluentApiError:
        status = response.status_code
        if status == 413:
            return HttpStatusError(
                f"The {what} was too large for Fluent (HTTP 413, 2 MB limit); send less data.",
                status,
            )
        if status == 429:
            return HttpStatusError(
                f"Fluent is rate-limiting this client (HTTP 429) and the {what} still failed "
                "after backing off; wait a minute and try again.",
                status,
            )
        if status >= 500:
            return HttpStatusError(
                f"Fluent answered the {what} with a server error (HTTP {status}); try again "
                "later, and check Fluent's status page if it persists.",
                status,
            )
        if status in (404, 405):
            return HttpStatusError(
                f"{response.request.url} answered HTTP {status}: the base URL "
                f"{self.profile.base_url!r} does not look like a Fluent API root; check it.",
                status,
            )
        return HttpStatusError(
            f"Fluent answered the {what} with an unexpected HTTP {status}; check the base URL "
            "and try again.",
            status,
        )

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
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name:
            payload["operationName"] = operation_name
        try:
            body = json.dumps(payload).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise FluentApiError(
                f"The variables cannot be sent as JSON ({exc}); fix the variables."
            ) from exc
        if len(body) > MAX_REQUEST_BYTES:
            raise FluentApiError(
                f"The request is {len(body):,} bytes, above Fluent's 2 MB limit; send less data."
            )
        retry_server_errors = not _is_mutation(query, operation_name)
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
        body = _json_object(response)
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
            return GraphQLResult(body.get("data"), errors, status, elapsed, len(response.content))
        if status == 403:
            raise AuthError(
                "Fluent refused the query (HTTP 403): the API user lacks permission. Grant the "
                "needed permissions to the user's role."
            )
        if status >= 400:
            raise self._status_error(response, "GraphQL request")
        kind = response.headers.get("content-type", "no content type")
        raise FluentApiError(
            f"{self.profile.graphql_url} answered HTTP {status} with {kind} instead of a GraphQL "
            "JSON response; check that the base URL is the Fluent API root."
        )

    # -- schema

    @property
    def schema_cache_path(self) -> Path:
        return self.data_dir / SCHEMAS_DIRNAME / f"{self.profile.name}.json"

    def cached_schema(self) -> dict[str, Any] | None:
        """The cached introspection ``data`` (``{"__schema": ...}``) for this profile, if any."""
        path = self.schema_cache_path
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(cached, dict)
            or cached.get("base_url") != self.profile.base_url
            or not isinstance(cached.get("data"), dict)
        ):
            return None
        data: dict[str, Any] = cached["data"]
        return data

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
        self._write_schema_cache(data)
        return data

    def _write_schema_cache(self, data: dict[str, Any]) -> None:
        path = self.schema_cache_path
        payload = {
            "base_url": self.profile.base_url,
            "fetched_at": datetime.now(UTC).isoformat(),
            "data": data,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            # A cache that cannot be written only costs a re-fetch next time.
            log.warning("could not cache the schema at %s: %s", path, exc)


# --------------------------------------------------------------------------------------
# Background loop and blocking facade


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


class SyncFluentClient:
    """Blocking facade over :class:`FluentClient` for the CLI and worker threads."""

    def __init__(
        self,
        profile: Profile,
        secrets: SecretStore,
        *,
        runner: ApiRunner | None = None,
        **client_kwargs: Any,
    ) -> None:
        self._own_runner = runner is None
        self.runner = runner if runner is not None else ApiRunner()
        self.client = FluentClient(profile, secrets, **client_kwargs)

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> GraphQLResult:
        return self.runner.run(self.client.execute(query, variables, operation_name))

    def submit_execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> concurrent.futures.Future[GraphQLResult]:
        return self.runner.submit(self.client.execute(query, variables, operation_name))

    def introspect(self, *, refresh: bool = False) -> dict[str, Any]:
        return self.runner.run(self.client.introspect(refresh=refresh))

    def access_token(self) -> str:
        return self.runner.run(self.client.access_token())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.runner.run(self.client.aclose(), timeout=5)
        if self._own_runner:
            self.runner.close()

    def __enter__(self) -> SyncFluentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def curl_command(
    profile: Profile,
    query: str,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> str:
    """A shell command reproducing a GraphQL call, with the token left as a placeholder."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = dict(variables)
    if operation_name:
        payload["operationName"] = operation_name
    profile = profile.validated()
    return " ".join(
        [
            "curl",
            "-X POST",
            shlex.quote(profile.graphql_url),
            "-H",
            shlex.quote("Authorization: Bearer $FLUENT_TOKEN"),
            "-H",
            shlex.quote("Content-Type: application/json"),
            "--data",
            shlex.quote(json.dumps(payload)),
        ]
    )
