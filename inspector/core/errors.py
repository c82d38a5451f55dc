"""Every error the core library reports to a user, in one tree.

Each carries a message that says what happened and what to do; the CLI prints ``str(error)``
as one line (exit 2, or 1 where a command says so) and the window shows it in its dialog or
status area as it is. Library errors (sqlite3, OSError, httpx, aiohttp, cryptography) are
mapped to these at the boundary that meets them, as httpx maps its transports' errors.
Anything that is not an :class:`InspectorError` is a bug: the window's excepthook shows and
logs it. Cancelling a job is not an error: see :class:`inspector.core.jobs.Cancelled`.

::

    InspectorError
    ├── KeyLoadError             a public or private key file cannot be used
    ├── KeyRingError             the key ring file or a key name is unusable
    ├── StoreError               the capture store cannot be used (disk full, locked, ...)
    │   ├── StoreBusyError       the writer is behind: not queued (503 + Retry-After)
    │   └── CaptureIdError       no capture has that id or prefix, or several do
    ├── FollowupHistoryError     the follow-up history file cannot be used
    ├── ListenerError            the listener cannot start (port busy, bad TLS files, ...)
    ├── RulesError               a response rules file cannot be used (.line says where)
    ├── ExchangeError            an export or import file is unusable
    │   └── RedactError          an export's --redact header name or JSON path is unusable
    ├── ReplayError              a replay cannot be attempted (bad key file, unusable URL)
    ├── QueryTemplateError       no follow-up query fits an entity type or event
    ├── FluentApiError           the Fluent API client
    │   ├── ProfileError         a connection profile is invalid or unknown
    │   ├── AuthError            credentials or token refused, permission missing
    │   ├── NetworkError         the API could not be reached
    │   │   └── ApiTimeoutError  ... or did not answer in time
    │   ├── HttpStatusError      an HTTP status the client cannot use (.status)
    │   ├── GraphQLResponseError an answer carried errors[] (.result has the partial data)
    │   └── IntrospectionError   the account refused schema introspection
    ├── SandboxError             the offline sandbox could not start or play
    └── DemoError                the test webhook could not be sent

``GraphQLResponseError`` is not called ``GraphQLError``: that is graphql-core's name for a
query that does not validate, which the editor handles too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspector.core.fluent.result import GraphQLResult

__all__ = [
    "ApiTimeoutError",
    "AuthError",
    "CaptureIdError",
    "DemoError",
    "ExchangeError",
    "FluentApiError",
    "FollowupHistoryError",
    "GraphQLResponseError",
    "HttpStatusError",
    "InspectorError",
    "IntrospectionError",
    "KeyLoadError",
    "KeyRingError",
    "ListenerError",
    "NetworkError",
    "ProfileError",
    "QueryTemplateError",
    "RedactError",
    "ReplayError",
    "RulesError",
    "SandboxError",
    "StoreBusyError",
    "StoreError",
]


class InspectorError(Exception):
    """Base class: something the user can act on. ``str()`` is the user-facing message."""


class KeyLoadError(InspectorError):
    """A key could not be loaded (wrong type, garbage, truncated, empty...)."""


class KeyRingError(InspectorError):
    """The key ring file or a key name is unusable (duplicate name, unknown name...)."""


class StoreError(InspectorError):
    """The capture store cannot be used (disk full, locked, read-only, corrupt...)."""


class StoreBusyError(StoreError):
    """The store's writer is behind: the capture was not queued (the listener answers 503
    with Retry-After)."""


class CaptureIdError(StoreError):
    """No capture has that id or prefix, or the prefix fits several."""


class FollowupHistoryError(InspectorError):
    """The follow-up history file cannot be used (locked, read-only, corrupt, disk full...)."""


class ListenerError(InspectorError):
    """The listener could not start (port busy, address not available, bad TLS files...)."""


class RulesError(InspectorError):
    """A rules file that cannot be used; ``line`` is where the problem is (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class ExchangeError(InspectorError):
    """An export or import file is unusable. When one record is at fault, ``where`` names
    it (``"line 1022"``, ``"HAR entry 7"``) and ``reason`` says why, so an import can say
    how far it got."""

    def __init__(self, message: str, where: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.reason = reason


class RedactError(ExchangeError):
    """A header name or JSON path given to redact an export is unusable (the message names
    it, where it breaks, and the supported JSON path subset)."""


class ReplayError(InspectorError):
    """A replay that cannot even be attempted (bad key file, unusable URL)."""


class QueryTemplateError(InspectorError):
    """No follow-up query exists for an entity type, or the event lacks what it needs."""


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


class GraphQLResponseError(FluentApiError):
    """A GraphQL answer carried ``errors[]``; see :meth:`GraphQLResult.raise_for_errors`."""

    def __init__(self, message: str, result: GraphQLResult) -> None:
        super().__init__(message)
        self.result = result


class IntrospectionError(FluentApiError):
    """The API refused schema introspection; queries still run, without completion."""


class SandboxError(InspectorError):
    """The sandbox could not start, or a scenario could not run."""


class DemoError(InspectorError):
    """The test webhook could not be sent."""
