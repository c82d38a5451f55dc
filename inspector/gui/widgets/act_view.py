"""How a capture was acted on: the rule that answered, the forward target's answer, and
every replay (failed ones too). Part of the detail pane's Response tab."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from inspector.core.capture import Capture, ReplayRecord

__all__ = ["ActView", "act_summary"]

_PREVIEW = 2000


def act_summary(capture: Capture) -> str:
    """One line: who answered (a rule, the forward target, or the default answer)."""
    parts = [f"Answered by rule “{capture.rule}”" if capture.rule else ""]
    forward = capture.forward
    if forward is not None:
        if forward.error is not None:
            parts.append(
                f"forward failed: {forward.error} (sent the fallback {capture.response.status})"
            )
        else:
            parts.append(
                f"forwarded to {forward.url}: HTTP {forward.status} in {forward.elapsed_ms:.0f} ms "
                "(the answer below is the handler's)"
            )
    text = "; ".join(p for p in parts if p)
    return text or "Default answer (no rule matched, not forwarded)."


def _answer(replay: ReplayRecord) -> str:
    if replay.error is not None:
        return f"not delivered: {replay.error}"
    return f"HTTP {replay.status} · {replay.elapsed_ms:.0f} ms"


class ActView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setObjectName("actSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.replays = QTreeWidget(self)
        self.replays.setObjectName("replaysList")
        self.replays.setHeaderLabels(["Replayed", "Target", "Answer", "Body", "Signatures"])
        self.replays.setRootIsDecorated(False)
        self.replays.setColumnWidth(0, 140)
        self.replays.setColumnWidth(1, 220)
        self.replays.setColumnWidth(2, 150)
        self.replays.setColumnWidth(3, 70)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.replays, 1)

    def set_capture(self, capture: Capture | None) -> None:
        self.replays.clear()
        if capture is None:
            self.summary.clear()
            self.replays.hide()
            return
        self.summary.setText(act_summary(capture))
        self.replays.setVisible(bool(capture.replays))
        for replay in capture.replays:
            item = QTreeWidgetItem(
                [
                    replay.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                    replay.url,
                    _answer(replay),
                    "edited" if replay.edited else "original",
                    replay.badge,
                ]
            )
            preview = replay.body[:_PREVIEW].decode("utf-8", errors="replace")
            item.setToolTip(2, preview or "(empty answer)")
            item.setToolTip(1, replay.url)
            item.setToolTip(4, replay.badge)
            self.replays.addTopLevelItem(item)
