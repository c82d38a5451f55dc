"""HTTP for the Fluent client: POST with back-off on 429/5xx, and statuses told in words.

Library errors become :class:`~.errors.NetworkError` / :class:`~.errors.ApiTimeoutError`;
statuses the client cannot use become :class:`~.errors.HttpStatusError` saying what to do.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from inspector.core.fluent.errors import (
    ApiTimeoutError,
    FluentApiError,
    HttpStatusError,
    NetworkError,
)

__all__ = ["RetryPolicy", "json_object", "post_with_backoff", "retry_after", "status_error"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off for 429/5xx answers: ``base * 2**attempt`` capped, or the server's Retry-After."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    """A longer Retry-After is not waited for: the error is reported instead."""


def retry_after(response: httpx.Response) -> float | None:
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


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


async def post_with_backoff(
    http: httpx.AsyncClient,
    url: str,
    *,
    timeout: float,
    retry: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    retry_server_errors: bool,
    **kwargs: Any,
) -> httpx.Response:
    """POST, resending on 429/503 (and 500/502/504 when ``retry_server_errors``) per ``retry``.

    ``timeout`` is only named in the error message; ``http`` enforces it.
    """
    attempt = 0
    host = urllib.parse.urlsplit(url).netloc
    while True:
        try:
            response = await http.post(url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiTimeoutError(
                f"{host} did not answer within {timeout:g} s; try again, or raise the "
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
        if not retryable or attempt >= retry.max_retries:
            return response
        delay = retry_after(response)
        if delay is None:
            delay = min(retry.max_delay, retry.base_delay * 2**attempt)
        elif delay > retry.max_retry_after:
            return response
        log.info("HTTP %s from %s; retrying in %.1f s", status, host, delay)
        await response.aclose()
        await sleep(delay)
        attempt += 1


def status_error(response: httpx.Response, what: str, base_url: str) -> FluentApiError:
    """The error for an HTTP status the client cannot use, naming ``what`` was requested."""
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
            f"{base_url!r} does not look like a Fluent API root; check it.",
            status,
        )
    return HttpStatusError(
        f"Fluent answered the {what} with an unexpected HTTP {status}; check the base URL "
        "and try again.",
        status,
    )
