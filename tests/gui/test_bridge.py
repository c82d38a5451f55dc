from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from inspector.core.capture import Capture, utc_now
from inspector.gui.bridge import CoreBridge


def _capture(i: int) -> Capture:
    return Capture(
        id=f"cap-{i}",
        received_at=utc_now(),
        method="POST",
        target="/hook",
        path="/hook",
        query="",
        headers=(("Content-Type", "application/json"),),
        body=b"{}",
        remote="127.0.0.1:5000",
        seq=i,
    )


def test_captures_from_a_python_thread_arrive_in_order_in_gui_thread(qtbot, qapp) -> None:
    bridge = CoreBridge()
    received: list[int] = []
    in_gui: list[bool] = []

    def on_capture(capture: object) -> None:
        assert isinstance(capture, Capture)
        in_gui.append(QThread.currentThread() == qapp.thread())
        received.append(capture.seq)

    bridge.capture_added.connect(on_capture)
    captures = [_capture(i) for i in range(1000)]

    def produce() -> None:
        for capture in captures:
            bridge.capture_callback(capture)

    thread = threading.Thread(target=produce, name="fake-listener")
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    qtbot.waitUntil(lambda: len(received) == 1000, timeout=20_000)
    assert received == list(range(1000))
    assert all(in_gui)


def test_status_and_captures_keep_one_order(qtbot, qapp) -> None:
    bridge = CoreBridge()
    log: list[str] = []
    bridge.capture_added.connect(lambda c: log.append(f"cap:{c.seq}"))
    bridge.listener_status.connect(lambda s: log.append(f"status:{s}"))

    def produce() -> None:
        bridge.status_callback("starting")
        for i in range(3):
            bridge.capture_callback(_capture(i))
        bridge.status_callback("stopped")

    thread = threading.Thread(target=produce)
    thread.start()
    thread.join(30)
    qtbot.waitUntil(lambda: len(log) == 5, timeout=10_000)
    assert log == ["status:starting", "cap:0", "cap:1", "cap:2", "status:stopped"]


def test_calls_from_gui_thread_are_queued_not_reentrant(qtbot) -> None:
    bridge = CoreBridge()
    got: list[object] = []
    bridge.listener_status.connect(got.append)
    bridge.status_callback("listening")
    # Delivered by the event loop, never inside the caller's stack.
    assert got == []
    qtbot.waitUntil(lambda: got == ["listening"], timeout=10_000)


def test_a_burst_is_delivered_as_one_batch_in_order(qtbot) -> None:
    """While the GUI thread is busy, captures queue up and arrive in one captures_added
    emission (one wake-up), status changes between them keeping their place."""
    bridge = CoreBridge()
    batches: list[list[int]] = []
    log: list[str] = []
    bridge.captures_added.connect(lambda batch: batches.append([c.seq for c in batch]))
    bridge.captures_added.connect(lambda batch: log.append(f"batch:{len(batch)}"))
    bridge.listener_status.connect(lambda s: log.append(f"status:{s}"))

    def produce() -> None:
        for i in range(500):
            bridge.capture_callback(_capture(i))
        bridge.status_callback("failed")
        for i in range(500, 800):
            bridge.capture_callback(_capture(i))

    thread = threading.Thread(target=produce, name="fake-listener")
    thread.start()
    thread.join(30)  # the GUI thread runs no events meanwhile: one wake-up is pending
    assert not thread.is_alive()
    qtbot.waitUntil(lambda: sum(map(len, batches)) == 800, timeout=20_000)
    assert batches == [list(range(500)), list(range(500, 800))]
    assert log == ["batch:500", "status:failed", "batch:300"]
    # and the next capture wakes the GUI again
    bridge.capture_callback(_capture(800))
    qtbot.waitUntil(lambda: len(batches) == 3)
    assert batches[-1] == [800]
