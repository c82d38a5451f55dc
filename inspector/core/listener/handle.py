"""What every listener is: its configuration, states, the notice subscribers get, and the
:class:`ListenerHandle` protocol the in-process and the child-process listener both satisfy."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from inspector.core.callbacks import Callbacks
from inspector.core.capture import Capture
from inspector.core.events import EventSummary
from inspector.core.rows import CaptureRow, row_from_capture

__all__ = [
    "CaptureNotice",
    "ListenerBase",
    "ListenerConfig",
    "ListenerHandle",
    "ListenerState",
    "ListenerStatus",
    "is_loopback",
    "notice_of",
]


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
    forward_to: str | None = None
    """Send every request on to this URL (its path + the request's) and answer with the
    target's answer (``listen --forward-to``); None: answer ourselves."""
    forward_paths: tuple[tuple[str, str], ...] = ()
    """Per-path targets, (path glob, URL), checked in order before ``forward_to``."""
    forward_timeout: float = 10.0
    """Seconds the target has to answer in full before the sender gets the fallback."""
    forward_fallback: int = 502
    """The status the sender gets when the target is down, too slow or answers garbage."""
    rules_file: Path | None = None
    """Response rules to follow (re-read when the file changes)."""
    rules_must_exist: bool = True
    """False for the window's rules.json: no file yet just means no rules."""
    require_signature: bool = False
    """Signed-only: answer 401 (and record it rejected) unless a configured key verifies
    at least one signature header (``listen --require-signature``)."""
    path_prefix: str | None = None
    """Serve only paths under this secret prefix (``/h/…``); others get 404, unstored and
    only counted (``listen --path-prefix``). A secret: never on a command line or in logs."""
    queue_limit: int = 1000
    """Back-pressure: most captures waiting for the store's writer (beyond the group it is
    writing); past it, or past max(64 MiB, 2 x body_limit) of their bodies, a request gets
    503 with Retry-After and is not stored (``listen --queue-limit``)."""


@dataclass(frozen=True, slots=True)
class ListenerStatus:
    state: ListenerState
    url: str | None = None
    """E.g. ``http://127.0.0.1:8765/`` once listening, with the actual port."""
    error: str | None = None
    """User-facing reason when FAILED."""


@dataclass(frozen=True, slots=True)
class CaptureNotice:
    """A stored capture as subscribers see it: its table row, and the event summary (which
    auto follow-up needs whole). Never the bodies: read ``store.get(notice.id)`` for those."""

    row: CaptureRow
    event: EventSummary | None

    @property
    def id(self) -> str:
        return self.row.id


def notice_of(capture: Capture) -> CaptureNotice:
    """The notice of a stored capture (full or body-less: only what both carry is used)."""
    return CaptureNotice(row_from_capture(capture), capture.event)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.x``, ``::1``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class ListenerHandle(Protocol):
    """What the window drives: :class:`~inspector.core.listener.Listener` (threads in this
    process) and :class:`~inspector.core.listener.ListenerProcess` (a child process) alike.

    Callbacks run on a listener thread and must be quick (hand off, don't work).
    """

    @property
    def config(self) -> ListenerConfig: ...

    @property
    def status(self) -> ListenerStatus: ...

    @property
    def port(self) -> int:
        """The bound port while listening (the real one when configured as 0)."""
        ...

    @property
    def last_error(self) -> str | None:
        """The most recent failure to store a capture (answered 503); None once it works."""
        ...

    @property
    def refused_outside_prefix(self) -> int:
        """Requests refused (404, not stored) for a path outside ``config.path_prefix``
        since the listener last started; 0 without a prefix. Cheap: read it when you want
        (the window polls it once a second)."""
        ...

    def start(self) -> ListenerStatus:
        """Start and wait until listening; raises ListenerError with the reason."""
        ...

    def start_async(self) -> ListenerStatus:
        """Start without waiting for the outcome, which arrives through ``on_status``
        (the returned status may already be it). Never raises ListenerError."""
        ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def reload_keys(self, timeout: float = 2.0) -> bool:
        """Re-read the key ring now (listeners also do within ~1 s); True once done."""
        ...

    def reload_rules(self, timeout: float = 2.0) -> str | None:
        """Re-read the rules file now (listeners also do within ~1 s): None once the new
        rules apply, else why not (the previous rules stay)."""
        ...

    def subscribe(self, callback: Callable[[CaptureNotice], None]) -> Callable[[], None]:
        """Notify ``callback`` of every stored capture (rejected too); returns unsubscribe."""
        ...

    def on_status(self, callback: Callable[[ListenerStatus], None]) -> Callable[[], None]: ...


class ListenerBase:
    """The state and callbacks both listeners keep alike (configuration, status, bound
    port, subscribers); each adds how it starts, stops and stores."""

    def __init__(self, config: ListenerConfig | None) -> None:
        self._config = config if config is not None else ListenerConfig()
        self._status = ListenerStatus(ListenerState.STOPPED)
        self._subscribers: Callbacks[CaptureNotice] = Callbacks("capture subscriber")
        self._status_callbacks: Callbacks[ListenerStatus] = Callbacks("listener status callback")
        self._bound_port = 0

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

    def subscribe(self, callback: Callable[[CaptureNotice], None]) -> Callable[[], None]:
        """Call ``callback(notice)`` for every stored capture (rejected too), on a listener
        thread. Returns a function that unsubscribes. A callback that raises is logged and
        affects neither serving nor the other callbacks."""
        return self._subscribers.add(callback)

    def on_status(self, callback: Callable[[ListenerStatus], None]) -> Callable[[], None]:
        """Call ``callback(status)`` on every state change, on the thread that caused it."""
        return self._status_callbacks.add(callback)

    def _set_status(self, status: ListenerStatus) -> None:
        self._status = status
        self._status_callbacks(status)
