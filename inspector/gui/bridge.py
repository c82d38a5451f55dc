"""Core callbacks -> Qt signals delivered in the GUI thread.

The listener runs on its own thread and knows nothing about Qt; it calls plain callables.
Hand it :meth:`CoreBridge.capture_callback` and :meth:`CoreBridge.status_callback`: they may
be called from any thread, and the GUI receives ``capture_added`` / ``listener_status`` in the
bridge's thread, in call order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, Slot

if TYPE_CHECKING:
    from inspector.core.capture import Capture

__all__ = ["CoreBridge"]


class CoreBridge(QObject):
    """Create in the GUI thread; connect to its public signals there."""

    capture_added = Signal(object)
    """A :class:`inspector.core.capture.Capture`, already stored."""
    listener_status = Signal(object)
    """An ``inspector.core.listener.ListenerStatus``."""

    # Every call goes through these, always queued (even from the GUI thread itself), so
    # receivers never run inside the listener's thread or re-entrantly inside a core call,
    # and captures and status changes keep one order.
    _capture_q = Signal(object)
    _status_q = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        queued = Qt.ConnectionType.QueuedConnection
        self._capture_q.connect(self._deliver_capture, queued)
        self._status_q.connect(self._deliver_status, queued)

    def capture_callback(self, capture: Capture) -> None:
        """Thread-safe: hand a new capture to the GUI."""
        self._capture_q.emit(capture)

    def status_callback(self, status: object) -> None:
        """Thread-safe: hand a listener status change to the GUI."""
        self._status_q.emit(status)

    @Slot(object)
    def _deliver_capture(self, capture: object) -> None:
        self.capture_added.emit(capture)

    @Slot(object)
    def _deliver_status(self, status: object) -> None:
        self.listener_status.emit(status)
