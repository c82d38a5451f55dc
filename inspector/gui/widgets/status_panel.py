"""The status area: listening URL, listener health, capture count, rate and activity strip."""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from inspector.core.capture import Capture, SignatureHeader, Verdict
from inspector.core.listener import CaptureNotice, ListenerState, ListenerStatus
from inspector.gui.icons import icon

BUCKET_SECONDS = 5
BUCKETS = 60  # 5 minutes
RATE_WINDOW = 10  # seconds

VALID, NOT_VALID, UNSIGNED = 0, 1, 2


def classify(capture: Capture | CaptureNotice) -> int:
    """valid: every signature header present verifies; unsigned: neither header arrived."""
    if isinstance(capture, CaptureNotice):
        verdicts = [capture.row.flex, capture.row.fluent]
    else:
        verdicts = [capture.signature(h).verdict for h in SignatureHeader]
    present = [v for v in verdicts if v is not Verdict.MISSING]
    if not present:
        return UNSIGNED
    if all(v is Verdict.VALID for v in verdicts):
        return VALID
    return NOT_VALID


class ActivityStrip(QWidget):
    """Arrivals per 5-second bucket over the last 5 minutes, stacked by verdict class.

    Painting walks 60 small integer triples; arrivals only bump a counter.
    """

    def __init__(self, parent: QWidget | None = None, *, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._clock = clock
        self._counts = [[0, 0, 0] for _ in range(BUCKETS)]
        self._epoch = int(self._clock() // BUCKET_SECONDS)
        self.setMinimumSize(180, 22)
        self.setToolTip(
            "Arrivals over the last 5 minutes, 5 s per bar: green valid, red not valid, "
            "grey unsigned"
        )
        self._colors: tuple[QColor, QColor, QColor] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(BUCKET_SECONDS * 1000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def sizeHint(self) -> QSize:
        return QSize(240, 22)

    def _advance(self) -> None:
        now = int(self._clock() // BUCKET_SECONDS)
        steps = now - self._epoch
        if steps <= 0:
            return
        if steps >= BUCKETS:
            self._counts = [[0, 0, 0] for _ in range(BUCKETS)]
        else:
            self._counts = self._counts[steps:] + [[0, 0, 0] for _ in range(steps)]
        self._epoch = now

    def _tick(self) -> None:
        self._advance()
        self.update()

    def record(self, kind: int) -> None:
        self._advance()
        self._counts[-1][kind] += 1
        self.update()

    def buckets(self) -> list[tuple[int, int, int]]:
        self._advance()
        return [(a, b, c) for a, b, c in self._counts]

    def changeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        self._colors = None  # palette may have changed (theme switch)
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        if self._colors is None:
            # Mid-tone colours read on light and dark backgrounds alike.
            self._colors = (QColor("#22c55e"), QColor("#ef4444"), QColor("#9ca3af"))
        painter = QPainter(self)
        rect = self.rect().adjusted(0, 1, 0, -1)
        base = self.palette().color(self.backgroundRole()).darker(108)
        painter.fillRect(rect, base)
        peak = max((sum(c) for c in self._counts), default=0)
        if peak:
            width = rect.width() / BUCKETS
            height = rect.height()
            for i, counts in enumerate(self._counts):
                total = sum(counts)
                if not total:
                    continue
                # sqrt keeps single retries visible next to a burst of hundreds
                bar = max(2.0, height * (total / peak) ** 0.5)
                y = rect.bottom() + 1 - bar
                x = rect.left() + i * width
                for kind in (NOT_VALID, UNSIGNED, VALID):
                    if counts[kind]:
                        part = bar * counts[kind] / total
                        painter.fillRect(
                            QRectF(x + 0.5, y, max(width - 1, 1), part), self._colors[kind]
                        )
                        y += part
        painter.end()


class StatusPanel(QWidget):
    """URL + copy, health, count, rate, activity strip. Buttons are wired by the window."""

    settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dot = QLabel("●", self)
        self._health = QLabel("Stopped", self)
        self._health.setObjectName("listenerHealth")
        self._health.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._health.setWordWrap(False)
        # Clipped in a narrow window rather than widening it; the tooltip (and the error
        # box the listener controller shows) has the whole text.
        self._health.setMinimumWidth(1)
        self._url = QLabel("", self)
        self._url.setObjectName("listenerUrl")
        self._url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QToolButton(self)
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.setToolTip("Copy the listening URL")
        self.copy_button.setAutoRaise(True)
        self.copy_button.clicked.connect(self.copy_url)
        self.settings_button = QToolButton(self)
        self.settings_button.setIcon(icon("settings"))
        self.settings_button.setToolTip("Listener settings (host, port, TLS)")
        self.settings_button.setAutoRaise(True)
        self.settings_button.clicked.connect(self.settings_requested)
        self._count = QLabel("0 captures", self)
        self._count.setObjectName("captureCount")
        self._refused = QLabel("", self)
        self._refused.setObjectName("refusedOutsidePrefix")
        self._refused.setToolTip(
            "Requests to paths outside the secret path prefix since the listener started: "
            "answered 404 and not stored (scanners, or a webhook URL without the prefix)"
        )
        self._refused.hide()
        self._rate = QLabel("0.0/s", self)
        self._rate.setObjectName("captureRate")
        self._rate.setToolTip("Arrivals per second over the last 10 seconds")
        self._rate.setMinimumWidth(60)
        self.strip = ActivityStrip(self)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self._dot)
        layout.addWidget(self._health)
        layout.addWidget(self._url)
        layout.addWidget(self.copy_button)
        layout.addWidget(self.settings_button)
        layout.addStretch(1)
        layout.addWidget(self._refused)
        layout.addWidget(self._count)
        layout.addWidget(self._rate)
        layout.addWidget(self.strip)

        self._status = ListenerStatus(ListenerState.STOPPED)
        self._seconds = [0] * RATE_WINDOW
        self._second = int(time.monotonic())
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(1000)
        self._rate_timer.timeout.connect(self._update_rate)
        self._rate_timer.start()
        self.set_status(self._status)

    @property
    def status(self) -> ListenerStatus:
        return self._status

    def url(self) -> str:
        return self._status.url or ""

    def health_text(self) -> str:
        return self._health.text()

    def copy_url(self) -> None:
        if self._status.url:
            QGuiApplication.clipboard().setText(self._status.url)

    def set_status(self, status: ListenerStatus) -> None:
        self._status = status
        colors = {
            ListenerState.LISTENING: "#16a34a",
            ListenerState.STARTING: "#d97706",
            ListenerState.STOPPED: "#6b7280",
            ListenerState.FAILED: "#dc2626",
        }
        self._dot.setStyleSheet(f"color: {colors[status.state]};")
        if status.state is ListenerState.LISTENING:
            self._health.setText("Listening on")
            self._health.setToolTip("The embedded listener is receiving webhooks")
            self._health.setStyleSheet("")
        elif status.state is ListenerState.STARTING:
            self._health.setText("Starting…")
            self._health.setStyleSheet("")
        elif status.state is ListenerState.STOPPED:
            self._health.setText("Stopped - press Ctrl+L to start listening")
            self._health.setToolTip("")
            self._health.setStyleSheet("")
        else:
            reason = status.error or "the listener failed"
            self._health.setText(f"Not listening: {reason}")
            self._health.setToolTip(f"Not listening: {reason}")
            self._health.setStyleSheet("color: #dc2626;")
        listening = status.state is ListenerState.LISTENING and bool(status.url)
        self._url.setText(f"<b>{status.url}</b>" if listening else "")
        self._url.setVisible(listening)
        self.copy_button.setEnabled(listening)

    def set_refused(self, count: int) -> None:
        """How many requests the path prefix refused (hidden while none)."""
        self._refused.setText(f"{count:,} refused outside the prefix")
        self._refused.setVisible(count > 0)

    def refused_text(self) -> str:
        return "" if self._refused.isHidden() else self._refused.text()

    def set_count(self, total: int) -> None:
        self._count.setText(f"{total:,} capture" + ("" if total == 1 else "s"))

    def record(self, capture: Capture | CaptureNotice) -> None:
        self._roll()
        self._seconds[-1] += 1
        self.strip.record(classify(capture))

    def rate(self) -> float:
        self._roll()
        return sum(self._seconds) / RATE_WINDOW

    def _roll(self) -> None:
        now = int(time.monotonic())
        steps = now - self._second
        if steps > 0:
            if steps >= RATE_WINDOW:
                self._seconds = [0] * RATE_WINDOW
            else:
                self._seconds = self._seconds[steps:] + [0] * steps
            self._second = now

    def _update_rate(self) -> None:
        self._rate.setText(f"{self.rate():.1f}/s")
