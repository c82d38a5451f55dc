"""Signature verdict badges: a rounded pill with colour, symbol and (when it fits) a label."""

from __future__ import annotations

import math

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QFont, QFontMetrics, QHelpEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from inspector.core.capture import Verdict
from inspector.core.redact import REDACTED, Badge, RedactedBadge
from inspector.gui.theme import is_dark, verdict_colors

__all__ = ["VERDICT_ROLE", "VerdictBadgeDelegate", "verdict_from_data"]

VERDICT_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role carrying a :class:`Verdict`, or ``REDACTED`` for a signature a redaction
made inapplicable (or None when there is nothing to show)."""
_BADGES: tuple[Badge, ...] = (*Verdict, REDACTED)

_MARGIN_X = 4  # between cell edge and pill
_MARGIN_Y = 2
_PAD_X = 7  # inside the pill
_PAD_Y = 1
_GAP = 4  # between symbol and label
# Cells differ by verdict, width, selection, focus...: a few dozen in practice. The limit only
# guards against unbounded growth (e.g. a column dragged through many widths).
_CACHE_LIMIT = 512

_CENTER = Qt.AlignmentFlag.AlignCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

AnyIndex = QModelIndex | QPersistentModelIndex


def verdict_from_data(value: object) -> Badge | None:
    """Accept a Verdict, REDACTED or their value strings ("valid"...); anything else is None."""
    if isinstance(value, Verdict | RedactedBadge):
        return value
    if isinstance(value, str):
        if value == REDACTED.value:
            return REDACTED
        try:
            return Verdict(value)
        except ValueError:
            return None
    return None


class _Metrics:
    """Fonts and text widths for one base font, computed once and reused by every paint."""

    def __init__(self, base: QFont) -> None:
        self.base = QFont(base)
        self.font = QFont(base)
        self.font.setBold(True)
        fm = QFontMetrics(self.font)
        self.height = fm.height()
        self.symbol_width = {v: fm.horizontalAdvance(v.symbol) for v in _BADGES}
        self.label_width = {v: fm.horizontalAdvance(v.label) for v in _BADGES}
        self.pill_height = self.height + 2 * _PAD_Y

    def pill_width(self, verdict: Badge, with_label: bool) -> int:
        width = self.symbol_width[verdict] + 2 * _PAD_X
        if with_label:
            width += _GAP + self.label_width[verdict]
        return width


class VerdictBadgeDelegate(QStyledItemDelegate):
    """Paints ``index.data(VERDICT_ROLE)`` as a badge; the model supplies the tooltip.

    Colour is never the only cue: every badge shows the verdict's symbol, and its label when
    the column is wide enough.

    A table shows the same few badges over and over, and each paint is a call from Qt into
    Python (slow while other threads hold the GIL), so a cell is rendered once per look -
    verdict, size, state, palette, font, device pixel ratio - and then drawn as one pixmap.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._metrics: _Metrics | None = None
        self._cache: dict[tuple[object, ...], QPixmap] = {}

    def _metrics_for(self, font: QFont) -> _Metrics:
        metrics = self._metrics
        if metrics is None or metrics.base != font:
            metrics = _Metrics(font)
            self._metrics = metrics
        return metrics

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        verdict = verdict_from_data(index.data(VERDICT_ROLE))
        if verdict is None:
            super().paint(painter, option, index)
            return
        rect = option.rect
        device = painter.device()
        ratio = device.devicePixelRatioF() if device is not None else 1.0
        font = option.font
        # Everything the cell's look depends on. The palette's cache key changes with any
        # palette change (theme switch); the state carries selected, focus, active, enabled.
        key = (
            verdict,
            rect.width(),
            rect.height(),
            option.state.value,
            option.viewItemPosition.value,
            option.palette.cacheKey(),
            font.key(),
            ratio,
        )
        pixmap = self._cache.get(key)
        if pixmap is None:
            pixmap = self._render(verdict, option, ratio)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = pixmap
        painter.drawPixmap(rect.topLeft(), pixmap)

    def _render(self, verdict: Badge, option: QStyleOptionViewItem, ratio: float) -> QPixmap:
        """The whole cell (selection background, focus frame and badge) into a transparent
        pixmap; only the alternating row colour, which the view paints first, shows through."""
        rect = option.rect
        pixmap = QPixmap(
            max(1, math.ceil(rect.width() * ratio)), max(1, math.ceil(rect.height() * ratio))
        )
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        opt = QStyleOptionViewItem(option)
        opt.rect = QRect(0, 0, rect.width(), rect.height())
        opt.text = ""
        opt.icon = QIcon()
        painter = QPainter(pixmap)
        try:
            widget = option.widget
            style = widget.style() if widget is not None else QApplication.style()
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
            self._draw_pill(painter, verdict, opt)
        finally:
            painter.end()
        return pixmap

    def _draw_pill(self, painter: QPainter, verdict: Badge, option: QStyleOptionViewItem) -> None:
        rect = option.rect
        m = self._metrics_for(option.font)
        available = rect.width() - 2 * _MARGIN_X
        with_label = m.pill_width(verdict, True) <= available
        height = min(m.pill_height, rect.height() - 2 * _MARGIN_Y)
        # A symbol-only badge is at least round, never a thin vertical sliver.
        width = min(max(m.pill_width(verdict, with_label), height), max(available, 0))
        if width <= 0 or height <= 0:
            return
        x = rect.x() + _MARGIN_X
        y = rect.y() + (rect.height() - height) / 2
        pill = QRectF(x, y, width, height)

        bg, fg = verdict_colors(verdict, is_dark(option.palette))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        radius = height / 2
        painter.drawRoundedRect(pill, radius, radius)
        painter.setPen(fg)
        painter.setFont(m.font)
        text_x = x + _PAD_X if with_label else x + (width - m.symbol_width[verdict]) / 2
        symbol_width = m.symbol_width[verdict]
        painter.drawText(QRectF(text_x, y, symbol_width, height), _CENTER, verdict.symbol)
        if with_label:
            label_x = text_x + symbol_width + _GAP
            painter.drawText(
                QRectF(label_x, y, m.label_width[verdict] + 1, height), _LEFT, verdict.label
            )

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        verdict = verdict_from_data(index.data(VERDICT_ROLE))
        if verdict is None:
            return super().sizeHint(option, index)
        m = self._metrics_for(option.font)
        # Width for the widest label, so a column sized to contents never truncates a badge.
        widest = max(m.pill_width(v, True) for v in _BADGES)
        return QSize(widest + 2 * _MARGIN_X, m.pill_height + 2 * _MARGIN_Y + 2)

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: AnyIndex,
    ) -> bool:
        if event.type() == QEvent.Type.ToolTip and index.isValid():
            tip = index.data(Qt.ItemDataRole.ToolTipRole)
            if not tip:
                verdict = verdict_from_data(index.data(VERDICT_ROLE))
                if verdict is not None:
                    # The model gives the detailed sentence; this is only a fallback.
                    QToolTip.showText(event.globalPos(), f"{verdict.symbol} {verdict.label}", view)
                    return True
        return super().helpEvent(event, view, option, index)
