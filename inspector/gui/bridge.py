"""Core callbacks -> Qt signals delivered in the GUI thread.

The listener runs on its own thread and knows nothing about Qt; it calls plain callables.
Hand it :meth:`CoreBridge.capture_callback` and :meth:`CoreBridge.status_callback`: they may
be called from any thread, and the GUI receives ``captures_added`` / ``capture_added`` /
``listener_status`` in the bridge's thread, in call order.

Under load the listener calls back a thousand times a second. One queued Qt signal per call
would make the GUI thread take the GIL back from the listener (and repaint the status area)
for every capture, so calls are appended to a queue. A call that finds the bridge idle posts
one queued wake-up, and the GUI takes everything waiting in one go; after a delivery the
bridge stays "awake" for ``tick_ms`` and then takes what queued up meanwhile, so a steady
stream costs at most one delivery per tick while a lone capture is still delivered at once.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QMetaMethod, QObject, Qt, QTimer, Signal, Slot

__all__ = ["CoreBridge"]

_CAPTURE = 0
_STATUS = 1
TICK_MS = 25
"""Under a steady stream, at most one delivery per this many ms."""


class CoreBridge(QObject):
    """Create in the GUI thread; connect to its public signals there."""

    captures_added = Signal(list)
    """The captures (already stored) that arrived since the last delivery, oldest first."""
    capture_added = Signal(object)
    """An ``inspector.core.listener.CaptureNotice``, already stored (one emission per capture;
    ``captures_added`` is the cheaper one under load)."""
    listener_status = Signal(object)
    """An ``inspector.core.listener.ListenerStatus``."""

    # The wake-up is always queued (even from the GUI thread itself), so receivers never run
    # inside the listener's thread or re-entrantly inside a core call.
    _wake = Signal()

    def __init__(self, parent: QObject | None = None, *, tick_ms: int = TICK_MS) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        # (kind, payload) in call order: captures and status changes keep one order.
        self._queue: list[tuple[int, object]] = []
        # True from the wake-up a producer posts until a tick finds the queue empty; while
        # set, producers only append (the GUI will come and look).
        self._awake = False
        self._wake.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self._deliver)
        self._single = QMetaMethod.fromSignal(self.capture_added)

    def capture_callback(self, capture: object) -> None:
        """Thread-safe: hand a new capture to the GUI."""
        self._put(_CAPTURE, capture)

    def status_callback(self, status: object) -> None:
        """Thread-safe: hand a listener status change to the GUI."""
        self._put(_STATUS, status)

    def _put(self, kind: int, payload: object) -> None:
        with self._lock:
            self._queue.append((kind, payload))
            wake = not self._awake
            self._awake = True
        if wake:
            self._wake.emit()

    @Slot()
    def _deliver(self) -> None:
        with self._lock:
            items, self._queue = self._queue, []
            if not items:
                # A quiet tick: the next call wakes the GUI again.
                self._awake = False
                return
        # Look again in one tick; calls arriving meanwhile only append.
        self._tick.start()
        one_by_one = self.isSignalConnected(self._single)
        batch: list[object] = []
        for kind, payload in items:
            if kind == _CAPTURE:
                batch.append(payload)
                continue
            # A status change: captures before it are delivered before it.
            self._emit_captures(batch, one_by_one)
            batch = []
            self.listener_status.emit(payload)
        self._emit_captures(batch, one_by_one)

    def _emit_captures(self, batch: list[object], one_by_one: bool) -> None:
        if not batch:
            return
        self.captures_added.emit(batch)
        if one_by_one:
            for capture in batch:
                self.capture_added.emit(capture)
