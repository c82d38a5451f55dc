"""The listener in a child process, driven through ``fluent-inspector listen --machine``.

Same public surface as :class:`inspector.core.listener.Listener`, so the window can use
either. Why a process: at 1,000 signed webhooks/s the in-process listener (aiohttp, RSA,
the SQLite writer) competes with the GUI thread for the GIL and the window's event loop
stalls for ~90 ms; in its own process the stalls stay under the 50 ms target.

The child writes the captures to the same data dir and reports each one as a JSON line on
its stdout (``{"event": "capture", "id": ..., "seq": ..., "capture": {record}}``, the
record being the JSON-lines export record without the bodies); a reader thread here turns
the record into a *body-less* :class:`Capture` and calls the subscribers. It deliberately
does not read the store: loading every capture in full cost the parent ~1 s of CPU per
10 s at 1,000 webhooks/s, time the GUI thread then waited for the GIL. The child
watches its stdin and stops at EOF, so it ends with its parent even when the parent is
killed. Keys come from the key ring's file, which the child re-reads within ~1 s of a change.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from inspector.core import paths
from inspector.core.callbacks import Callbacks
from inspector.core.capture import (
    Capture,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
)
from inspector.core.errors import InspectorError, ListenerError
from inspector.core.events import EventSummary
from inspector.core.listener import ListenerConfig, ListenerState, ListenerStatus

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing
    from inspector.core.store import Store

__all__ = ["START_TIMEOUT", "ListenerHandle", "ListenerProcess", "light_capture"]

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0
"""Seconds ``start()`` waits for the child to report listening (it usually takes ~0.5 s)."""
_MIB = 1024 * 1024
_EVENT_FIELDS = frozenset(f.name for f in fields(EventSummary))
_CLI_PREFIX = "fluent-inspector: "
_EXIT_USAGE = 2
# The inspector package's parent folder, so `python -m inspector` works in the child even
# when the app runs from a source tree that is not installed.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class ListenerHandle(Protocol):
    """What the window needs from a listener: :class:`Listener` and :class:`ListenerProcess`."""

    @property
    def config(self) -> ListenerConfig: ...

    @property
    def status(self) -> ListenerStatus: ...

    @property
    def port(self) -> int: ...

    @property
    def last_error(self) -> str | None: ...

    def start(self) -> ListenerStatus: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def subscribe(self, callback: Callable[[Capture], None]) -> Callable[[], None]: ...

    def on_status(self, callback: Callable[[ListenerStatus], None]) -> Callable[[], None]: ...


class _Run:
    """One child process and the threads that read it."""

    def __init__(self, proc: subprocess.Popen[bytes], keys_dir: Path | None) -> None:
        self.proc = proc
        self.keys_dir = keys_dir
        self.settled = threading.Event()
        """Set once the start has an outcome: listening, failed, or stopped."""
        self.stopping = False
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self.stdout_thread: threading.Thread | None = None
        self.stderr_thread: threading.Thread | None = None
        self.timer: threading.Timer | None = None

    def settle(self) -> None:
        self.settled.set()
        timer = self.timer
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()


class ListenerProcess:
    """Runs the listener as ``python -m inspector listen --machine`` in a child process.

    Thread-safe. ``start()`` blocks until the child listens (or failed) and raises
    :class:`ListenerError` with the child's own message; ``start_async()`` returns at once and
    reports the outcome through ``on_status`` callbacks, for a GUI that must not wait.
    Subscriber and status callbacks run on a reader thread (or the caller's, for changes it
    makes itself) and must be quick.
    """

    def __init__(
        self,
        store: Store,
        keyring: KeyRing,
        config: ListenerConfig | None = None,
        *,
        python: str | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._config = config if config is not None else ListenerConfig()
        self._python = python or sys.executable
        self._start_timeout = start_timeout
        self._lock = threading.RLock()
        self._status = ListenerStatus(ListenerState.STOPPED)
        self._subscribers: Callbacks[Capture] = Callbacks("capture subscriber")
        self._status_callbacks: Callbacks[ListenerStatus] = Callbacks("listener status callback")
        self._run: _Run | None = None
        self._bound_port = 0
        self._last_error: str | None = None
        self._keys_acks = 0
        self._keys_changed = threading.Condition(threading.Lock())

    # -- the Listener surface ----------------------------------------------------------------

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

    @property
    def last_error(self) -> str | None:
        """The child's most recent failure to store a capture; None once storing works."""
        return self._last_error

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        run = self._run
        return run.proc.pid if run is not None and run.proc.poll() is None else None

    @property
    def data_dir(self) -> Path:
        return self._store.path.parent

    def subscribe(self, callback: Callable[[Capture], None]) -> Callable[[], None]:
        """Call ``callback(capture)`` for every capture the child stored (rejected too).

        The capture is body-less (see :func:`light_capture`): ``body`` and the response body
        are ``b""`` while ``size``, headers, signature checks, event summary, attempt and seq
        are as stored. A subscriber that needs the body reads it with
        ``store.get(capture.id)``; code written for both this and the in-process
        :class:`Listener` (which hands over full captures) must not rely on ``capture.body``.

        Runs on the reader thread, after the client got its answer. Returns a function that
        unsubscribes. A callback that raises is logged and does not affect the others.
        """
        return self._subscribers.add(callback)

    def on_status(self, callback: Callable[[ListenerStatus], None]) -> Callable[[], None]:
        """Call ``callback(status)`` on every state change, on the thread that caused it."""
        return self._status_callbacks.add(callback)

    def start(self) -> ListenerStatus:
        """Start the child and wait until it listens. Raises ListenerError on failure."""
        run = self._begin()
        if run is not None and not run.settled.wait(self._start_timeout):
            self._abandon(run)
        status = self._status
        if status.state is ListenerState.LISTENING:
            return status
        raise ListenerError(status.error or "The listener stopped before it started listening.")

    def start_async(self) -> ListenerStatus:
        """Start the child and return at once (STARTING, or FAILED if it could not be run).

        The outcome arrives through ``on_status``: LISTENING with the URL, or FAILED with the
        child's message. Never raises ListenerError; a no-op while starting or listening.
        """
        run = self._begin()
        if run is not None and not run.settled.is_set() and run.timer is None:
            # Nobody waits on this start: a child that never reports must still end up FAILED.
            run.timer = threading.Timer(self._start_timeout, self._abandon_if_unsettled, (run,))
            run.timer.daemon = True
            run.timer.start()
        return self._status

    def stop(self, timeout: float = 5.0) -> None:
        """Close the child's stdin (it stops gracefully), wait up to ``timeout``, then
        terminate and kill it. Idempotent; safe when never started or after a failure.
        Not from a subscriber or status callback (those run on the thread stop() joins)."""
        with self._lock:
            run, self._run = self._run, None
            if run is None:
                if self._status.state is not ListenerState.STOPPED:
                    self._set_status(ListenerStatus(ListenerState.STOPPED))
                return
            if threading.current_thread() in (run.stdout_thread, run.stderr_thread):
                self._run = run
                raise RuntimeError("ListenerProcess.stop() cannot run on its reader thread")
            run.stopping = True
        self._end(run, timeout)
        with self._lock:
            self._bound_port = 0
            self._last_error = None
            if self._run is None:
                self._set_status(ListenerStatus(ListenerState.STOPPED))
        run.settle()

    def reload_keys(self, timeout: float = 2.0) -> bool:
        """Make the child re-read the key ring now (it also does within ~1 s by itself);
        True once it has. For a key added just before webhooks that need it (the demo)."""
        run = self._run
        if run is None or run.proc.stdin is None or run.proc.poll() is not None:
            return False
        with self._keys_changed:
            before = self._keys_acks
            try:
                run.proc.stdin.write(b"reload-keys\n")
                run.proc.stdin.flush()
            except (OSError, ValueError):
                return False
            return self._keys_changed.wait_for(lambda: self._keys_acks != before, timeout)

    def command(self, key_ring_file: Path | None = None) -> list[str]:
        """The child's command line for the current configuration."""
        cfg = self._config
        command = [
            self._python,
            "-m",
            "inspector",
            "listen",
            "--machine",
            f"--host={cfg.host}",
            f"--port={cfg.port}",
            f"--body-limit-mb={cfg.body_limit / _MIB!r}",
            f"--data-dir={self.data_dir}",
        ]
        if cfg.tls_cert is not None:
            command.append(f"--tls-cert={cfg.tls_cert}")
        if cfg.tls_key is not None:
            command.append(f"--tls-key={cfg.tls_key}")
        if cfg.allow_remote:
            command.append("--allow-remote")
        if key_ring_file is not None:
            command.append(f"--key-ring={key_ring_file}")
        return command

    # -- lifecycle internals ---------------------------------------------------------------

    def _begin(self) -> _Run | None:
        """Spawn the child unless one is starting or listening; the run to wait on (None
        when it failed before a process existed: the status says why)."""
        with self._lock:
            old = self._run
            if old is not None:
                if self._status.state in (ListenerState.STARTING, ListenerState.LISTENING):
                    return old
                self._run = None
        if old is not None:
            # A child that failed or died: reap it and its threads before a new one.
            old.stopping = True
            self._end(old, 1.0)
        with self._lock:
            if self._run is not None:  # another thread started one meanwhile
                return self._run
            self._bound_port = 0
            self._set_status(ListenerStatus(ListenerState.STARTING))
            try:
                run = self._spawn()
            except InspectorError as exc:
                self._set_status(ListenerStatus(ListenerState.FAILED, error=str(exc)))
                return None
            self._run = run
            return run

    def _spawn(self) -> _Run:
        if self._store.path.name != paths.STORE_FILENAME:
            raise ListenerError(
                f"The listener process can only write to a data dir's {paths.STORE_FILENAME}, "
                f"not {self._store.path}; open the store with Store.open(data_dir)."
            )
        keys_dir, ring_file = self._key_ring_file()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        # Unbuffered stdio in the child would cost a write per line; its printer flushes
        # whenever its queue runs empty, which is what the reader here needs.
        env.pop("PYTHONUNBUFFERED", None)
        try:
            proc = subprocess.Popen(
                self.command(ring_file),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                # Terminal signals (Ctrl+C) go to the window, which then stops the child;
                # the child's lifetime is tied to its stdin, not to a process group.
                start_new_session=True,
            )
        except OSError as exc:
            if keys_dir is not None:
                _remove_tree(keys_dir)
            raise ListenerError(
                f"Could not start the listener process ({self._python}): "
                f"{exc.strerror or exc}. Reinstall the inspector, or run "
                "'fluent-inspector listen' in a terminal to see why."
            ) from exc
        run = _Run(proc, keys_dir)
        run.stderr_thread = threading.Thread(
            target=self._read_stderr, args=(run,), name="inspector-listener-stderr", daemon=True
        )
        run.stdout_thread = threading.Thread(
            target=self._read_stdout, args=(run,), name="inspector-listener-reader", daemon=True
        )
        run.stderr_thread.start()
        run.stdout_thread.start()
        return run

    def _key_ring_file(self) -> tuple[Path | None, Path | None]:
        """(temporary folder to remove later, key ring file to pass) for the child."""
        ring_path = self._keyring.path
        if ring_path is not None:
            if Path(ring_path) == self.data_dir / paths.KEYRING_FILENAME:
                return None, None
            return None, Path(ring_path)
        # An in-memory ring (e.g. the saved one is unreadable): hand the child a snapshot.
        from inspector.core.keys import KeyRing

        folder = Path(tempfile.mkdtemp(prefix="inspector-keys-"))
        snapshot = KeyRing(folder / paths.KEYRING_FILENAME)
        try:
            for key in self._keyring.keys():
                snapshot.add_key(key, replace=True)
        except InspectorError:
            _remove_tree(folder)
            raise
        return folder, folder / paths.KEYRING_FILENAME

    def _end(self, run: _Run, timeout: float) -> None:
        proc = run.proc
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            log.warning(
                "listener process %s did not stop in %.1f s: terminating", proc.pid, timeout
            )
            proc.terminate()
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in (run.stdout_thread, run.stderr_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5.0)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if run.keys_dir is not None:
            _remove_tree(run.keys_dir)
            run.keys_dir = None

    def _abandon(self, run: _Run) -> None:
        """A start that got no answer in time: stop that child and report it."""
        message = (
            f"The listener process did not start listening within {self._start_timeout:g} s. "
            "The computer may be very busy: try again, or run 'fluent-inspector listen' in a "
            "terminal to see why."
        )
        with self._lock:
            if self._run is not run or run.settled.is_set():
                return
            self._run = None
            run.stopping = True
        self._end(run, 1.0)
        with self._lock:
            if self._run is None:
                self._set_status(ListenerStatus(ListenerState.FAILED, error=message))
        run.settle()

    def _abandon_if_unsettled(self, run: _Run) -> None:
        if not run.settled.is_set():
            self._abandon(run)

    def _set_status(self, status: ListenerStatus) -> None:
        self._status = status
        self._status_callbacks(status)

    def _update(self, run: _Run, status: ListenerStatus, *, port: int | None = None) -> None:
        """A status change reported by (or about) ``run``; ignored once it is not current."""
        with self._lock:
            if self._run is not run or run.stopping:
                return
            if port is not None:
                self._bound_port = port
            self._set_status(status)
        if status.state is not ListenerState.STARTING:
            run.settle()

    # -- reader threads ------------------------------------------------------------------------

    def _read_stderr(self, run: _Run) -> None:
        stream = run.proc.stderr
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip()
                if line:
                    run.stderr_tail.append(line)
                    log.info("listener process: %s", line)

    def _read_stdout(self, run: _Run) -> None:
        stream = run.proc.stdout
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                self._read_events(run, stream)
        code = run.proc.wait()
        if run.stderr_thread is not None:
            run.stderr_thread.join(timeout=2.0)
        if self._status.state is ListenerState.FAILED:
            run.settle()  # the child already said why (e.g. port busy)
            return
        self._update(run, ListenerStatus(ListenerState.FAILED, error=_exit_reason(run, code)))

    def _read_events(self, run: _Run, stream: IO[bytes]) -> None:
        for raw in stream:
            try:
                message = json.loads(raw)
            except ValueError:
                log.debug("listener process wrote a line that is not JSON: %r", raw[:200])
                continue
            if not isinstance(message, dict):
                continue
            event = message.get("event")
            if event == "capture":
                capture_id = message.get("id")
                if isinstance(capture_id, str):
                    self._deliver(capture_id, message)
            elif event == "listening":
                url = message.get("url")
                port = message.get("port")
                self._update(
                    run,
                    ListenerStatus(
                        ListenerState.LISTENING, url=url if isinstance(url, str) else None
                    ),
                    port=port if isinstance(port, int) else None,
                )
            elif event == "status" and message.get("state") == ListenerState.FAILED.value:
                error = message.get("error")
                reason = error if isinstance(error, str) and error else None
                self._update(run, ListenerStatus(ListenerState.FAILED, error=reason))
            elif event == "keys_reloaded":
                if message.get("error"):
                    log.warning("the listener could not reload the keys: %s", message["error"])
                with self._keys_changed:
                    self._keys_acks += 1
                    self._keys_changed.notify_all()
            elif event == "store_error":
                error = message.get("error")
                self._last_error = error if isinstance(error, str) and error else None

    def _deliver(self, capture_id: str, message: dict[str, object]) -> None:
        if not self._subscribers:
            return
        capture = light_capture(message)
        if capture is None:
            # A line without the record (a child from an older version): read the store.
            try:
                capture = self._store.get(capture_id)
            except InspectorError as exc:
                # The window's store is closing, or the file is locked for a moment: the
                # table still finds the row through its own paging; only this notification
                # is lost.
                log.debug("could not load capture %s for subscribers: %s", capture_id, exc)
                return
            if capture is None:
                return  # deleted (or trimmed by retention) before we got to it
        self._subscribers(capture)


def light_capture(message: Mapping[str, object]) -> Capture | None:
    """The body-less :class:`Capture` of a ``listen --machine`` capture line, or None when the
    line carries no (usable) record.

    ``body`` and the response's body are ``b""``; ``body_size`` is the real body's size, so
    ``size`` is right. Everything else - headers, signature checks, the event summary (parsed
    by the child from the real body), attempt, seq - is as stored.
    """
    record = message.get("capture")
    seq = message.get("seq")
    if not isinstance(record, dict):
        return None
    try:
        return _capture_from_record(record, seq if isinstance(seq, int) else 0)
    except (KeyError, TypeError, ValueError) as exc:
        log.debug("listener process sent a capture record that does not parse: %s", exc)
        return None


def _capture_from_record(record: dict[str, Any], seq: int) -> Capture:
    response = record.get("response") or {}
    body_size = record.get("body_size")
    attempt = record.get("attempt")
    rejected = record.get("rejected")
    return Capture(
        id=str(record["id"]),
        received_at=datetime.fromisoformat(str(record["received_at"]).replace("Z", "+00:00")),
        method=str(record["method"]),
        target=str(record["target"]),
        path=str(record["path"]),
        query=str(record.get("query") or ""),
        headers=tuple((str(n), str(v)) for n, v in record.get("headers") or ()),
        body=b"",
        remote=str(record.get("remote") or ""),
        tls=bool(record.get("tls")),
        response=ResponseRecord(
            status=int(response.get("status", 200)),
            headers=tuple((str(n), str(v)) for n, v in response.get("headers") or ()),
        ),
        signatures=_checks(record.get("signatures") or {}),
        event=_event(record.get("event")),
        rejected=rejected if isinstance(rejected, str) else None,
        body_size=body_size if isinstance(body_size, int) else 0,
        attempt=attempt if isinstance(attempt, int) else 1,
        seq=seq,
    )


def _checks(data: dict[str, Any]) -> tuple[SignatureCheck, ...]:
    checks = []
    for header in SignatureHeader:
        entry = data.get(header.value)
        if not isinstance(entry, dict):
            continue
        checks.append(
            SignatureCheck(
                header,
                Verdict(entry["verdict"]),
                key_name=entry.get("key") or None,
                received_name=entry.get("received_name") or None,
                detail=str(entry.get("detail") or ""),
                hint=entry.get("hint") or None,
            )
        )
    return tuple(checks)


def _event(data: object) -> EventSummary | None:
    if not isinstance(data, dict):
        return None
    known = {k: v for k, v in data.items() if k in _EVENT_FIELDS}
    known["missing"] = tuple(known.get("missing") or ())
    return EventSummary(**known)


def _exit_reason(run: _Run, code: int) -> str:
    last = run.stderr_tail[-1] if run.stderr_tail else ""
    if last.startswith(_CLI_PREFIX):
        last = last[len(_CLI_PREFIX) :]
    if code == _EXIT_USAGE and last:
        return last  # the CLI's own one-line message: what happened and what to do
    how = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
    detail = f": {last}" if last else ""
    return (
        f"The listener process ended unexpectedly ({how}){detail}. Start the listener again "
        "(Ctrl+L); if it keeps failing, run 'fluent-inspector listen' in a terminal to see why."
    )


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
