"""Run a listener until Ctrl+C, SIGTERM or ``done``: the loop `listen` and `listen --machine`
share, so both start, warn, stop and close the store in the same order."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing
    from inspector.core.listener.handle import ListenerStatus
    from inspector.core.listener.server import Listener
    from inspector.core.store import Store

__all__ = ["serve_until_stopped"]

NO_KEY_WARNING = (
    "no public key configured: signatures show 'no key'. Add one: "
    "fluent-inspector keys add NAME FILE"
)


def serve_until_stopped(
    listener: Listener,
    store: Store,
    keyring: KeyRing,
    done: threading.Event,
    *,
    warn: Callable[[str], None],
    on_listening: Callable[[ListenerStatus], None] | None = None,
    every_half_second: Callable[[], None] | None = None,
    on_stopped: Callable[[], None] | None = None,
) -> None:
    """Start ``listener``, say where it listens on stderr, and serve until ``done`` is set
    (SIGINT and SIGTERM set it); then stop it, call ``on_stopped`` and close ``store``.
    Raises ListenerError when it cannot listen. Signal handlers are restored after."""
    previous = {
        sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        status = listener.start()
        if on_listening is not None:
            on_listening(status)
        print(
            f"Listening on {status.url} - storing in {store.path} - Ctrl+C stops",
            file=sys.stderr,
            flush=True,
        )
        if not keyring.keys():
            warn(NO_KEY_WARNING)
        # Half a second: Ctrl+C is noticed at once (the handler sets done), the tick is for
        # the caller's own checks.
        while not done.wait(0.5):
            if every_half_second is not None:
                every_half_second()
    finally:
        listener.stop()
        if on_stopped is not None:
            on_stopped()
        store.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
