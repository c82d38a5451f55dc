"""The child side of :class:`ListenerProcess`: ``fluent-inspector listen --machine``.

Runs a :class:`Listener` and reports to the parent in the protocol of ``protocol.py``:
events on stdout, commands on stdin. It stops at stdin EOF (the parent closed it, or died),
on SIGINT/SIGTERM, or when stdout breaks (nobody reads it any more).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError
from inspector.core.listener import protocol
from inspector.core.listener.serve import serve_until_stopped
from inspector.core.listener.server import Listener

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing
    from inspector.core.listener.handle import ListenerConfig
    from inspector.core.store import Store

__all__ = ["run_child"]


class _Printer:
    """Every event line written by one thread, so lines never interleave and the listener's
    loop never waits on the pipe. Flushes whenever its queue runs empty: unbuffered output
    would cost a write per line, and the parent reads as lines arrive."""

    def __init__(self, out: IO[str], on_broken: Callable[[], None]) -> None:
        self._out = out
        self._on_broken = on_broken
        self._pending: queue.SimpleQueue[protocol.Message | Capture | None] = queue.SimpleQueue()
        self._broken = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="listen-printer", daemon=True)
        self._thread.start()

    def emit(self, item: protocol.Message | Capture) -> None:
        self._pending.put(item)

    def _drain(self) -> None:
        while (item := self._pending.get()) is not None:
            if self._broken.is_set():
                continue
            # Captures are encoded here, off the listener's loop.
            message = protocol.captured(item) if isinstance(item, Capture) else item
            try:
                self._out.write(protocol.encode(message) + "\n")
                if self._pending.empty():
                    self._out.flush()
            except (OSError, ValueError):
                self._broken.set()
                self._on_broken()

    def stop(self) -> None:
        self._pending.put(None)
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError, ValueError):
            self._out.flush()


def _serve_commands(
    commands: IO[bytes],
    done: threading.Event,
    keyring: KeyRing,
    printer: _Printer,
    listener: Listener,
) -> None:
    """Commands from the parent, one per line; EOF sets ``done``. ``reload-keys`` re-reads
    the key ring now rather than within a second, so a key added in the window verifies the
    very next webhook."""

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in commands:
                if line.strip() == protocol.RELOAD_KEYS:
                    try:
                        keyring.reload_if_changed()
                        printer.emit(protocol.KeysReloaded(None))
                    except InspectorError as exc:
                        printer.emit(protocol.KeysReloaded(str(exc)))
                elif line.strip() == protocol.RELOAD_RULES:
                    printer.emit(protocol.RulesReloaded(listener.reload_rules()))
        done.set()

    threading.Thread(target=watch, name="listen-stdin", daemon=True).start()


def run_child(
    store: Store,
    keyring: KeyRing,
    config: ListenerConfig,
    *,
    out: IO[str] | None = None,
    commands: IO[bytes] | None = None,
) -> None:
    """Listen and report until told to stop; raises ListenerError when it cannot listen
    (after reporting the FAILED status). Closes the store at the end."""
    done = threading.Event()
    printer = _Printer(out if out is not None else sys.stdout, done.set)
    listener = Listener(store, keyring, config)
    listener.subscribe_captures(printer.emit)
    listener.on_status(lambda status: printer.emit(protocol.StatusChanged(status)))
    _serve_commands(
        commands if commands is not None else sys.stdin.buffer, done, keyring, printer, listener
    )
    store_error = [listener.last_error]

    def report_store_error() -> None:
        if listener.last_error != store_error[0]:
            store_error[0] = listener.last_error
            printer.emit(protocol.StoreErrorChanged(store_error[0]))

    refused = [0]

    def report_refused() -> None:
        # Counted on the loop; sent when it changed, so a flood of 404s costs one line
        # per half second, not one per request.
        count = listener.refused_outside_prefix
        if count != refused[0]:
            refused[0] = count
            printer.emit(protocol.Refused(count))

    def every_half_second() -> None:
        report_store_error()
        report_refused()

    serve_until_stopped(
        listener,
        store,
        keyring,
        done,
        warn=lambda text: print(protocol.CLI_PREFIX + text, file=sys.stderr),
        on_listening=lambda status: printer.emit(protocol.Listening(status.url, listener.port)),
        every_half_second=every_half_second,
        on_stopped=printer.stop,
    )
