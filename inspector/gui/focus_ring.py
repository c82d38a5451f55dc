"""A focus ring the keyboard user can always see.

Fusion marks focus faintly or not at all on several widgets (item views, tab bars, tool
buttons in the dark palette), so a keyboard user lost track of where keys go. One
:class:`FocusRing` follows the application's focus widget and draws a two-pixel frame in the
palette's highlight colour around it - the same in light and dark, whatever the widget.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from shiboken6 import isValid

__all__ = ["FocusRing"]

RING_WIDTH = 2


class FocusRing(QWidget):
    """Follows keyboard focus inside ``root`` (its window); ignores popups and menus.

    An overlay child of the window, raised above everything and transparent to the mouse,
    rather than a QFocusFrame: that stacks itself *under* its widget and relies on the style
    drawing outside the widget, which Fusion does not - the frame was never seen."""

    def __init__(self, root: QWidget) -> None:
        super().__init__(root)
        self.setObjectName("focusRing")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._root = root
        self._target: QWidget | None = None
        self.hide()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._follow)

    def widget(self) -> QWidget | None:
        """The widget the ring is around (None when focus is elsewhere)."""
        return self._target

    def _follow(self, _old: QWidget | None, new: QWidget | None) -> None:
        if self._target is not None and isValid(self._target):
            self._target.removeEventFilter(self)
        if new is None or isinstance(new, QMenu) or new.window() is not self._root.window():
            self._target = None
            self.hide()
            return
        self._target = new
        new.installEventFilter(self)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._target and event.type() in _TRACKED:
            self._place()
        return False

    def _place(self) -> None:
        target = self._target
        if target is None or not isValid(target) or not target.isVisible():
            self.hide()
            return
        top_left = target.mapTo(self._root, QPoint(0, 0))
        self.setGeometry(QRect(top_left, target.size()))
        self.show()
        self.raise_()

    def color(self) -> QColor:
        return self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        painter = QPainter(self)
        pen = QPen(self.color(), RING_WIDTH)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = RING_WIDTH // 2
        painter.drawRect(self.rect().adjusted(half, half, -half, -half))
        painter.end()


_TRACKED = frozenset({QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide})
