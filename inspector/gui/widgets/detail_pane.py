"""The detail pane: Summary, JSON, Raw, Headers and Response tabs for one capture, plus the
GraphQL follow-up tab the window adds (it follows ``capture_changed``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSplitter, QTabBar, QTabWidget, QVBoxLayout, QWidget

from inspector.core.capture import Capture
from inspector.gui.widgets.act_view import ActView
from inspector.gui.widgets.headers_view import HeadersView
from inspector.gui.widgets.json_view import JsonView
from inspector.gui.widgets.raw_view import RawView
from inspector.gui.widgets.summary_view import SummaryView

TAB_SUMMARY, TAB_JSON, TAB_RAW, TAB_HEADERS, TAB_RESPONSE, TAB_GRAPHQL = range(6)

EMPTY_HINT = "No capture selected.\n\nSelect a row in the table (or press J / K) to see it here."


class _ArrowTabBar(QTabBar):
    """Left and Right move between tabs while the tab bar has focus (Qt's own bar only does
    it with Ctrl+Tab; the arrows are what keyboard users try first)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(Qt.Key(event.key()))
        if step is not None and self.count() and not event.modifiers():
            self.setCurrentIndex((self.currentIndex() + step) % self.count())
            event.accept()
            return
        super().keyPressEvent(event)


class ResponseView(QWidget):
    """What the inspector answered: status line, headers and body."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel(self)
        self.status.setObjectName("responseStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headers = HeadersView(self)
        self.body = RawView(self)
        # Rule, forward target and replays: how the capture was acted on.
        self.act = ActView(self)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.headers)
        split.addWidget(self.body)
        split.addWidget(self.act)
        split.setSizes([120, 240, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    def set_capture(self, capture: Capture | None) -> None:
        self.act.set_capture(capture)
        if capture is None:
            self.status.clear()
            self.headers.set_headers([])
            self.body.clear()
            return
        response = capture.response
        note = f"  - rejected: {capture.rejected}" if capture.rejected else ""
        self.status.setText(f"<b>HTTP {response.status}</b>{note}")
        self.headers.set_headers(list(response.headers))
        content_type = next((v for n, v in response.headers if n.lower() == "content-type"), "")
        self.body.set_body(response.body, content_type)


class DetailPane(QTabWidget):
    """Shows one full Capture; the window loads it from the store when a row is selected."""

    capture_changed = Signal(object)
    """The full Capture now shown (None when nothing is selected), loaded once per selection."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabBar(_ArrowTabBar(self))
        self.setDocumentMode(True)
        self.summary = SummaryView(self)
        self.json = JsonView(self)
        self.raw = RawView(self)
        self.headers = HeadersView(self)
        self.response = ResponseView(self)
        self.addTab(self.summary, "Summary")
        self.addTab(self.json, "JSON")
        self.addTab(self.raw, "Raw")
        self.addTab(self.headers, "Headers")
        self.addTab(self.response, "Response")
        self._capture: Capture | None = None
        # Over the tabs' content while nothing is selected, so an empty pane says why it is
        # empty (and a stale capture can never look current). Not over the GraphQL tab,
        # which works without a capture.
        self.hint = QLabel(EMPTY_HINT, self)
        self.hint.setObjectName("detailHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setAutoFillBackground(True)
        self.currentChanged.connect(lambda _i: self._update_hint())
        self.set_capture(None)

    @property
    def capture(self) -> Capture | None:
        return self._capture

    def set_capture(self, capture: Capture | None) -> None:
        self._capture = capture
        self.summary.set_capture(capture)
        self.response.set_capture(capture)
        if capture is None:
            self.json.clear()
            self.raw.clear()
            self.headers.set_headers([])
        else:
            self.json.set_body(capture.body)
            self.raw.set_body(capture.body, capture.content_type)
            self.headers.set_headers(list(capture.headers))
        self._update_hint()
        self.capture_changed.emit(capture)

    def _update_hint(self) -> None:
        show = self._capture is None and self.currentIndex() != TAB_GRAPHQL
        self.hint.setVisible(show)
        if show:
            self._place_hint()
            self.hint.raise_()

    def _place_hint(self) -> None:
        top = self.tabBar().geometry().bottom() + 1
        self.hint.setGeometry(0, top, self.width(), max(0, self.height() - top))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_hint()

    def add_graphql_tab(self, panel: QWidget) -> int:
        """Add the follow-up panel as the GraphQL tab (the window connects it to
        ``capture_changed``)."""
        index = self.insertTab(TAB_GRAPHQL, panel, "GraphQL")
        self.setTabToolTip(
            index, "Ask Fluent's API for the entity's current state (Ctrl+G; Ctrl+Enter runs)"
        )
        return index

    def parts_without_find(self) -> tuple[QWidget, ...]:
        """The tab bar and the tabs with no find of their own: there Ctrl+F may mean the
        window's filter (the JSON and GraphQL tabs keep it for themselves)."""
        return (self.tabBar(), self.summary, self.raw, self.headers, self.response)

    def focus_current(self) -> None:
        widget = self.currentWidget()
        target = widget.focusProxy() or widget
        target.setFocus()
        if not target.hasFocus():
            self.setFocus()
