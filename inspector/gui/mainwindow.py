"""The main window: layout, wiring of the feature controllers, settings, and shutdown order.

What the window *does* lives in :mod:`inspector.gui.controllers` (each registers its commands
in :mod:`inspector.gui.commands`, which builds the menus, toolbar and shortcuts from data).
The window never blocks its own thread on anything slower than one page of rows: exports,
imports, re-verification and the test webhook run in workers.
"""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.core.fluent.profiles import ProfileStore
from inspector.core.fluent.runner import ApiRunner
from inspector.core.followup_history import FollowupHistory
from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig, ListenerProcess, ListenerState, ListenerStatus
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui.bridge import CoreBridge
from inspector.gui.commands import TOOLBAR, Command, CommandRegistry, Scope
from inspector.gui.context import AppContext, CaptureSelection
from inspector.gui.controllers.act import ActController
from inspector.gui.controllers.captures import CapturesController
from inspector.gui.controllers.clipboard import ClipboardController
from inspector.gui.controllers.demo import DemoController
from inspector.gui.controllers.diff import DiffController
from inspector.gui.controllers.followup import FollowupController, SavedEntityStatuses
from inspector.gui.controllers.groups import GroupsController
from inspector.gui.controllers.keys import KeysController
from inspector.gui.controllers.listener import ListenerController, ListenerFactory
from inspector.gui.controllers.timeline import TimelineController
from inspector.gui.controllers.transfer import TransferController
from inspector.gui.controllers.view import ViewController
from inspector.gui.delegates.verdict_badge import VerdictBadgeDelegate
from inspector.gui.focus_ring import FocusRing
from inspector.gui.icons import icon
from inspector.gui.models.capture_table import (
    BADGE_COLUMNS,
    COL_ATTEMPT,
    COL_ENTITY_NOW,
    COL_ENTITY_REF,
    COL_ENTITY_TYPE,
    COL_EVENT,
    COL_FLEX,
    COL_FLUENT,
    COL_METHOD,
    COL_PATH,
    COL_RESPONSE,
    COL_RULE,
    COL_SIZE,
    COL_STATUS,
    COL_TIME,
    COLUMNS,
    CaptureTableModel,
)
from inspector.gui.settings import Settings
from inspector.gui.widgets.capture_table_view import CaptureTableView
from inspector.gui.widgets.detail_pane import DetailPane
from inspector.gui.widgets.empty_state import EmptyState
from inspector.gui.widgets.filter_bar import FilterBar
from inspector.gui.widgets.graphql.panel import GraphQLPanel
from inspector.gui.widgets.status_panel import StatusPanel

__all__ = ["COLUMNS", "ListenerFactory", "MainWindow"]

APP_TITLE = "Fluent Webhook Inspector"
DEFAULT_WIDTHS = (88, 56, 118, 172, 92, 104, 84, 66, 62, 108, 108, 60, 100, 110)
# Model order follows the issue; on screen the verdicts sit next to the event they judge.
# The signature badges come right after time and method, so they stay in view however narrow
# the table gets (the GraphQL tab takes most of the width). Path, Response and Size follow
# the event's fields so that all of them fit the table's share of a 1600 px window (Path is
# elided in the middle); Entity now (empty until follow-ups run) and Attempt come last.
DEFAULT_VISUAL_ORDER = (
    COL_TIME,
    COL_METHOD,
    COL_FLEX,
    COL_FLUENT,
    COL_EVENT,
    COL_ENTITY_TYPE,
    COL_ENTITY_REF,
    COL_STATUS,
    COL_PATH,
    COL_RESPONSE,
    COL_SIZE,
    COL_RULE,
    COL_ENTITY_NOW,
    COL_ATTEMPT,
)


def freeze_startup_heap() -> None:
    """Keep the cycle collector's full passes away from what the window built at start.

    A full (generation 2) pass walks every tracked object while holding the GIL: with Qt,
    the app and a first page of rows that is ~60 ms, which under a live load is the event
    loop's longest stall. Objects alive once the window is up (modules, classes, widgets'
    wrappers) live as long as the process, so they are moved out of the collector's sight
    with ``gc.freeze()``; later passes only walk what came after. Once per process.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: Store,
        keyring: KeyRing,
        settings: Settings,
        listener_config: ListenerConfig,
        parent: QWidget | None = None,
        *,
        data_dir: Path | None = None,
        secrets: SecretStore | None = None,
        listener_factory: ListenerFactory | None = None,
    ) -> None:
        """``data_dir`` holds profiles and follow-up history (default: the store's folder);
        ``secrets`` defaults to the OS keyring (tests pass an in-memory backend);
        ``listener_factory`` defaults to :class:`ListenerProcess`."""
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.focus_ring = FocusRing(self)
        self.setWindowIcon(icon("app"))
        self.store, self.keyring, self.settings = store, keyring, settings
        self.data_dir = Path(data_dir) if data_dir is not None else store.path.parent
        self.secrets = secrets if secrets is not None else SecretStore()
        self.profiles = ProfileStore(self.data_dir)
        self.history, history_problem = self._open_history()
        self.api_runner = ApiRunner()
        self._statuses = SavedEntityStatuses(self.history)
        self._build_widgets()
        self.commands = CommandRegistry(self, settings, self._scopes())
        self.selection = CaptureSelection(
            self.table, self.model, self.detail, store, lambda t, e: self.ctx.show_error(t, e)
        )
        self.ctx = AppContext(
            self,
            store=store,
            keyring=keyring,
            settings=settings,
            secrets=self.secrets,
            profiles=self.profiles,
            history=self.history,
            api_runner=self.api_runner,
            bridge=self.bridge,
            data_dir=self.data_dir,
            commands=self.commands,
            selection=self.selection,
        )
        self.model.error.connect(lambda exc: self.ctx.show_error("Capture store", exc))
        self._make_controllers(
            listener_config, listener_factory if listener_factory is not None else ListenerProcess
        )
        self._make_menus_and_toolbar()
        self._connect()
        self._restore_settings()
        self.captures.update_counts(self.model.matching, self.model.total)
        self.listener.show_status(ListenerStatus(ListenerState.STOPPED))
        if history_problem:
            QTimer.singleShot(0, lambda: self.ctx.show_error("Follow-up history", history_problem))
        QTimer.singleShot(0, freeze_startup_heap)

    def _open_history(self) -> tuple[FollowupHistory, str]:
        try:
            return FollowupHistory.in_data_dir(self.data_dir), ""
        except InspectorError as exc:
            # The panel still works; runs just are not kept after this session.
            return FollowupHistory(Path(":memory:")), (
                f"{exc} Follow-up runs are kept in memory for this session only."
            )

    # -- construction ---------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.bridge = CoreBridge(self)
        self.model = CaptureTableModel(self.store, self, status_lookup=self._statuses)
        self.filter_bar = FilterBar(self.store, self)
        self.table = CaptureTableView(self)
        self.table.setModel(self.model)
        self._badge_delegate = VerdictBadgeDelegate(self.table)
        for column in BADGE_COLUMNS:
            self.table.setItemDelegateForColumn(column, self._badge_delegate)
        for column, width in enumerate(DEFAULT_WIDTHS):
            self.table.setColumnWidth(column, width)
        header = self.table.horizontalHeader()
        for visual, logical in enumerate(DEFAULT_VISUAL_ORDER):
            header.moveSection(header.visualIndex(logical), visual)
        # Newest first is the default order; a header click re-sorts in the store.
        header.setSortIndicator(COL_TIME, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)
        self.model.order_changed.connect(self._show_order)
        self.table.columns_changed.connect(self._save_header)
        self.detail = DetailPane(self)
        self.graphql = GraphQLPanel(
            self.profiles, self.secrets, self.history, self.api_runner, self.settings, self.detail
        )
        # In a scroll area, so the panel's toolbar does not set the width of every tab (and
        # squeeze the capture table) while another tab is shown.
        self.graphql_scroll = QScrollArea(self.detail)
        self.graphql_scroll.setObjectName("graphqlScroll")
        self.graphql_scroll.setWidgetResizable(True)
        self.graphql_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.graphql_scroll.setWidget(self.graphql)
        self.graphql_scroll.setFocusProxy(self.graphql)
        self.detail.add_graphql_tab(self.graphql_scroll)
        self.empty_state = EmptyState(self)
        self.status_panel = StatusPanel(self)
        self.demo_label = QLabel(self)
        self.demo_label.setObjectName("demoStatus")
        self.demo_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Clipped rather than widening the window; the tooltip has the whole text.
        self.demo_label.setMinimumWidth(1)
        self.demo_label.hide()

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_state)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([1090, 510])
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(self.demo_label)
        # Out of the way while a message shows ("Exported N captures to PATH"): the demo's
        # line is long and would squeeze the message to nothing.
        self.statusBar().messageChanged.connect(
            lambda shown: self.demo_label.setVisible(not shown and bool(self.demo_label.text()))
        )
        self.statusBar().addPermanentWidget(self.status_panel, 1)
        self.statusBar().setSizeGripEnabled(True)

    def _scopes(self) -> dict[str, Scope]:
        browse = (self.filter_bar, self.stack, self.status_panel, *self.detail.parts_without_find())
        return {
            "table": Scope((self.table,)),
            # Ctrl+F filters everywhere but the JSON tab, whose own find it is there.
            "browse": Scope(browse),
            # Plain letters and Enter navigate only with the table itself focused.
            "keys": Scope((self.table,), Qt.ShortcutContext.WidgetShortcut),
        }

    def _make_controllers(self, config: ListenerConfig, factory: ListenerFactory) -> None:
        ctx = self.ctx
        # Registration order is menu-independent; the commands' QActions exist from here on.
        self.listener = ListenerController(
            ctx, config, factory, self.status_panel, self.empty_state
        )
        self.followup = FollowupController(ctx, self.graphql)
        self.captures = CapturesController(
            ctx, self.filter_bar, self.stack, self.empty_state, self.status_panel
        )
        self.clipboard = ClipboardController(ctx, self.listener)
        self.transfer = TransferController(ctx, on_imported=self.captures.refresh)
        self.keys = KeysController(ctx, self.listener, self.transfer)
        self.demo = DemoController(ctx, self.listener, self.followup, self.demo_label)
        self.view = ViewController(ctx)
        self.act = ActController(ctx, self.listener)
        self.diff = DiffController(ctx)
        self.timeline = TimelineController(ctx)
        self.groups = GroupsController(ctx, self.captures, self.filter_bar, self.stack)
        self.commands.register(Command("app.quit", "Quit", self.close))

    def _make_menus_and_toolbar(self) -> None:
        menus = self.commands.build_menu_bar(
            self.menuBar(), menus={"auto_follow_up": self.graphql.auto_follow_up_menu}
        )
        self.graphql_menu = menus["GraphQL"]
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.commands.fill(toolbar, TOOLBAR)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _connect(self) -> None:
        self.listener.status_changed.connect(self._show_url_in_title)
        self.empty_state.send_requested.connect(self.listener.send_test_webhook)
        self.empty_state.demo_requested.connect(self.demo.start)
        self.empty_state.keys_requested.connect(self.keys.open_dialog)
        self.empty_state.settings_requested.connect(self.listener.open_settings)
        self.status_panel.settings_requested.connect(self.listener.open_settings)
        self.detail.currentChanged.connect(self._remember_tab)
        for raw in (self.detail.raw, self.detail.response.body):
            raw.wrap_changed.connect(self._remember_wrap)

    def _remember_wrap(self, on: bool) -> None:
        self.settings.raw_wrap = on
        # Both raw views (the request's and the response's) wrap alike.
        for raw in (self.detail.raw, self.detail.response.body):
            raw.set_wrap(on)

    def _show_url_in_title(self, status: ListenerStatus) -> None:
        # What this window is about: where it listens, or else which data dir it shows
        # (two windows on two data dirs stay apart in the task bar). The app does not set
        # an application display name, so Qt does not append the app name a second time.
        url = status.url if status.state is ListenerState.LISTENING else None
        self.setWindowTitle(f"{APP_TITLE} — {url or self.data_dir}")

    def _show_order(self, column: int, order: Qt.SortOrder) -> None:
        header = self.table.horizontalHeader()
        if (header.sortIndicatorSection(), header.sortIndicatorOrder()) != (column, order):
            header.blockSignals(True)
            header.setSortIndicator(column, order)
            header.blockSignals(False)
            header.viewport().update()

    def _save_header(self) -> None:
        self.settings.table_header_state = QByteArray(self.table.horizontalHeader().saveState())

    def _remember_tab(self, index: int) -> None:
        self.settings.detail_tab = index

    # -- settings -------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.window_geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            # 1500x900, or the screen's free area when smaller (a 1280x800 laptop).
            screen = self.screen().availableGeometry()
            self.resize(min(1500, screen.width()), min(900, screen.height()))
        state = s.window_state
        if state is not None:
            self.restoreState(state)
        splitter = s.splitter_state
        if splitter is not None:
            self.splitter.restoreState(splitter)
        header = s.table_header_state
        if header is not None:
            view_header = self.table.horizontalHeader()
            view_header.restoreState(header)
            # The saved state brings the sort indicator back, not the order: ask the store.
            self.model.sort(view_header.sortIndicatorSection(), view_header.sortIndicatorOrder())
        self.detail.setCurrentIndex(min(s.detail_tab, self.detail.count() - 1))
        self.captures.set_following(s.follow_newest)
        for raw in (self.detail.raw, self.detail.response.body):
            raw.set_wrap(s.raw_wrap)
        self.view.restore()

    def save_settings(self) -> None:
        s = self.settings
        s.window_geometry = QByteArray(self.saveGeometry())
        s.window_state = QByteArray(self.saveState())
        s.splitter_state = QByteArray(self.splitter.saveState())
        s.table_header_state = QByteArray(self.table.horizontalHeader().saveState())
        s.follow_newest = self.captures.following
        s.detail_tab = self.detail.currentIndex()
        s.sync()

    # -- closing ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save settings, stop follow-ups, the demo and the listener, cancel jobs; idempotent.

        Follow-ups go first: their calls must end before the history and the runner close,
        and the demo before the listener it posts to."""
        if self.ctx.closed:
            return
        self.save_settings()
        self.ctx.closed = self._statuses.closed = True
        self.ctx.cancel_jobs()
        self.followup.shutdown()
        self.demo.stop()
        self.history.close()
        self.api_runner.close()
        self.listener.drop()
