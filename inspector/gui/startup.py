"""Work that waits until the window has painted once at launch.

Starting the listener child (a second Python importing aiohttp) and building the bundled
GraphQL schema (graphql-core, ~0.3 s of CPU holding the GIL) compete with the first paint on
a small machine. At launch :func:`inspector.gui.app.run` calls :func:`hold`, builds and
shows the window, then :func:`release_after_first_paint`; parts of the window call
:func:`after_first_paint` for such work. Without a hold (tests, scripts building a window)
the work runs at once, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

__all__ = [
    "FALLBACK_MS",
    "after_first_paint",
    "discard",
    "hold",
    "release",
    "release_after_first_paint",
]

FALLBACK_MS = 1500
"""Release anyway after this long (a window that is never painted, e.g. minimised at start,
must still start listening)."""

_held: list[Callable[[], object]] | None = None


def hold() -> None:
    """Queue :func:`after_first_paint` work until :func:`release`."""
    global _held
    if _held is None:
        _held = []


def after_first_paint(work: Callable[[], object]) -> None:
    """Run ``work`` once the launch window has painted; at once when nothing is held."""
    if _held is None:
        work()
    else:
        _held.append(work)


def discard() -> None:
    """Drop the queued work and stop holding (the launch ended before the first paint)."""
    global _held
    _held = None


def release() -> None:
    """Run the queued work (in order) and stop holding; a second call does nothing."""
    global _held
    queued, _held = _held, None
    for work in queued or ():
        work()


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._done = False
        widget.installEventFilter(self)
        QTimer.singleShot(FALLBACK_MS, self._release)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._done:
            # After this paint has been flushed to the screen, not in the middle of it.
            QTimer.singleShot(0, self._release)
        return False

    def _release(self) -> None:
        if self._done:
            return
        self._done = True
        parent = self.parent()
        if isinstance(parent, QWidget):
            parent.removeEventFilter(self)
        release()


def release_after_first_paint(window: QWidget) -> None:
    """:func:`release` after ``window``'s first paint (or :data:`FALLBACK_MS` at most)."""
    _FirstPaint(window)
