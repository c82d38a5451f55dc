from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from inspector.core.errors import ListenerError
from inspector.gui import errors
from inspector.gui.errors import ErrorReporter, install_excepthook, show_error

# The offscreen platform plugin warns when any QMessageBox is shown; real platforms do not.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


@pytest.fixture(autouse=True)
def _close_boxes(qapp) -> Iterator[None]:
    yield
    for box in _boxes():
        box.close()
    # Closed boxes delete themselves later; do it now so no window outlives its test.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


@pytest.fixture
def installed(qapp, tmp_path: Path) -> Iterator[errors._Installed]:
    handle = install_excepthook(lambda: None, log_path=tmp_path / "logs" / "inspector.log")
    try:
        yield handle
    finally:
        handle.uninstall()


def test_exception_in_thread_is_logged_and_shown(qtbot, installed, tmp_path: Path) -> None:
    def fail() -> None:
        raise ValueError("unexpected payload shape 4711")

    thread = threading.Thread(target=fail, name="worker-x")
    thread.start()
    thread.join(10)
    qtbot.waitUntil(lambda: len(_boxes()) == 1, timeout=10_000)
    box = _boxes()[0]
    assert "background thread 'worker-x'" in box.windowTitle()
    assert "ValueError: unexpected payload shape 4711" in box.informativeText()
    assert "Traceback" in box.detailedText()
    assert "raise ValueError" in box.detailedText()
    assert box.windowModality().name == "NonModal"
    box.close()
    qtbot.waitUntil(lambda: not _boxes())

    log_text = (tmp_path / "logs" / "inspector.log").read_text(encoding="utf-8")
    assert "uncaught exception in thread worker-x" in log_text
    assert "ValueError: unexpected payload shape 4711" in log_text
    assert installed.log_path == tmp_path / "logs" / "inspector.log"


def test_gui_thread_exception_goes_through_sys_excepthook(qtbot, installed) -> None:
    try:
        raise KeyError("missing-column")
    except KeyError:
        sys.excepthook(*sys.exc_info())  # what Python does for an uncaught exception in a slot
    # Queued: never shown inside the failing code's stack.
    assert not _boxes()
    qtbot.waitUntil(lambda: len(_boxes()) == 1, timeout=10_000)
    assert "missing-column" in _boxes()[0].informativeText()


def test_default_log_file_is_in_the_data_dir(
    qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUENT_INSPECTOR_HOME", str(tmp_path / "home"))
    handle = install_excepthook(lambda: None)
    try:
        assert handle.log_path == tmp_path / "home" / "logs" / "inspector.log"
        errors.log.error("hello log")
        assert "hello log" in handle.log_path.read_text(encoding="utf-8")
    finally:
        handle.uninstall()


def test_uninstall_restores_hooks(qapp, tmp_path: Path) -> None:
    before = (sys.excepthook, threading.excepthook)
    handle = install_excepthook(lambda: None, log_path=tmp_path / "x.log")
    assert sys.excepthook is not before[0]
    handle.uninstall()
    assert (sys.excepthook, threading.excepthook) == before


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_identical_errors_are_coalesced(qtbot, qapp) -> None:
    clock = FakeClock()
    reporter = ErrorReporter(lambda: None, clock=clock)
    for _ in range(5):
        reporter.report(RuntimeError("same"))
    reporter.report(RuntimeError("different"))
    qtbot.waitUntil(lambda: len(_boxes()) == 2, timeout=10_000)
    QApplication.processEvents()
    assert reporter.shown == 2
    titles = sorted(b.windowTitle() for b in _boxes())
    assert titles == ["Unexpected error", "Unexpected error (×5)"]

    for box in _boxes():
        box.close()
    clock.now += errors.COALESCE_SECONDS + 1
    reporter.report(RuntimeError("same"))
    qtbot.waitUntil(lambda: len(_boxes()) == 1, timeout=10_000)
    assert reporter.shown == 3


def test_a_burst_of_distinct_errors_opens_only_a_few_boxes(qtbot, qapp) -> None:
    reporter = ErrorReporter(lambda: None, clock=FakeClock())
    for i in range(20):
        reporter.report(RuntimeError(f"error {i}"))
    qtbot.waitUntil(lambda: reporter.shown == errors.MAX_OPEN_BOXES, timeout=10_000)
    QApplication.processEvents()
    assert len(_boxes()) == errors.MAX_OPEN_BOXES


def test_show_error_inspector_error_shows_its_message(qtbot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    message = "Port 8765 is already in use. Stop the other program or choose another port."
    try:
        try:
            raise OSError(98, "Address already in use")
        except OSError as cause:
            raise ListenerError(message) from cause
    except ListenerError as error:
        box = show_error(parent, "Cannot start listener", error)
    assert box.isVisible()
    assert box.text() == message
    assert box.icon() == QMessageBox.Icon.Warning
    assert "Address already in use" in box.detailedText()
    assert box.windowTitle() == "Cannot start listener"
    box.close()


def test_show_error_unexpected_error_is_generic_with_details(qtbot) -> None:
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as error:
        box = show_error(None, "Export failed", error)
    assert "Something went wrong" in box.text()
    assert box.informativeText() == "ZeroDivisionError: division by zero"
    assert "Traceback" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Critical
    box.close()
