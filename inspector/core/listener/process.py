"""The listener in a child process, driven through ``fluent-inspector listen --machine``.

Why a process: at 1,000 signed webhooks/s the in-process listener (aiohttp, RSA, the SQLite
writer) competes with the GUI thread for the GIL and the window's event loop stalls for
~90 ms; in its own process the stalls stay under the 50 ms target.

The child (``child.py``) writes the captures to the same data dir and reports each one as a
protocol line (``protocol.py``) carrying the capture's record without the bodies; a reader
thread here turns it into a :class:`CaptureNotice` and calls the subscribers. It
deliberately does not read the store: loading every capture in full cost the parent ~1 s of
CPU per 10 s at 1,000 webhooks/s, time the GUI thread then waited for the GIL. The child
watches its stdin and stops at EOF, so it ends with its parent even when the parent is
killed. Keys come from the key ring's file, which the child re-reads within ~1 s of a change.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

from inspector.core import paths
from inspector.core.errors import InspectorError, ListenerError
from inspector.core.keys import KeyRing
from inspector.core.listener import protocol
from inspector.core.listener.gates import PATH_PREFIX_ENV
from inspector.core.listener.handle import (
    ListenerBase,
    ListenerConfig,
    ListenerState,
    ListenerStatus,
    notice_of,
)
from inspector.core.store import Store

__all__ = ["START_TIMEOUT", "ListenerProcess"]

log = logging.getLogger("inspector.core.listener")

START_TIMEOUT = 30.0
"""Seconds ``start()`` waits for the child to report listening (it usually takes ~0.5 s)."""
_MIB = 1024 * 1024
_EXIT_USAGE = 2
# The inspector package's parent folder, so `python -m inspector` works in the child even
# when the app runs from a source tree that is not installed.
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]


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


class ListenerProcess(ListenerBase):
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
        super().__init__(config)
        self._store = store
        self._keyring = keyring
        self._python = python or sys.executable
        self._start_timeout = start_timeout
        self._lock = threading.RLock()
        self._run: _Run | None = None
        self._last_error: str | None = None
        self._keys_acks = 0
        self._keys_changed = threading.Condition(threading.Lock())
        self._rules_answers: list[str | None] = []
        self._rules_changed = threading.Condition(threading.Lock())
        self._refused = 0

    # -- the Listener surface ----------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        """The child's most recent failure to store a capture; None once storing works."""
        return self._last_error

    @property
    def refused_outside_prefix(self) -> int:
        """As the child last reported it (at most half a second old)."""
        return self._refused

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        run = self._run
        return run.proc.pid if run is not None and run.proc.poll() is None else None

    @property
    def data_dir(self) -> Path:
        return self._store.path.parent

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
                run.proc.stdin.write(protocol.RELOAD_KEYS + b"\n")
                run.proc.stdin.flush()
            except (OSError, ValueError):
                return False
            return self._keys_changed.wait_for(lambda: self._keys_acks != before, timeout)

    def reload_rules(self, timeout: float = 2.0) -> str | None:
        """Make the child re-read its rules file now (it also does within ~1 s): None once
        the new rules apply, else why not."""
        run = self._run
        if self._config.rules_file is None:
            return "The listener was started without a rules file."
        if run is None or run.proc.stdin is None or run.proc.poll() is not None:
            return "The listener is not running: the rules apply when it starts."
        with self._rules_changed:
            before = len(self._rules_answers)
            try:
                run.proc.stdin.write(protocol.RELOAD_RULES + b"\n")
                run.proc.stdin.flush()
            except (OSError, ValueError):
                return "The listener process is not answering: restart it."
            if not self._rules_changed.wait_for(
                lambda: len(self._rules_answers) != before, timeout
            ):
                return (
                    "The listener did not confirm the new rules in time (it still applies "
                    "them within a second)."
                )
            return self._rules_answers[-1]

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
            f"--queue-limit={cfg.queue_limit}",
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
        if cfg.forward_to is not None:
            command.append(f"--forward-to={cfg.forward_to}")
        for glob, url in cfg.forward_paths:
            command.append(f"--forward-path={glob}={url}")
        if cfg.forward_to is not None or cfg.forward_paths:
            command.append(f"--forward-timeout={cfg.forward_timeout!r}")
            command.append(f"--forward-fallback={cfg.forward_fallback}")
        if cfg.rules_file is not None:
            command.append(f"--rules={cfg.rules_file}")
            if not cfg.rules_must_exist:
                command.append("--rules-if-present")
        if cfg.require_signature:
            command.append("--require-signature")
        # The path prefix is a secret: it goes in the child's environment (readable by this
        # user only), never on its command line, which every user of the machine can list.
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
            self._refused = 0
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
        env.pop(PATH_PREFIX_ENV, None)
        if self._config.path_prefix:
            env[PATH_PREFIX_ENV] = self._config.path_prefix
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
        prefix = (self._config.path_prefix or "").rstrip("/")
        stream = run.proc.stderr
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip()
                if prefix:
                    # "Listening on http://…/h/SECRET": the log file must not keep it.
                    line = line.replace(prefix, "/…")
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
            message = protocol.decode(raw)
            if isinstance(message, protocol.Captured):
                self._deliver(message)
            elif isinstance(message, protocol.Listening):
                self._update(
                    run, ListenerStatus(ListenerState.LISTENING, url=message.url), port=message.port
                )
            elif isinstance(message, protocol.StatusChanged):
                # Only a failure is news: the others follow from what this side did.
                if message.status.state is ListenerState.FAILED:
                    self._update(
                        run, ListenerStatus(ListenerState.FAILED, error=message.status.error)
                    )
            elif isinstance(message, protocol.KeysReloaded):
                if message.error:
                    log.warning("the listener could not reload the keys: %s", message.error)
                with self._keys_changed:
                    self._keys_acks += 1
                    self._keys_changed.notify_all()
            elif isinstance(message, protocol.StoreErrorChanged):
                self._last_error = message.error
            elif isinstance(message, protocol.Refused):
                if self._run is run:  # not a stopped child's last word after a restart
                    self._refused = message.count
            elif isinstance(message, protocol.RulesReloaded):
                with self._rules_changed:
                    self._rules_answers.append(message.error)
                    self._rules_changed.notify_all()

    def _deliver(self, message: protocol.Captured) -> None:
        if not self._subscribers:
            return
        capture = message.capture
        if capture is None:
            # A line without the record (a child from an older version): read the store.
            try:
                capture = self._store.get(message.id)
            except InspectorError as exc:
                # The window's store is closing, or the file is locked for a moment: the
                # table still finds the row through its own paging; only this notification
                # is lost.
                log.debug("could not load capture %s for subscribers: %s", message.id, exc)
                return
            if capture is None:
                return  # deleted (or trimmed by retention) before we got to it
        self._subscribers(notice_of(capture))


def _exit_reason(run: _Run, code: int) -> str:
    last = run.stderr_tail[-1] if run.stderr_tail else ""
    if last.startswith(protocol.CLI_PREFIX):
        last = last[len(protocol.CLI_PREFIX) :]
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
