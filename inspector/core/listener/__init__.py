"""The HTTP listener: in this process (:class:`Listener`) or in a child process
(:class:`ListenerProcess`), both a :class:`ListenerHandle`.

``http1.py`` is the HTTP/1.1 server, ``server.py`` the lifecycle; ``pipeline.py`` holds the
stages every request goes through (``gates.py`` the signed-only and path-prefix gates among
them); ``protocol.py`` the child's JSON-lines protocol (both directions); ``child.py`` the
``listen --machine`` loop; ``process.py`` the parent's side of it; ``handle.py`` the
configuration, states, notices and the protocol both listeners satisfy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inspector.core.errors import ListenerError
from inspector.core.listener.handle import (
    CaptureNotice,
    ListenerConfig,
    ListenerHandle,
    ListenerState,
    ListenerStatus,
    is_loopback,
    notice_of,
)
from inspector.core.listener.process import START_TIMEOUT, ListenerProcess

if TYPE_CHECKING:
    from inspector.core.listener.pipeline import OFFLOAD_BYTES
    from inspector.core.listener.server import KEEPALIVE_TIMEOUT, SETTINGS_IN_WINDOW, Listener

# The in-process server (aiohttp, ~0.4 s to import) loads on first use: the window only needs
# the child process's parent side, and importing aiohttp delayed its first paint.
_LAZY = {
    "OFFLOAD_BYTES": "inspector.core.listener.pipeline",
    "KEEPALIVE_TIMEOUT": "inspector.core.listener.server",
    "SETTINGS_IN_WINDOW": "inspector.core.listener.server",
    "Listener": "inspector.core.listener.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "KEEPALIVE_TIMEOUT",
    "OFFLOAD_BYTES",
    "SETTINGS_IN_WINDOW",
    "START_TIMEOUT",
    "CaptureNotice",
    "Listener",
    "ListenerConfig",
    "ListenerError",
    "ListenerHandle",
    "ListenerProcess",
    "ListenerState",
    "ListenerStatus",
    "is_loopback",
    "notice_of",
]

if TYPE_CHECKING:
    # mypy --strict proves both listeners satisfy the whole protocol (no getattr needed).
    def _both_are_handles(
        in_process: Listener, child: ListenerProcess
    ) -> tuple[ListenerHandle, ListenerHandle]:
        return in_process, child
