"""Errors never kill or freeze the window.

:func:`install_excepthook` catches unexpected exceptions from the GUI thread and from any
background thread, logs them to a rotating file in the data dir, and shows a non-blocking
message box on the GUI thread. :func:`show_error` is the one way to show an error to the user.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from inspector.core.errors import InspectorError
from inspector.core.paths import default_data_dir
from inspector.core.text import EscapingFormatter

__all__ = [
    "COALESCE_SECONDS",
    "ErrorReporter",
    "install_excepthook",
    "log_file_path",
    "setup_file_logging",
    "show_error",
]

log = logging.getLogger("inspector.errors")

COALESCE_SECONDS = 5.0
"""The same error again within this many seconds only bumps a counter on the open box."""
MAX_OPEN_BOXES = 3
"""Beyond this many open error boxes, errors are only logged (a burst must not bury the UI)."""
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3

ParentGetter = Callable[[], QWidget | None]


def log_file_path(data_dir: Path | None = None) -> Path:
    return (data_dir if data_dir is not None else default_data_dir()) / "logs" / "inspector.log"


def setup_file_logging(path: Path | None = None) -> logging.Handler | None:
    """Attach a rotating file handler to the ``inspector`` logger; None if the file is unusable.

    A log file that cannot be written (read-only home, full disk) must not stop the app, so it
    degrades to stderr logging with one warning.
    """
    target = path if path is not None else log_file_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as error:
        print(f"fluent-inspector: cannot write log file {target}: {error}", file=sys.stderr)
        return None
    # Plain and fixed: only what we log goes in, nothing from the environment or headers.
    handler.setFormatter(
        EscapingFormatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    handler.setLevel(logging.INFO)
    package_logger = logging.getLogger("inspector")
    package_logger.addHandler(handler)
    if package_logger.level == logging.NOTSET or package_logger.level > logging.INFO:
        package_logger.setLevel(logging.INFO)
    return handler


def _summary(error: BaseException) -> str:
    text = str(error).strip()
    name = type(error).__name__
    first = text.splitlines()[0] if text else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{name}: {first}" if first else name


def _details(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def show_error(
    parent: QWidget | None, title: str, error: BaseException | str, *, details: str | None = None
) -> QMessageBox:
    """Show an error without blocking (the box is modeless and deletes itself when closed).

    InspectorError messages already say what happened and what to do, so they are shown as
    they are; anything else is a bug, shown as a generic message with the traceback in
    "Details". Returns the box (tests close it; callers usually ignore it).
    """
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    if not isinstance(error, BaseException | str):
        error = str(error)  # be lenient: whatever a signal delivered, show something
    if isinstance(error, str):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(error)
    elif isinstance(error, InspectorError):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(str(error))
        cause = error.__cause__
        if details is None and cause is not None:
            details = _summary(cause)
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText(
            "Something went wrong inside the inspector. The window is still usable; "
            "if this keeps happening, please report it with the details below."
        )
        box.setInformativeText(_summary(error))
        if details is None:
            details = _details(error)
        details += f"\nLog file: {log_file_path()}"
    if details:
        box.setDetailedText(details)
    # Without a parent nothing else keeps the Python wrapper alive until the box closes.
    _OPEN_BOXES.add(box)
    box.finished.connect(lambda _result, b=box: _OPEN_BOXES.discard(b))
    box.show()
    return box


_OPEN_BOXES: set[QMessageBox] = set()


class ErrorReporter(QObject):
    """Lives in the GUI thread; shows error boxes for exceptions raised anywhere.

    ``report`` may be called from any thread: it is always delivered through a queued signal,
    so no dialog is ever created inside the failing code's stack or off the GUI thread.
    """

    _report_q = Signal(object, str)

    def __init__(
        self,
        parent_getter: ParentGetter,
        *,
        clock: Callable[[], float] = time.monotonic,
        coalesce_seconds: float = COALESCE_SECONDS,
    ) -> None:
        super().__init__()
        self._parent_getter = parent_getter
        self._clock = clock
        self._coalesce_seconds = coalesce_seconds
        # key -> (last time shown or bumped, open box or None, repeat count)
        self._recent: dict[tuple[str, str], tuple[float, QMessageBox | None, int]] = {}
        self.shown = 0
        """Boxes opened so far (tests and diagnostics)."""
        self._report_q.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def report(self, error: BaseException, context: str = "") -> None:
        self._report_q.emit(error, context)

    @Slot(object, str)
    def _show(self, error: BaseException, context: str) -> None:
        key = (type(error).__qualname__, str(error))
        now = self._clock()
        previous = self._recent.get(key)
        if previous is not None and now - previous[0] < self._coalesce_seconds:
            _when, box, count = previous
            count += 1
            self._recent[key] = (now, box, count)
            if box is not None and box in _OPEN_BOXES:
                box.setWindowTitle(f"Unexpected error (×{count})")
            return
        self._recent = {
            k: v for k, v in self._recent.items() if now - v[0] < self._coalesce_seconds
        }
        if len(_OPEN_BOXES) >= MAX_OPEN_BOXES:
            self._recent[key] = (now, None, 1)
            return
        try:
            parent = self._parent_getter()
        except Exception:  # the getter itself must not break error reporting
            parent = None
        title = "Unexpected error"
        if context:
            title += f" in {context}"
        box = show_error(parent, title, error)
        self.shown += 1
        self._recent[key] = (now, box, 1)


class _Installed:
    """Handle returned by :func:`install_excepthook`; ``uninstall()`` restores everything."""

    def __init__(
        self,
        reporter: ErrorReporter,
        handler: logging.Handler | None,
        previous_sys: Callable[..., Any],
        previous_threading: Callable[..., Any],
        previous_level: int,
    ) -> None:
        self.reporter = reporter
        self.handler = handler
        self._previous_sys = previous_sys
        self._previous_threading = previous_threading
        self._previous_level = previous_level

    @property
    def log_path(self) -> Path | None:
        if isinstance(self.handler, logging.FileHandler):
            return Path(self.handler.baseFilename)
        return None

    def uninstall(self) -> None:
        global _installed
        if _installed is self:
            _installed = None
        sys.excepthook = self._previous_sys
        threading.excepthook = self._previous_threading
        if self.handler is not None:
            package_logger = logging.getLogger("inspector")
            package_logger.removeHandler(self.handler)
            package_logger.setLevel(self._previous_level)
            self.handler.close()
            self.handler = None


_installed: _Installed | None = None


def install_excepthook(parent_getter: ParentGetter, *, log_path: Path | None = None) -> _Installed:
    """Route uncaught exceptions (any thread) to the log file and a non-blocking message box.

    Call once from the GUI thread after the QApplication exists. ``parent_getter`` returns the
    main window (or None) when a box is about to be shown. Installing again replaces the
    previous installation.
    """
    global _installed
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install_excepthook needs a QApplication")
    if _installed is not None:
        _installed.uninstall()
    previous_level = logging.getLogger("inspector").level
    handler = setup_file_logging(log_path)
    reporter = ErrorReporter(parent_getter)
    previous_sys = sys.excepthook
    previous_threading = threading.excepthook

    def sys_hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous_sys(kind, value, tb)
            return
        log.error("uncaught exception", exc_info=(kind, value, tb))
        if value.__traceback__ is None and tb is not None:
            value = value.with_traceback(tb)
        reporter.report(value)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "unknown thread"
        log.error(
            "uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )
        reporter.report(args.exc_value, f"background thread {name!r}")

    sys.excepthook = sys_hook
    threading.excepthook = thread_hook
    _installed = _Installed(reporter, handler, previous_sys, previous_threading, previous_level)
    return _installed
