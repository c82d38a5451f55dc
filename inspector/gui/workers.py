"""Background jobs that report back to the GUI thread through signals.

Modelled on superqt's ``thread_worker``: a :class:`Worker` runs a callable on a QThreadPool
and reports ``returned`` / ``errored`` / ``progress`` / ``cancelled`` / ``finished``.

Every result reaches the GUI thread: the worker thread emits private signals that are
connected (queued) to slots of a relay QObject created in the thread that created the
worker, and that relay re-emits the public signals there. So even plain functions and lambdas
connected to the public signals run in the GUI thread, whatever PySide does with them.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from inspector.core.jobs import Cancelled

__all__ = [
    "Cancelled",
    "ProgressReporter",
    "Worker",
    "WorkerSignals",
    "active_workers",
    "run_in_background",
    "shutdown",
    "thread_pool",
]

log = logging.getLogger(__name__)

# Progress is coalesced to at most one update per interval (the last one always goes through),
# so a job reporting per item cannot flood the GUI's event queue.
PROGRESS_INTERVAL_S = 0.05


_INT_MAX = 2**31 - 1


def _clamp_int(value: int) -> int:
    return max(-_INT_MAX, min(int(value), _INT_MAX))


T = TypeVar("T")


class WorkerSignals(QObject):
    """Public signals of a worker; all are emitted in the thread that created the worker."""

    returned = Signal(object)
    errored = Signal(object)
    """The exception instance (its ``__traceback__`` is kept)."""
    progress = Signal(int, int)
    """(done, total)."""
    cancelled = Signal()
    finished = Signal()
    """Always last, after returned, errored or cancelled."""

    # Emitted from the pool thread, delivered queued to the relay slots below.
    _returned_q = Signal(object)
    _errored_q = Signal(object)
    _progress_q = Signal(int, int)
    _cancelled_q = Signal()
    _finished_q = Signal()

    def __init__(self) -> None:
        super().__init__()
        queued = Qt.ConnectionType.QueuedConnection
        self._returned_q.connect(self._relay_returned, queued)
        self._errored_q.connect(self._relay_errored, queued)
        self._progress_q.connect(self._relay_progress, queued)
        self._cancelled_q.connect(self._relay_cancelled, queued)
        self._finished_q.connect(self._relay_finished, queued)

    @Slot(object)
    def _relay_returned(self, value: object) -> None:
        self.returned.emit(value)

    @Slot(object)
    def _relay_errored(self, error: object) -> None:
        self.errored.emit(error)

    @Slot(int, int)
    def _relay_progress(self, done: int, total: int) -> None:
        self.progress.emit(done, total)

    @Slot()
    def _relay_cancelled(self) -> None:
        self.cancelled.emit()

    @Slot()
    def _relay_finished(self) -> None:
        self.finished.emit()


class ProgressReporter:
    """Handed to a job as its first argument: report progress, notice cancellation.

    It satisfies :class:`inspector.core.jobs.Progress`, so core jobs run here unchanged;
    :class:`Cancelled` (raised by them or by :meth:`check_cancelled`) is core's."""

    def __init__(self, worker: Worker[Any]) -> None:
        self._worker = worker
        self._last_emit = 0.0

    @property
    def cancelled(self) -> bool:
        return self._worker.is_cancelled

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled; call it between units of work."""
        if self._worker.is_cancelled:
            raise Cancelled()

    def report(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` units (total 0 = unknown). Cheap to call per item."""
        now = time.monotonic()
        final = total > 0 and done >= total
        if final or done == 0 or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            # Clamped to Qt's int: an overflow here would surface as the job's own error.
            self._worker.signals._progress_q.emit(_clamp_int(done), _clamp_int(total))

    __call__ = report


def _wants_progress(fn: Callable[..., Any]) -> bool:
    """True when fn's first parameter is a ProgressReporter (by annotation or by name)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return False
    first = params[0]
    annotation = first.annotation
    if annotation is ProgressReporter or annotation == "ProgressReporter":
        return True
    return first.name in ("progress", "reporter")


class Worker(QRunnable, Generic[T]):
    """Runs ``fn(*args)`` — or ``fn(progress, *args)`` — on a thread pool; ``T`` is what
    ``fn`` returns, so a result handler is typed ``Callable[[T], ...]`` and never re-checks.

    Create it in the GUI thread (its signals object lives where it is created). The job is
    never interrupted: :meth:`cancel` sets a flag the job polls through its ProgressReporter;
    a job that raises :class:`Cancelled` ends with ``cancelled`` instead of ``errored``.
    """

    def __init__(
        self,
        fn: Callable[..., T],
        *args: Any,
        with_progress: bool | None = None,
    ) -> None:
        super().__init__()
        # Python owns the runnable; the pool must not delete it behind our back.
        self.setAutoDelete(False)
        self.fn = fn
        self.args = args
        self.with_progress = _wants_progress(fn) if with_progress is None else with_progress
        self.signals = WorkerSignals()
        self.reporter = ProgressReporter(self)
        self._cancel = threading.Event()
        self._started = False
        self._done = False
        self.signals.finished.connect(self._on_finished)

    # Convenience aliases so callers can write worker.returned.connect(...).
    @property
    def returned(self) -> Any:
        return self.signals.returned

    @property
    def errored(self) -> Any:
        return self.signals.errored

    @property
    def progress(self) -> Any:
        return self.signals.progress

    @property
    def cancelled(self) -> Any:
        return self.signals.cancelled

    @property
    def finished(self) -> Any:
        return self.signals.finished

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_running(self) -> bool:
        return self._started and not self._done

    @property
    def is_done(self) -> bool:
        return self._done

    def cancel(self) -> None:
        """Ask the job to stop (thread-safe). A job that has not started yet never runs."""
        self._cancel.set()

    def start(self, pool: QThreadPool | None = None) -> Worker[T]:
        if self._started:
            raise RuntimeError("a Worker can only be started once")
        self._started = True
        app = QCoreApplication.instance()
        if app is not None and app.thread() == self.signals.thread():
            self.signals.setParent(app)
        _ACTIVE.add(self)
        (pool if pool is not None else thread_pool()).start(self)
        return self

    def run(self) -> None:  # runs in a pool thread
        signals = self.signals
        try:
            if self._cancel.is_set():
                signals._cancelled_q.emit()
                return
            if self.with_progress:
                result = self.fn(self.reporter, *self.args)
            else:
                result = self.fn(*self.args)
        except Cancelled:
            signals._cancelled_q.emit()
        except BaseException as error:
            signals._errored_q.emit(error)
        else:
            if self._cancel.is_set():
                signals._cancelled_q.emit()
            else:
                signals._returned_q.emit(result)
        finally:
            signals._finished_q.emit()

    def _on_finished(self) -> None:
        self._done = True
        _ACTIVE.discard(self)
        # The pool thread may still be unwinding run() and could drop the last Python reference
        # to this worker; the signals QObject must not be destroyed there. It is parented (so
        # Python's refcount never deletes it) and deleted here, in its own thread, once idle.
        if self.signals.parent() is not None:
            self.signals.deleteLater()


# Workers referenced here until their `finished` reaches the GUI thread, so neither the
# runnable nor its signals object is garbage-collected while queued signals are in flight.
_ACTIVE: set[Worker[Any]] = set()
_POOL: QThreadPool | None = None


def thread_pool() -> QThreadPool:
    """The inspector's own pool (not the global one), so shutdown can wait for just ours."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        # At least 4 however few the cores: the jobs mostly wait in SQLite (without the
        # GIL), and with 2 threads a new filter's first page queued behind the previous
        # filter's two counts - 950 ms to show 200 rows at a million captures.
        _POOL.setMaxThreadCount(max(4, QThreadPool.globalInstance().maxThreadCount()))
        _POOL.setObjectName("inspector-workers")
    return _POOL


def active_workers() -> int:
    return len(_ACTIVE)


def _default_error_handler(error: object) -> None:
    # Nobody asked for errors: hand them to sys.excepthook (the GUI's hook logs and shows them).
    if isinstance(error, BaseException):
        sys.excepthook(type(error), error, error.__traceback__)
    else:
        log.error("background job failed: %r", error)


def run_in_background(
    fn: Callable[..., T],
    *args: Any,
    on_result: Callable[[T], Any] | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
    on_progress: Callable[[int, int], Any] | None = None,
    on_finished: Callable[[], Any] | None = None,
    on_cancelled: Callable[[], Any] | None = None,
    pool: QThreadPool | None = None,
    with_progress: bool | None = None,
) -> Worker[T]:
    """Start ``fn`` on the pool and call the handlers in this (the GUI) thread.

    ``fn`` receives a :class:`ProgressReporter` first when its first parameter is annotated
    ``ProgressReporter`` or named ``progress`` (or when ``with_progress=True``). Without
    ``on_error``, errors go to ``sys.excepthook`` so they are logged and shown, never lost.
    """
    worker: Worker[T] = Worker(fn, *args, with_progress=with_progress)
    if on_result is not None:
        worker.signals.returned.connect(on_result)
    worker.signals.errored.connect(on_error if on_error is not None else _default_error_handler)
    if on_progress is not None:
        worker.signals.progress.connect(on_progress)
    if on_cancelled is not None:
        worker.signals.cancelled.connect(on_cancelled)
    if on_finished is not None:
        worker.signals.finished.connect(on_finished)
    return worker.start(pool)


def shutdown(timeout_ms: int = 3000) -> bool:
    """Cancel every running job and wait for the pool; call before the app quits.

    Returns False if some job did not stop in time (it keeps running; Qt waits for it at exit).
    """
    for worker in list(_ACTIVE):
        worker.cancel()
    if _POOL is None:
        return True
    # Queued jobs are not dropped: they start, see the flag and end with `cancelled`.
    return bool(_POOL.waitForDone(timeout_ms))
