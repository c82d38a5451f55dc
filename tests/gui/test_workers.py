from __future__ import annotations

import sys
import threading
from types import TracebackType

import pytest
from PySide6.QtCore import QThread, QThreadPool

from inspector.core.errors import StoreError
from inspector.gui import workers
from inspector.gui.workers import Cancelled, ProgressReporter, Worker, run_in_background


class Recorder:
    """Collects what the handlers receive, and in which thread they ran."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.errors: list[BaseException] = []
        self.progress: list[tuple[int, int]] = []
        self.events: list[str] = []
        self.threads: list[QThread] = []

    def _note(self) -> None:
        self.threads.append(QThread.currentThread())

    def on_result(self, value: object) -> None:
        self._note()
        self.results.append(value)
        self.events.append("returned")

    def on_error(self, error: BaseException) -> None:
        self._note()
        self.errors.append(error)
        self.events.append("errored")

    def on_progress(self, done: int, total: int) -> None:
        self._note()
        self.progress.append((done, total))

    def on_cancelled(self) -> None:
        self._note()
        self.events.append("cancelled")

    def on_finished(self) -> None:
        self._note()
        self.events.append("finished")

    def handlers(self) -> dict[str, object]:
        return {
            "on_result": self.on_result,
            "on_error": self.on_error,
            "on_progress": self.on_progress,
            "on_cancelled": self.on_cancelled,
            "on_finished": self.on_finished,
        }


def _wait_done(qtbot, rec: Recorder) -> None:
    qtbot.waitUntil(lambda: "finished" in rec.events, timeout=10_000)


def test_result_arrives_in_gui_thread(qtbot, qapp) -> None:
    rec = Recorder()
    job_threads: list[threading.Thread] = []

    def job(a: int, b: int) -> int:
        job_threads.append(threading.current_thread())
        return a + b

    worker = run_in_background(job, 2, 3, **rec.handlers())  # type: ignore[arg-type]
    assert isinstance(worker, Worker)
    _wait_done(qtbot, rec)
    assert rec.results == [5]
    assert rec.events == ["returned", "finished"]
    assert job_threads and job_threads[0] is not threading.main_thread()
    assert all(t == qapp.thread() for t in rec.threads)
    qtbot.waitUntil(lambda: workers.active_workers() == 0)


def test_lambda_handlers_also_run_in_gui_thread(qtbot, qapp) -> None:
    seen: list[bool] = []
    run_in_background(
        lambda: "x",
        on_result=lambda v: seen.append(QThread.currentThread() == qapp.thread()),
    )
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert seen == [True]


def test_error_becomes_errored_signal(qtbot, qapp) -> None:
    rec = Recorder()

    def job() -> None:
        raise StoreError("The capture store is locked. Close the other inspector and retry.")

    run_in_background(job, **rec.handlers())  # type: ignore[arg-type]
    _wait_done(qtbot, rec)
    assert rec.events == ["errored", "finished"]
    assert isinstance(rec.errors[0], StoreError)
    assert rec.errors[0].__traceback__ is not None
    assert all(t == qapp.thread() for t in rec.threads)


def test_unhandled_error_goes_to_excepthook(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    hooked: list[tuple[type[BaseException], BaseException]] = []

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        hooked.append((kind, value))

    monkeypatch.setattr(sys, "excepthook", hook)
    done: list[bool] = []

    def job() -> None:
        raise ZeroDivisionError("boom")

    run_in_background(job, on_finished=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert [k for k, _ in hooked] == [ZeroDivisionError]


def test_progress_reports_arrive_in_order_and_end_complete(qtbot, qapp) -> None:
    rec = Recorder()

    def job(progress: ProgressReporter, n: int) -> str:
        for i in range(n + 1):
            progress.report(i, n)
        return "done"

    run_in_background(job, 2000, **rec.handlers())  # type: ignore[arg-type]
    _wait_done(qtbot, rec)
    assert rec.results == ["done"]
    assert rec.progress[0] == (0, 2000)
    assert rec.progress[-1] == (2000, 2000)
    dones = [d for d, _ in rec.progress]
    assert dones == sorted(dones)
    assert all(t == qapp.thread() for t in rec.threads)


def test_progress_detected_by_annotation_or_flag(qtbot) -> None:
    got: list[object] = []

    def annotated(r: ProgressReporter) -> bool:
        return isinstance(r, ProgressReporter)

    def plain(x: int) -> int:
        return x * 2

    run_in_background(annotated, on_result=got.append)
    run_in_background(plain, 21, on_result=got.append)
    run_in_background(lambda rep: rep.cancelled, on_result=got.append, with_progress=True)
    qtbot.waitUntil(lambda: len(got) == 3, timeout=10_000)
    assert sorted(map(repr, got)) == sorted(map(repr, [True, 42, False]))


def test_cancel_is_cooperative(qtbot) -> None:
    rec = Recorder()
    started = threading.Event()
    steps: list[int] = []

    def job(progress: ProgressReporter) -> str:
        started.set()
        for i in range(10_000):
            progress.check_cancelled()
            steps.append(i)
            # Wait for the GUI thread to cancel instead of sleeping a guessed time.
            if i == 3:
                assert gate.wait(10)
        return "should not get here"

    gate = threading.Event()
    worker = run_in_background(job, **rec.handlers())  # type: ignore[arg-type]
    assert started.wait(10)
    assert not worker.is_cancelled
    worker.cancel()
    assert worker.reporter.cancelled
    gate.set()
    _wait_done(qtbot, rec)
    assert rec.events == ["cancelled", "finished"]
    assert rec.results == [] and rec.errors == []
    assert steps == [0, 1, 2, 3]
    assert worker.is_done


def test_cancel_before_start_never_runs(qtbot) -> None:
    ran: list[bool] = []
    rec = Recorder()
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    blocker = threading.Event()
    first = run_in_background(blocker.wait, 10, pool=pool)
    second = run_in_background(lambda: ran.append(True), pool=pool, **rec.handlers())  # type: ignore[arg-type]
    second.cancel()
    blocker.set()
    _wait_done(qtbot, rec)
    assert ran == []
    assert rec.events == ["cancelled", "finished"]
    qtbot.waitUntil(lambda: first.is_done, timeout=10_000)
    assert pool.waitForDone(10_000)


def test_cancelled_raised_directly_is_not_an_error(qtbot) -> None:
    rec = Recorder()

    def job() -> None:
        raise Cancelled()

    run_in_background(job, **rec.handlers())  # type: ignore[arg-type]
    _wait_done(qtbot, rec)
    assert rec.events == ["cancelled", "finished"]


def test_worker_starts_only_once(qtbot) -> None:
    done: list[bool] = []
    worker = run_in_background(lambda: None, on_finished=lambda: done.append(True))
    with pytest.raises(RuntimeError):
        worker.start()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def test_many_workers_are_kept_alive_and_released(qtbot) -> None:
    results: list[int] = []
    for i in range(200):
        run_in_background(lambda i=i: i, on_result=results.append)
    qtbot.waitUntil(lambda: len(results) == 200, timeout=20_000)
    assert sorted(results) == list(range(200))
    qtbot.waitUntil(lambda: workers.active_workers() == 0, timeout=10_000)


def test_shutdown_cancels_running_jobs(qtbot) -> None:
    rec = Recorder()
    started = threading.Event()

    def job(progress: ProgressReporter) -> None:
        started.set()
        while True:
            progress.check_cancelled()
            threading.Event().wait(0.001)

    run_in_background(job, **rec.handlers())  # type: ignore[arg-type]
    assert started.wait(10)
    assert workers.shutdown(10_000)
    _wait_done(qtbot, rec)
    assert rec.events == ["cancelled", "finished"]


def test_huge_progress_values_do_not_break_the_job(qtbot) -> None:
    rec = Recorder()

    def job(progress: ProgressReporter) -> str:
        progress.report(5 * 2**32, 10 * 2**32)
        progress.report(10 * 2**32, 10 * 2**32)
        return "ok"

    run_in_background(job, **rec.handlers())  # type: ignore[arg-type]
    _wait_done(qtbot, rec)
    assert rec.results == ["ok"]
    assert rec.progress[-1] == (2**31 - 1, 2**31 - 1)
