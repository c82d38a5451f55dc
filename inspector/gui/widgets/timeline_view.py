"""The entity timeline window: one root entity's captures in time order, in swim lanes.

``core/timeline.py`` lays the timeline out; this shows it. The first column is painted: one
vertical line per lane (the root first, then each child entity in order of first
appearance) and a dot on the entry's lane, ringed red when the entry has an anomaly. Rows
with an anomaly are tinted and say what looks wrong in the last column; the list under the
table repeats every anomaly. Double-click (or Enter on) a row: :attr:`TimelineView.activated`
with the capture id, which the window selects in the capture table.
"""

from __future__ import annotations

import html
from datetime import timedelta

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.redact import badge
from inspector.core.rows import CaptureRow
from inspector.core.text import escape_control
from inspector.core.timeline import Lane, Timeline, duration_text
from inspector.gui import theme

__all__ = ["LANE_COLORS", "TimelineDialog", "TimelineView", "format_gap"]

LANE_COLORS = (
    "#2f6fde",
    "#d9822b",
    "#2e9e5b",
    "#9b51c9",
    "#c23b5a",
    "#1f9fb0",
    "#8a6d3b",
    "#6c7a89",
)
LANE_WIDTH = 18
_LANE_ROLE = Qt.ItemDataRole.UserRole + 10
_FLAG_ROLE = Qt.ItemDataRole.UserRole + 11
_ID_ROLE = Qt.ItemDataRole.UserRole + 12

COLUMNS = (
    "Lanes",
    "Time",
    "Gap",
    "Event",
    "Entity",
    "Status",
    "Attempt",
    "flex",
    "fluent",
    "Answer",
    "Look at",
)
COL_LANES, COL_TIME, COL_GAP, COL_EVENT = 0, 1, 2, 3
COL_LOOK = len(COLUMNS) - 1


def lane_color(index: int) -> QColor:
    return QColor(LANE_COLORS[index % len(LANE_COLORS)])


def format_gap(gap: timedelta | None) -> str:
    return "" if gap is None else "+" + duration_text(gap)


def _verdict(verdict: Verdict, header: SignatureHeader, row: CaptureRow) -> str:
    shown = badge(verdict, header, row.redacted)
    return f"{shown.symbol} {shown.label}"


class LaneDelegate(QStyledItemDelegate):
    """Paints the lanes column: a line per lane, a dot on this entry's."""

    def __init__(self, lanes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(max(1, self.lanes) * LANE_WIDTH + 8, super().sizeHint(option, index).height())

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        rect: QRect = option.rect
        lane = int(index.data(_LANE_ROLE) or 0)
        flagged = bool(index.data(_FLAG_ROLE))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for i in range(self.lanes):
            x = rect.left() + 4 + i * LANE_WIDTH + LANE_WIDTH // 2
            color = lane_color(i)
            color.setAlpha(110)
            painter.setPen(QPen(color, 2))
            painter.drawLine(x, rect.top(), x, rect.bottom())
        x = rect.left() + 4 + lane * LANE_WIDTH + LANE_WIDTH // 2
        y = rect.center().y()
        radius = 5
        painter.setBrush(QBrush(lane_color(lane)))
        painter.setPen(QPen(QColor("#d62828"), 3) if flagged else QPen(lane_color(lane), 1))
        painter.drawEllipse(x - radius, y - radius, 2 * radius, 2 * radius)
        painter.restore()


def _lane_name(lane: Lane) -> str:
    return " ".join(p for p in (lane.entity_type, lane.entity_ref) if p)


class TimelineView(QWidget):
    """Shows one :class:`Timeline`."""

    activated = Signal(str)
    """A capture id the user double-clicked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("timelineTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.legend = QLabel(self)
        self.legend.setObjectName("timelineLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("timelineTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.delegate = LaneDelegate(1, self.table)
        self.table.setItemDelegateForColumn(COL_LANES, self.delegate)
        self.table.cellDoubleClicked.connect(lambda row, _col: self._activate(row))
        self.table.cellActivated.connect(lambda row, _col: self._activate(row))
        self.anomalies = QListWidget(self)
        self.anomalies.setObjectName("timelineAnomalies")
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.anomalies)
        split.setSizes([480, 110])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.legend)
        layout.addWidget(split, 1)
        self.timeline: Timeline | None = None

    def _activate(self, row: int) -> None:
        item = self.table.item(row, COL_TIME)
        if item is not None:
            self.activated.emit(str(item.data(_ID_ROLE)))

    def set_timeline(self, timeline: Timeline) -> None:
        self.timeline = timeline
        dark = theme.is_dark(self.palette())
        count = len(timeline.entries)
        looks = len(timeline.anomalies)
        self.title.setText(
            f"<b>Timeline of {html.escape(escape_control(timeline.ref))}</b>: {count} capture"
            f"{'s' * (count != 1)}, {len(timeline.lanes)} entit"
            f"{'ies' if len(timeline.lanes) != 1 else 'y'}"
            + (
                f", <span style='color:#d62828'><b>{looks} thing{'s' * (looks != 1)} "
                f"to look at</b></span>"
                if looks
                else ", nothing looks wrong"
            )
        )
        self.legend.setText(
            " &nbsp; ".join(
                f"<span style='color:{lane_color(i).name()}'>●</span> "
                f"{html.escape(escape_control(_lane_name(lane)))}"
                + (" (root)" if lane.is_root else "")
                for i, lane in enumerate(timeline.lanes)
            )
        )
        self.delegate.lanes = max(1, len(timeline.lanes))
        tint = QColor("#5a2424" if dark else "#fde2e2")
        self.table.setRowCount(0)
        self.table.setRowCount(count)
        for r, entry in enumerate(timeline.entries):
            row = entry.row
            flagged = timeline.anomalies_of(row.id)
            lane = timeline.lanes[entry.lane]
            attempt = f"{row.attempt}/{row.attempts}" if row.attempts > 1 else str(row.attempt)
            cells = (
                "",
                row.received_at.astimezone().strftime("%H:%M:%S.%f")[:-3],
                format_gap(entry.gap),
                row.event_name or "-",
                _lane_name(lane),
                row.entity_status,
                attempt,
                _verdict(row.flex, SignatureHeader.FLEX, row),
                _verdict(row.fluent, SignatureHeader.FLUENT, row),
                str(row.response_status) + (f" ({row.rule})" if row.rule else ""),
                "  ".join(f"⚠ {a.message}" for a in flagged),
            )
            for c, text in enumerate(cells):
                # Event, entity, status and the anomaly messages quote the request.
                item = QTableWidgetItem(escape_control(text))
                if c == COL_LANES:
                    item.setData(_LANE_ROLE, entry.lane)
                    item.setData(_FLAG_ROLE, bool(flagged))
                if c == COL_TIME:
                    item.setData(_ID_ROLE, row.id)
                    item.setToolTip(row.received_at.astimezone().isoformat())
                if flagged:
                    item.setBackground(tint)
                    if c == COL_LOOK:
                        item.setToolTip("\n".join(escape_control(a.message) for a in flagged))
                if c == COL_LOOK and flagged:
                    item.setForeground(QColor("#ff8080" if dark else "#a11d1d"))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.anomalies.clear()
        for anomaly in timeline.anomalies:
            self.anomalies.addItem(f"⚠ {escape_control(anomaly.message)}")
        self.anomalies.setVisible(bool(timeline.anomalies))

    def flagged_rows(self) -> list[int]:
        """Rows marked with an anomaly (tests)."""
        return [
            r
            for r in range(self.table.rowCount())
            if (item := self.table.item(r, COL_LANES)) is not None and item.data(_FLAG_ROLE)
        ]


class TimelineDialog(QDialog):
    """A non-modal window of its own for one timeline."""

    def __init__(self, timeline: Timeline, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineDialog")
        self.setWindowTitle(f"Timeline of {escape_control(timeline.ref)}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.view = TimelineView(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view)
        self.view.set_timeline(timeline)
        self.resize(1150, 620)
