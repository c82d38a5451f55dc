"""A focus ring the keyboard user can always see.

Fusion marks focus faintly or not at all on several widgets (item views, tab bars, tool
buttons in the dark palette), so a keyboard user lost track of where keys go. One
:class:`FocusRing` follows the application's focus widget and draws a two-pixel frame in the
palette's highlight colour around it - the same in light and dark, whatever the widget.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QApplication, QFocusFrame, QMenu, QWidget

__all__ = ["FocusRing"]

RING_WIDTH = 2


class FocusRing(QFocusFrame):
    """Follows keyboard focus inside ``root`` (its window); ignores popups and menus."""

    def __init__(self, root: QWidget) -> None:
        super().__init__(root)
        self.setObjectName("focusRing")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._root = root
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._follow)

    def _follow(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None or isinstance(new, QMenu) or new.window() is not self._root.window():
            self.setWidget(None)  # type: ignore[arg-type]  # None detaches (Qt docs)
            return
        # A focus proxy's owner (a scroll area's viewport, a combo's line edit) is the
        # widget the user sees as focused.
        self.setWidget(new)

    def color(self) -> QColor:
        return self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        if self.widget() is None:
            return
        painter = QPainter(self)
        pen = QPen(self.color(), RING_WIDTH)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = RING_WIDTH // 2
        painter.drawRect(self.rect().adjusted(half, half, -half, -half))
        painter.end()
