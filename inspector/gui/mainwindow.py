"""The main window: live capture table, filter bar, detail pane, status area and actions.

It drives inspector.core and never blocks its own thread on anything slower than one page of
rows: exports, imports, re-verification and the test webhook run in workers.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QFrame,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError, ListenerError
from inspector.core.fluent_api import ApiRunner, ProfileStore
from inspector.core.followup_history import FollowupHistory, FollowupRun, RunStatus
from inspector.core.keys import KeyRing
from inspector.core.listener import (
    CaptureNotice,
    ListenerConfig,
    ListenerHandle,
    ListenerProcess,
    ListenerState,
    ListenerStatus,
)
from inspector.core.queries import QueryTemplateError, template_for
from inspector.core.secrets import SecretStore
from inspector.core.signatures import verify_headers
from inspector.core.store import CaptureQuery, CaptureRow, Store
from inspector.gui import demo, theme
from inspector.gui.bridge import CoreBridge
from inspector.gui.delegates.verdict_badge import VerdictBadgeDelegate
from inspector.gui.errors import show_error
from inspector.gui.followup import (
    DEMO_PROFILE,
    DEMO_SCENARIO,
    DemoSession,
    entity_status,
    start_demo,
)
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
    COL_SIZE,
    COL_STATUS,
    COL_TIME,
    COLUMNS,
    ID_ROLE,
    CaptureTableModel,
)
from inspector.gui.settings import Settings
from inspector.gui.widgets.detail_pane import TAB_GRAPHQL, DetailPane
from inspector.gui.widgets.empty_state import EmptyState
from inspector.gui.widgets.filter_bar import FilterBar
from inspector.gui.widgets.graphql_panel import GraphQLPanel
from inspector.gui.widgets.keys_dialog import KeysDialog
from inspector.gui.widgets.listener_settings import ListenerSettingsDialog
from inspector.gui.widgets.status_panel import StatusPanel
from inspector.gui.workers import ProgressReporter, Worker, run_in_background

APP_TITLE = "Fluent Webhook Inspector"
DEFAULT_WIDTHS = (92, 58, 100, 160, 124, 112, 90, 70, 64, 112, 118, 60, 100)
# Model order follows the issue; on screen the verdicts sit next to the event they judge.
# The signature badges come right after time and method, so they stay in view however narrow
# the table gets (the GraphQL tab takes most of the width); the path rarely varies.
DEFAULT_VISUAL_ORDER = (
    COL_TIME,
    COL_METHOD,
    COL_FLEX,
    COL_FLUENT,
    COL_EVENT,
    COL_ENTITY_TYPE,
    COL_ENTITY_REF,
    COL_STATUS,
    COL_ENTITY_NOW,
    COL_ATTEMPT,
    COL_PATH,
    COL_RESPONSE,
    COL_SIZE,
)
REVERIFY_BATCH = 500
# The GraphQL tab takes width from the table, but leaves it at least this much.
MIN_TABLE_WIDTH = 480
# Below this width the GraphQL tab stacks the editor above the result instead of beside it.
GRAPHQL_SIDE_BY_SIDE_MIN = 900
DEMO_PATH = "/hooks/demo"
# Checked for the length of a demo when nothing was, so the Entity now column fills as the
# order moves; the user's own choice is put back when the demo stops.
DEMO_AUTO_TYPES = ("ORDER", "FULFILMENT")
IMPORT_BATCH = 500
DETAIL_DELAY_MS = 20
"""From a selection change (by the user) to loading the capture into the detail pane."""
FOLLOW_DETAIL_MS = 300
"""While Follow newest moves the selection with each live batch: the detail pane shows the
newest capture at most this often."""


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


# Hop-by-hop framing headers: curl computes its own from the body it sends.
_CURL_SKIP = {"content-length", "transfer-encoding", "connection", "expect"}


# --------------------------------------------------------------------------- pure helpers
def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _ansi_c_quote(body: bytes) -> str:
    """Bash/zsh ``$'...'`` quoting that reproduces ``body`` byte for byte (no NUL bytes)."""
    out = ["$'"]
    for byte in body:
        if byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x27:
            out.append("\\'")
        elif byte == 0x0A:
            out.append("\\n")
        elif byte == 0x09:
            out.append("\\t")
        elif byte == 0x0D:
            out.append("\\r")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    out.append("'")
    return "".join(out)


def _printf_quote(body: bytes) -> str:
    """A ``printf`` format that writes ``body`` exactly, NUL bytes included (POSIX octal)."""
    out = []
    for byte in body:
        if byte == 0x25:
            out.append("%%")
        elif byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x27:
            out.append("'\\''")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return "'" + "".join(out) + "'"


def curl_command(capture: Capture, base_url: str) -> str:
    """A curl command line that replays the capture: same method, target, headers and bytes."""
    url = base_url.rstrip("/") + capture.target
    parts = [f"curl -X {capture.method} {_shell_quote(url)}"]
    for name, value in capture.headers:
        if name.lower() in _CURL_SKIP:
            continue
        parts.append(f"-H {_shell_quote(f'{name}: {value}')}")
    body = capture.body
    prefix = ""
    if body:
        if b"\x00" in body:
            # Shell arguments cannot hold NUL: stream the bytes through printf instead.
            prefix = f"printf {_printf_quote(body)} | "
            parts.append("--data-binary @-")
        else:
            parts.append(f"--data-binary {_ansi_c_quote(body)}")
    return prefix + " \\\n  ".join(parts)


def followup_entity_status(run: FollowupRun, entity_type: str) -> str | None:
    """The entity status a saved follow-up run found, for the Entity now column.

    "error" when the run failed, "not found" when the template's root field came back null;
    None for a hand-written query that did not fetch one entity's status.
    """
    if run.status is RunStatus.FAILED:
        return "error"
    data = run.result
    if not isinstance(data, Mapping):
        return "error" if run.errors else None
    root = ""
    with contextlib.suppress(QueryTemplateError):
        root = template_for(entity_type).root_field if entity_type else ""
    if root and root in data:
        found = entity_status(root, data)
        if found:
            return found
        return "error" if run.errors else "not found"
    if len(data) == 1:
        return entity_status(next(iter(data)), data)
    return None


def _verdict_changes(
    captures: Iterable[Capture], keys: tuple[Any, ...]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for capture in captures:
        checks = verify_headers(capture.headers, capture.body, keys)
        if tuple(checks) != tuple(capture.signatures):
            yield capture.id, tuple(checks)


def reverify_job(progress: ProgressReporter, store: Store, keyring: KeyRing) -> int:
    """Re-check every capture's signatures against the current keys; returns how many changed."""
    keys = keyring.keys()
    total = store.count()
    changed = 0
    batch: list[tuple[str, tuple[Any, ...]]] = []
    progress.report(0, total)
    for done, capture in enumerate(store.iter_captures(batch=REVERIFY_BATCH), start=1):
        progress.check_cancelled()
        batch.extend(_verdict_changes((capture,), keys))
        if len(batch) >= REVERIFY_BATCH:
            changed += store.update_signatures(batch)
            batch = []
        progress.report(done, total)
    if batch:
        changed += store.update_signatures(batch)
    progress.report(total, total)
    return changed


def export_job(
    progress: ProgressReporter, store: Store, query: CaptureQuery, path: Path, fmt: str
) -> int:
    from inspector.core import exchange

    total = store.count(query)
    progress.report(0, total)

    def counted() -> Iterator[Capture]:
        for done, capture in enumerate(store.iter_captures(query), start=1):
            progress.check_cancelled()
            yield capture
            progress.report(done, total)

    return exchange.export_file(counted(), path, fmt)


def import_job(progress: ProgressReporter, store: Store, path: Path) -> tuple[int, int]:
    from inspector.core import exchange

    read = added = 0
    chunk: list[Capture] = []
    progress.report(0, 0)
    for capture in exchange.import_file(path):
        progress.check_cancelled()
        chunk.append(capture)
        read += 1
        if len(chunk) >= IMPORT_BATCH:
            added += store.add_many(chunk)
            chunk = []
            progress.report(read, 0)
    if chunk:
        added += store.add_many(chunk)
    return added, read


def clear_job(progress: ProgressReporter, store: Store, history: FollowupHistory) -> int:
    """Delete every capture, then every follow-up run (they would point at nothing)."""
    progress.report(0, 0)
    cleared = store.clear()
    history.clear()
    return cleared


# --------------------------------------------------------------------------- the table view
class CaptureTableView(QTableView):
    """Keeps the rows the user is looking at in place while new rows arrive at the top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("captureTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSortingEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        # Fixed row heights: the view never measures rows, so 100,000 rows cost nothing.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.update_row_height()
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._scroll_before: int | None = None

    def update_row_height(self) -> None:
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self.update_row_height()

    def note_before_insert(self) -> None:
        self._scroll_before = self.verticalScrollBar().value()

    def keep_viewport(self, inserted: int) -> None:
        """Shift the scroll position by the inserted rows' height unless we were at the top."""
        before = self._scroll_before
        self._scroll_before = None
        if not before:
            return
        self.updateGeometries()
        bar = self.verticalScrollBar()
        bar.setValue(before + inserted * self.verticalHeader().defaultSectionSize())


# --------------------------------------------------------------------------- the window
ListenerFactory = Callable[[Store, KeyRing, ListenerConfig], ListenerHandle]
"""Builds the window's listener: :class:`ListenerProcess` by default (ingest in a child
process, so it never competes with the GUI thread for the GIL); the in-process
:class:`inspector.core.listener.Listener` has the same signature."""


class MainWindow(QMainWindow):
    _demo_progress = Signal()
    """Emitted from the sandbox thread after each demo delivery and when the scenario ends."""

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
        self.setWindowIcon(icon("app"))
        self.store = store
        self.keyring = keyring
        self.settings = settings
        self.listener_config = listener_config
        self.listener_factory: ListenerFactory = (
            listener_factory if listener_factory is not None else ListenerProcess
        )
        self.listener: ListenerHandle | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._workers: set[Worker] = set()
        self._following_programmatically = False
        self._closed = False
        self.data_dir = Path(data_dir) if data_dir is not None else store.path.parent
        self.secrets = secrets if secrets is not None else SecretStore()
        self.profiles = ProfileStore(self.data_dir)
        self.history, history_problem = self._open_history()
        self.api_runner = ApiRunner()
        self.demo: DemoSession | None = None
        self.demo_step_seconds = 1.0
        """Pause between the demo scenario's webhooks (tests make it small)."""
        self._demo_restore: tuple[str, tuple[str, ...] | None] | None = None

        self.bridge = CoreBridge(self)
        self.model = CaptureTableModel(store, self, status_lookup=self._saved_entity_statuses)
        self.model.error.connect(lambda exc: self._show_error("Capture store", exc))

        self.filter_bar = FilterBar(self._distinct, self)
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
        self.detail = DetailPane(self)
        self.graphql = GraphQLPanel(
            self.profiles, self.secrets, self.history, self.api_runner, settings, self.detail
        )
        self.graphql.setFocusProxy(self.graphql.editor)
        # In a scroll area, so the panel's toolbar does not set the width of every tab (and
        # squeeze the capture table) while another tab is shown.
        self.graphql_scroll = QScrollArea(self.detail)
        self.graphql_scroll.setObjectName("graphqlScroll")
        self.graphql_scroll.setWidgetResizable(True)
        self.graphql_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.graphql_scroll.setWidget(self.graphql)
        self.graphql_scroll.setFocusProxy(self.graphql)
        self.detail.add_graphql_tab(self.graphql_scroll)
        self.graphql.installEventFilter(self)
        self._sizes_before_graphql: tuple[list[int], list[int]] | None = None
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
        self.statusBar().addPermanentWidget(self.status_panel, 1)
        self.statusBar().setSizeGripEnabled(True)

        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._load_detail)
        self._detail_loaded_at = 0.0
        self.follow_detail_ms = FOLLOW_DETAIL_MS
        """How often Follow newest may reload the detail pane (tests change it)."""

        self._make_actions()
        self._make_menus_and_toolbar()
        self._make_shortcuts()
        self._connect()
        self._restore_settings()
        self._update_counts(self.model.matching, self.model.total)
        self._on_listener_status(ListenerStatus(ListenerState.STOPPED))
        if history_problem:
            QTimer.singleShot(0, lambda: self._show_error("Follow-up history", history_problem))
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
    def _action(
        self,
        text: str,
        slot: Callable[..., Any],
        shortcut: Any = None,
        icon_name: str | None = None,
        tip: str = "",
        checkable: bool = False,
        scope: tuple[QWidget, ...] = (),
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            if isinstance(shortcut, list | tuple):
                # Duplicates (a literal and the platform's standard key) would make the
                # shortcut ambiguous, and Qt then triggers neither.
                sequences: list[QKeySequence] = []
                for item in shortcut:
                    for sequence in (
                        QKeySequence.keyBindings(item)
                        if isinstance(item, QKeySequence.StandardKey)
                        else [QKeySequence(item)]
                    ):
                        if sequence not in sequences:
                            sequences.append(sequence)
                action.setShortcuts(sequences)
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        if scope:
            # Only while focus is inside these widgets: the same keys mean something else
            # elsewhere (Ctrl+C in a text view, Ctrl+F in the JSON view's own find).
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            for widget in scope:
                widget.addAction(action)
        else:
            self.addAction(action)
        return action

    def _make_actions(self) -> None:
        A = self._action
        self.act_listen = A(
            "Stop listening",
            self.toggle_listener,
            "Ctrl+L",
            "stop",
            "Start or stop the embedded listener (Ctrl+L)",
        )
        self.act_send = A(
            "Send test webhook",
            self.send_test_webhook,
            "Ctrl+T",
            "send",
            "POST a sample event signed with the demo key to the listener",
        )
        self.act_demo = A(
            "Start demo",
            self.toggle_demo,
            "Ctrl+Shift+D",
            "play",
            "Play an order's lifecycle from an offline Fluent sandbox into this listener, with a "
            "'demo' profile to query it (Ctrl+Shift+D)",
        )
        self.act_graphql = A(
            "GraphQL follow-up",
            self.focus_graphql,
            "Ctrl+G",
            None,
            "Ask Fluent's API about the selected capture's entity (Ctrl+G)",
        )
        # The panel's own Ctrl+Enter runs the query; a second shortcut would make it ambiguous.
        self.act_run_query = A("Run query\tCtrl+Enter", self.run_query)
        self.act_profiles = A(
            "Connection profiles…",
            lambda: self.graphql.manage_profiles(),
            None,
            "settings",
            "Fluent accounts to query: base URL, client id, user (secrets go to the keyring)",
        )
        self.act_listener_settings = A(
            "Listener settings…",
            self.open_listener_settings,
            None,
            "settings",
            "Host, port, body limit and TLS",
        )
        self.act_copy_url = A("Copy listening URL", self.status_panel.copy_url, None, "copy")
        self.act_follow = A(
            "Follow newest",
            self._set_follow,
            None,
            "follow",
            "Select and show each new capture as it arrives",
            checkable=True,
        )
        self.act_keys = A(
            "Keys…",
            self.open_keys_dialog,
            "Ctrl+K",
            "key",
            "Public keys that verify the signatures (Ctrl+K)",
        )
        self.act_reverify = A(
            "Re-verify all",
            self.reverify_all,
            None,
            "refresh",
            "Check every stored capture again with the current keys",
        )
        self.act_export = A(
            "Export…",
            self.export_shown,
            "Ctrl+E",
            "export",
            "Export the captures the filter shows (JSON lines or HAR)",
        )
        self.act_export_selected = A(
            "Export selected…", self.export_selected, "Ctrl+Shift+E", "export"
        )
        self.act_import = A(
            "Import…",
            self.import_captures,
            "Ctrl+I",
            "import",
            "Import captures from JSON lines or HAR",
        )
        self.act_delete = A(
            "Delete",
            self.delete_selected,
            QKeySequence.StandardKey.Delete,
            "trash",
            "Delete the selected captures (Delete)",
            scope=(self.table,),
        )
        self.act_clear = A(
            "Clear all…",
            self.clear_all,
            "Ctrl+Shift+Delete",
            "clear",
            "Delete every capture (Ctrl+Shift+Delete)",
        )
        self.act_copy_body = A(
            "Copy body",
            self.copy_body,
            QKeySequence.StandardKey.Copy,
            "copy",
            "Copy the selected capture's body (Ctrl+C)",
            scope=(self.table,),
        )
        self.act_copy_curl = A(
            "Copy as cURL",
            self.copy_curl,
            "Ctrl+Shift+C",
            "copy",
            "A curl command that replays the selected capture byte for byte",
        )
        self.act_copy_id = A("Copy capture id", self.copy_id)
        self.act_same_event = A("Show deliveries of this event", self.filter_same_event)
        d = self.detail
        self.act_filter = A(
            "Filter…",
            self.filter_bar.focus_text,
            "Ctrl+F",
            "filter",
            "Focus the filter (Ctrl+F; inside the JSON tab it finds in the tree)",
            scope=(
                self.filter_bar,
                self.stack,
                self.status_panel,
                d.tabBar(),
                d.summary,
                d.raw,
                d.headers,
                d.response,
            ),
        )
        self.act_refresh = A("Refresh", self.refresh, QKeySequence.StandardKey.Refresh, "refresh")
        self.act_zoom_in = A(
            "Zoom in",
            lambda: self.zoom_by(theme.ZOOM_STEP),
            ["Ctrl+=", "Ctrl++", QKeySequence.StandardKey.ZoomIn],
        )
        self.act_zoom_out = A(
            "Zoom out",
            lambda: self.zoom_by(-theme.ZOOM_STEP),
            ["Ctrl+-", QKeySequence.StandardKey.ZoomOut],
        )
        self.act_zoom_reset = A("Actual size", lambda: self.set_zoom(1.0), "Ctrl+0")
        self.act_quit = A("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, label in (("system", "Follow system"), ("light", "Light"), ("dark", "Dark")):
            action = QAction(label, self, checkable=True)
            action.setData(name)
            action.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            self.theme_group.addAction(action)
            self.theme_actions[name] = action

    def _make_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for a in (self.act_import, self.act_export, self.act_export_selected, None, self.act_quit):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        edit = bar.addMenu("&Edit")
        for a in (
            self.act_copy_body,
            self.act_copy_curl,
            self.act_copy_id,
            None,
            self.act_filter,
            self.act_same_event,
            None,
            self.act_delete,
            self.act_clear,
        ):
            edit.addSeparator() if a is None else edit.addAction(a)
        view = bar.addMenu("&View")
        for a in (
            self.act_follow,
            self.act_refresh,
            None,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_zoom_reset,
        ):
            view.addSeparator() if a is None else view.addAction(a)
        themes = view.addMenu("Theme")
        for action in self.theme_actions.values():
            themes.addAction(action)
        listener = bar.addMenu("&Listener")
        for a in (
            self.act_listen,
            self.act_send,
            self.act_copy_url,
            None,
            self.act_listener_settings,
        ):
            listener.addSeparator() if a is None else listener.addAction(a)
        keys = bar.addMenu("&Keys")
        keys.addAction(self.act_keys)
        keys.addAction(self.act_reverify)
        graphql = bar.addMenu("&GraphQL")
        self.graphql.auto_menu.setTitle("Auto follow-up")
        for a in (self.act_graphql, self.act_run_query, None, self.act_profiles):
            graphql.addSeparator() if a is None else graphql.addAction(a)
        graphql.addMenu(self.graphql.auto_menu)
        graphql.addSeparator()
        graphql.addAction(self.act_demo)
        self.graphql_menu = graphql

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (
            self.act_listen,
            self.act_send,
            self.act_demo,
            None,
            self.act_follow,
            None,
            self.act_keys,
            self.act_reverify,
            None,
            self.act_export,
            self.act_import,
            None,
            self.act_delete,
            self.act_clear,
        ):
            toolbar.addSeparator() if a is None else toolbar.addAction(a)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _make_shortcuts(self) -> None:
        def table_key(key: str | Qt.Key, slot: Callable[[], None]) -> None:
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)

        table_key("J", lambda: self.move_selection(1))
        table_key("K", lambda: self.move_selection(-1))
        table_key(Qt.Key.Key_Return, self.focus_detail)
        table_key(Qt.Key.Key_Enter, self.focus_detail)

    def _connect(self) -> None:
        self.bridge.captures_added.connect(self._on_captures)
        self.bridge.listener_status.connect(self._on_listener_status)
        self.model.rowsAboutToBeInserted.connect(self._before_insert)
        self.model.rows_inserted_at_top.connect(self._after_insert)
        self.model.counts_changed.connect(self._update_counts)
        self.model.modelReset.connect(self._after_reset)
        self.filter_bar.query_changed.connect(self.apply_query)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.table.customContextMenuRequested.connect(self._table_menu)
        self.table.doubleClicked.connect(lambda _i: self.focus_detail())
        self.empty_state.send_requested.connect(self.send_test_webhook)
        self.empty_state.demo_requested.connect(self.start_demo)
        self.empty_state.keys_requested.connect(self.open_keys_dialog)
        self.empty_state.settings_requested.connect(self.open_listener_settings)
        self.status_panel.settings_requested.connect(self.open_listener_settings)
        self.detail.currentChanged.connect(self._on_tab_changed)
        self.detail.capture_changed.connect(self.graphql.set_capture)
        self.graphql.entity_status_fetched.connect(self.model.set_entity_status)
        self.graphql.run_finished.connect(self._on_run_finished)
        self._demo_progress.connect(self._update_demo_status, Qt.ConnectionType.QueuedConnection)

    # -- settings -------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.window_geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 900)
        state = s.window_state
        if state is not None:
            self.restoreState(state)
        splitter = s.splitter_state
        if splitter is not None:
            self.splitter.restoreState(splitter)
        header = s.table_header_state
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        self.detail.setCurrentIndex(min(s.detail_tab, self.detail.count() - 1))
        self._following_programmatically = True
        self.act_follow.setChecked(s.follow_newest)
        self._following_programmatically = False
        applied = s.theme
        if applied in self.theme_actions:
            self.theme_actions[applied].setChecked(True)

    def save_settings(self) -> None:
        s = self.settings
        s.window_geometry = QByteArray(self.saveGeometry())
        s.window_state = QByteArray(self.saveState())
        s.splitter_state = QByteArray(self.splitter.saveState())
        s.table_header_state = QByteArray(self.table.horizontalHeader().saveState())
        s.follow_newest = self.act_follow.isChecked()
        s.detail_tab = self.detail.currentIndex()
        s.sync()

    # -- listener -------------------------------------------------------------------------
    def start_listener(self, *, wait: bool = True) -> bool:
        """Start (or restart) the listener with ``listener_config``; False with the reason
        shown in the status area when it cannot start.

        ``wait=False`` (launch, the Start button, new settings) returns at once when the
        listener can start in the background: the status area shows "Starting…" and then
        listening or the failure, so the window never waits on a child process. True then
        means "starting"."""
        if self.listener is None:
            self.listener = self.listener_factory(self.store, self.keyring, self.listener_config)
            self._unsubscribe = [
                self.listener.subscribe(self.bridge.capture_callback),
                self.listener.on_status(self.bridge.status_callback),
            ]
        if not wait:
            started = self.listener.start_async()
            self._on_listener_status(started)
            return started.state is not ListenerState.FAILED
        try:
            status = self.listener.start()
        except ListenerError as exc:
            self._on_listener_status(ListenerStatus(ListenerState.FAILED, error=str(exc)))
            return False
        except InspectorError as exc:
            self._on_listener_status(ListenerStatus(ListenerState.FAILED, error=str(exc)))
            return False
        self._on_listener_status(status)
        return True

    def stop_listener(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self._on_listener_status(self.listener.status)

    def toggle_listener(self) -> None:
        if self.listener is not None and self.listener.status.state in (
            ListenerState.LISTENING,
            ListenerState.STARTING,
        ):
            self.stop_listener()
        else:
            self.start_listener(wait=False)

    def restart_listener(self, config: ListenerConfig, *, wait: bool = True) -> bool:
        """Apply a new configuration: stop the current listener, start a new one
        (``wait`` as in :meth:`start_listener`)."""
        self._drop_listener()
        self.listener_config = config
        return self.start_listener(wait=wait)

    def _drop_listener(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def listener_url(self) -> str | None:
        if self.listener is not None and self.listener.status.state is ListenerState.LISTENING:
            return self.listener.status.url
        return None

    def _on_listener_status(self, status: object) -> None:
        if not isinstance(status, ListenerStatus):
            return
        self.status_panel.set_status(status)
        self.empty_state.set_url(
            status.url if status.state is ListenerState.LISTENING else None, status.error
        )
        listening = status.state is ListenerState.LISTENING
        running = listening or status.state is ListenerState.STARTING
        self.act_listen.setText("Stop listener" if running else "Start listener")
        self.act_listen.setIcon(icon("stop" if running else "play"))
        self.act_send.setEnabled(listening)
        self.act_copy_url.setEnabled(listening)
        url = status.url if listening else None
        self.setWindowTitle(f"{APP_TITLE} — {url}" if url else APP_TITLE)

    def open_listener_settings(self) -> None:
        dialog = ListenerSettingsDialog(self.listener_config, self)
        if dialog.exec() != ListenerSettingsDialog.DialogCode.Accepted:
            return
        config = dialog.config()
        s = self.settings
        s.listener_host = config.host
        if config.port:
            s.listener_port = config.port
        s.body_limit_mb = max(1, config.body_limit // (1024 * 1024))
        s.tls_cert = str(config.tls_cert or "")
        s.tls_key = str(config.tls_key or "")
        s.sync()
        self.restart_listener(config, wait=False)

    # -- live captures ----------------------------------------------------------------------
    def _on_capture(self, capture: object) -> None:
        self._on_captures([capture])

    def _on_captures(self, captures: list[object]) -> None:
        """Everything the listener stored since the last delivery (one bridge signal)."""
        if self._closed:
            return
        woke = False
        for notice in captures:
            if isinstance(notice, CaptureNotice):
                self.status_panel.record(notice)
                self.graphql.on_capture_added(notice)
                woke = True
        if woke:
            self.model.capture_added()

    def _before_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        del last
        if first == 0 and not parent.isValid():
            self.table.note_before_insert()

    def _after_insert(self, count: int) -> None:
        if self.act_follow.isChecked():
            self.select_row(0)
            self.table.scrollToTop()
        else:
            self.table.keep_viewport(count)

    def _after_reset(self) -> None:
        self._update_actions()
        if self.act_follow.isChecked() and self.model.rowCount() > 0:
            self.select_row(0)

    def _update_counts(self, matching: int, total: int) -> None:
        self.filter_bar.set_counts(matching, total)
        self.status_panel.set_count(total)
        empty = total == 0
        self.stack.setCurrentWidget(self.empty_state if empty else self.table)
        # The GraphQL tab is useful before anything arrived (profiles, hand-written queries).
        self.detail.setVisible(not empty or self.detail.currentIndex() == TAB_GRAPHQL)
        self._update_actions()

    def _update_actions(self) -> None:
        has_rows = self.model.total > 0
        selected = bool(self.selected_ids())
        for action in (
            self.act_delete,
            self.act_copy_body,
            self.act_copy_curl,
            self.act_copy_id,
            self.act_export_selected,
            self.act_same_event,
        ):
            action.setEnabled(selected)
        for action in (self.act_clear, self.act_export, self.act_reverify):
            action.setEnabled(has_rows)

    # -- selection & detail -------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self._following_programmatically = True
        try:
            index = self.model.index(row, 0)
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(index)
        finally:
            self._following_programmatically = False

    def move_selection(self, delta: int) -> None:
        current = self.table.currentIndex()
        row = current.row() + delta if current.isValid() else 0
        while row >= self.model.rowCount() and self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        row = max(0, min(row, self.model.rowCount() - 1))
        self._select_by_user(row)

    def _select_by_user(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        index = self.model.index(row, max(self.table.currentIndex().column(), 0))
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        del previous
        if (
            not self._following_programmatically
            and self.act_follow.isChecked()
            and current.isValid()
            and current.row() != 0
        ):
            # The user went to look at an older capture: stop pulling them back to the top.
            self.act_follow.setChecked(False)
            self.statusBar().showMessage(
                "Follow newest is off while you look at older captures", 4000
            )
        if self._following_programmatically:
            # Follow newest moves the selection with every live batch; loading the detail
            # pane (store read, JSON tree, raw text, GraphQL panel) each time would cost the
            # GUI thread several ms per batch. Load the newest at most every follow_detail_ms,
            # without postponing a load already scheduled.
            if not self._detail_timer.isActive():
                since = (time.monotonic() - self._detail_loaded_at) * 1000
                self._detail_timer.start(max(DETAIL_DELAY_MS, int(self.follow_detail_ms - since)))
        else:
            self._detail_timer.start(DETAIL_DELAY_MS)

    def _load_detail(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            self.detail.set_capture(None)
            return
        capture_id = str(self.model.data(index, ID_ROLE))
        current = self.detail.capture
        if current is not None and current.id == capture_id:
            return
        self._detail_loaded_at = time.monotonic()
        try:
            capture = self.store.get(capture_id)
        except InspectorError as exc:
            self._show_error("Capture store", exc)
            return
        self.detail.set_capture(capture)

    def reload_detail(self) -> None:
        self.detail.set_capture(None)
        self._load_detail()

    def current_capture(self) -> Capture | None:
        self._detail_timer.stop()
        self._load_detail()
        return self.detail.capture

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(row).id for row in rows if row < self.model.rowCount()]

    def focus_detail(self) -> None:
        self.current_capture()
        self.detail.focus_current()

    def _on_tab_changed(self, index: int) -> None:
        self.settings.detail_tab = index
        if index == TAB_GRAPHQL:
            self._widen_for_graphql()
        else:
            self._unwiden_after_graphql()

    def _widen_for_graphql(self) -> None:
        """Give the GraphQL tab the width its toolbar needs (keeping the table usable), and
        remember the sizes to go back to when another tab is chosen."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if len(sizes) != 2 or total <= 0:
            return
        want = self.graphql.minimumSizeHint().width() + 2
        if sizes[1] >= want:
            return
        detail = min(want, max(sizes[1], total - MIN_TABLE_WIDTH))
        widened = [total - detail, detail]
        self.splitter.setSizes(widened)
        self._sizes_before_graphql = (sizes, self.splitter.sizes())

    def _unwiden_after_graphql(self) -> None:
        remembered, self._sizes_before_graphql = self._sizes_before_graphql, None
        # Only when the user did not drag the splitter meanwhile: then their sizes stand.
        if remembered is not None and self.splitter.sizes() == remembered[1]:
            self.splitter.setSizes(remembered[0])

    def focus_graphql(self) -> None:
        """Switch to the GraphQL tab with the selected capture's query, cursor in the editor."""
        self.current_capture()
        self.detail.show()
        if self.detail.currentIndex() == TAB_GRAPHQL:
            self._widen_for_graphql()
        else:
            self.detail.setCurrentIndex(TAB_GRAPHQL)
        self.graphql.editor.setFocus()

    def run_query(self) -> bool:
        self.focus_graphql()
        return self.graphql.run()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.graphql and event.type() == QEvent.Type.Resize:
            self._fit_graphql()
        return super().eventFilter(watched, event)

    def _fit_graphql(self) -> None:
        """Editor beside the result when the tab is wide, above it when narrow."""
        splitter = self.graphql.splitter
        wide = self.graphql.width() >= GRAPHQL_SIDE_BY_SIDE_MIN
        wanted = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if splitter.orientation() == wanted:
            return
        splitter.setOrientation(wanted)
        extent = self.graphql.width() if wide else self.graphql.height()
        splitter.setSizes(
            [extent // 2, extent - extent // 2] if wide else [extent * 2 // 5, extent * 3 // 5]
        )

    # -- follow-ups ---------------------------------------------------------------------------
    def _saved_entity_statuses(self, rows: Sequence[CaptureRow]) -> dict[str, str]:
        """ "Entity now" for a page of rows from saved follow-ups, in one history query."""
        if self._closed or not rows:
            return {}
        try:
            runs = self.history.latest_for_many(row.id for row in rows)
        except InspectorError:
            return {}
        found: dict[str, str] = {}
        for row in rows:
            run = runs.get(row.id)
            status = followup_entity_status(run, row.entity_type) if run is not None else None
            if status:
                found[row.id] = status
        return found

    def _on_run_finished(self, run: object) -> None:
        if not isinstance(run, FollowupRun):
            return
        row = self.model.row_of(run.capture_id)
        entity_type = self.model.row_at(row).entity_type if row is not None else ""
        status = followup_entity_status(run, entity_type)
        if status:
            self.model.set_entity_status(run.capture_id, status)

    def _forget_followups(self, capture_ids: Iterable[str]) -> None:
        try:
            self.history.delete_many(capture_ids)
        except InspectorError as exc:
            self._show_error("Follow-up history", exc)

    # -- demo -------------------------------------------------------------------------------
    def toggle_demo(self) -> None:
        if self.demo is not None:
            self.stop_demo()
        else:
            self.start_demo()

    def start_demo(self) -> DemoSession | None:
        """Start the offline sandbox, point the 'demo' profile at it and play an order's
        lifecycle into our own listener (started if needed); None with the reason shown."""
        if self.demo is not None:
            return self.demo
        if self.listener_url() is None:
            self.start_listener()
        url = self.listener_url()
        if url is None:
            self._show_error(
                "Start demo",
                "The demo needs the listener, and it could not start: "
                f"{self.status_panel.health_text()} Fix it in Listener settings, then try again.",
            )
            return None
        added_key = self._ensure_demo_key()
        if added_key:
            self._reload_listener_keys()
        previous_profile = self.graphql.profile_combo.currentText()
        chosen = tuple(t for t, a in self.graphql.auto_actions.items() if a.isChecked())
        try:
            session = start_demo(
                url.rstrip("/") + DEMO_PATH,
                profiles=self.profiles,
                secrets=self.secrets,
                scenario=DEMO_SCENARIO,
                step_seconds=self.demo_step_seconds,
                on_delivery=lambda _delivery: self._emit_demo_progress(),
            )
        except InspectorError as exc:
            self._show_error("Start demo", exc)
            return None
        self.demo = session
        session.scenario.add_done_callback(lambda _future: self._emit_demo_progress())
        self._demo_restore = (previous_profile, None if chosen else chosen)
        # A new sandbox listens on a new port with new credentials: drop the old client.
        self.graphql.api.discard(DEMO_PROFILE)
        self.graphql.reload_profiles(DEMO_PROFILE)
        if not chosen:
            self.graphql.set_auto_follow_up(DEMO_AUTO_TYPES)
        self.act_demo.setText("Stop demo")
        self.act_demo.setIcon(icon("stop"))
        self.act_demo.setToolTip("Stop the demo sandbox and its scenario (Ctrl+Shift+D)")
        self.demo_label.show()
        self._update_demo_status()
        if added_key:
            self.statusBar().showMessage(
                "Registered the demo public key as 'demo' so the demo's signatures verify", 6000
            )
        return session

    def _emit_demo_progress(self) -> None:
        # Called from the sandbox thread: a queued signal hands over to the GUI thread.
        with contextlib.suppress(RuntimeError):
            self._demo_progress.emit()

    def _reload_listener_keys(self) -> None:
        # A listener process reads the key file by itself within a second; the next
        # webhook (the demo's first, seconds from now) must already verify with the new key.
        if self.listener is not None:
            self.listener.reload_keys()

    def _ensure_demo_key(self) -> bool:
        if demo.DEMO_KEY_NAME in {key.name for key in self.keyring.keys()}:
            return False
        try:
            self.keyring.add(demo.DEMO_KEY_NAME, demo.demo_public_b64())
        except InspectorError as exc:
            self._show_error("Demo key", exc)
            return False
        return True

    def _update_demo_status(self) -> None:
        session = self.demo
        if session is None:
            return
        sent = len(session.deliveries)
        failed = sum(1 for d in session.deliveries if d.error or (d.status or 0) >= 400)
        where = f"Demo: sandbox at {session.sandbox.base_url}"
        noun = "webhook" if sent == 1 else "webhooks"
        if not session.scenario.done():
            text = f"{where}, playing {DEMO_SCENARIO}… {sent} {noun} sent"
        elif session.scenario.cancelled():
            text = f"{where}; {DEMO_SCENARIO} stopped after {sent} {noun}"
        elif (error := session.scenario.exception()) is not None:
            text = f"{where}; {DEMO_SCENARIO} failed: {error}"
        else:
            text = (
                f"{where}, {DEMO_SCENARIO} played ({sent} {noun}): select a row, Ctrl+G, Ctrl+Enter"
            )
        if failed:
            text += f" ({failed} not accepted: is the listener running?)"
        self.demo_label.setText(text)
        self.demo_label.setToolTip(text)

    def stop_demo(self) -> None:
        """Stop the demo's scenario and sandbox; put back the profile and auto follow-up."""
        session, self.demo = self.demo, None
        if session is None:
            return
        session.stop()
        restore, self._demo_restore = self._demo_restore, None
        if self._closed:
            # The panel is shut down: only the saved preferences are put back.
            if restore is not None:
                if restore[0]:
                    self.settings.graphql_profile = restore[0]
                if restore[1] is not None:
                    self.settings.graphql_auto_follow_up = restore[1]
        else:
            self.graphql.api.discard(DEMO_PROFILE)
            if restore is not None:
                if restore[1] is not None:
                    self.graphql.set_auto_follow_up(restore[1])
                if restore[0] and restore[0] != DEMO_PROFILE:
                    self.graphql.set_profile(restore[0])
            self.act_demo.setText("Start demo")
            self.act_demo.setIcon(icon("play"))
            self.act_demo.setToolTip(
                "Play an order's lifecycle from an offline Fluent sandbox into this listener "
                "(Ctrl+Shift+D)"
            )
            self.statusBar().showMessage("Demo stopped", 4000)
        self.demo_label.hide()
        self.demo_label.clear()

    def _set_follow(self, on: bool) -> None:
        self.settings.follow_newest = on
        if on and not self._following_programmatically and self.model.rowCount():
            self.select_row(0)
            self.table.scrollToTop()

    # -- filter -----------------------------------------------------------------------------
    def apply_query(self, query: object) -> None:
        if not isinstance(query, CaptureQuery):
            return
        selected = self.selected_ids()
        self.model.set_query(query)
        if selected:
            row = self.model.row_of(selected[0])
            if row is not None:
                self.select_row(row)

    def _distinct(self, column: str) -> list[tuple[str, int]]:
        return self.store.distinct(column)  # type: ignore[arg-type]

    def filter_same_event(self) -> None:
        capture = self.current_capture()
        if capture is not None and capture.event_id:
            self.filter_bar.set_text(capture.event_id)

    def refresh(self) -> None:
        self.model.reload()
        self.filter_bar.refresh_values()

    # -- clipboard --------------------------------------------------------------------------
    def copy_body(self) -> None:
        capture = self.current_capture()
        if capture is None:
            return
        QGuiApplication.clipboard().setText(capture.body.decode("utf-8", errors="replace"))
        self.statusBar().showMessage(f"Copied the body ({capture.size:,} bytes)", 3000)

    def copy_curl(self) -> None:
        capture = self.current_capture()
        if capture is None:
            return
        base = self.listener_url() or (
            f"http://{self.listener_config.host}:{self.listener_config.port}/"
        )
        QGuiApplication.clipboard().setText(curl_command(capture, base))
        self.statusBar().showMessage("Copied a curl command that replays this capture", 3000)

    def copy_id(self) -> None:
        ids = self.selected_ids()
        if ids:
            QGuiApplication.clipboard().setText("\n".join(ids))

    def _table_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for a in (
            self.act_copy_body,
            self.act_copy_curl,
            self.act_copy_id,
            None,
            self.act_same_event,
            self.act_export_selected,
            None,
            self.act_delete,
        ):
            menu.addSeparator() if a is None else menu.addAction(a)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- delete -----------------------------------------------------------------------------
    def delete_selected(self) -> int:
        ids = self.selected_ids()
        if not ids:
            return 0
        noun = "this capture" if len(ids) == 1 else f"these {len(ids):,} captures"
        answer = QMessageBox.question(
            self,
            "Delete captures",
            f"Delete {noun}? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return 0
        row = self.table.currentIndex().row()
        deleted = self.model.remove_ids(ids)
        if deleted:
            self._forget_followups(ids)
        if self.model.rowCount():
            self.select_row(min(max(row, 0), self.model.rowCount() - 1))
        else:
            self.detail.set_capture(None)
        self.statusBar().showMessage(f"Deleted {deleted:,} capture(s)", 3000)
        return deleted

    def clear_all(self) -> Worker | None:
        """Delete every capture and its follow-up runs, after confirming, in a worker
        (deleting 100,000 rows takes most of a second)."""
        total = self.model.total
        if not total:
            return None
        answer = QMessageBox.question(
            self,
            "Clear all captures",
            f"Delete all {total:,} captures from the store? This cannot be undone. "
            "(Export them first with Ctrl+E if you may need them.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None

        def done(cleared: object) -> None:
            self.model.forget_all()
            self.detail.set_capture(None)
            self.filter_bar.refresh_values()
            self.statusBar().showMessage(f"Deleted {cleared:,} capture(s)", 4000)

        return self._run_with_progress(
            "Clear all captures",
            "Deleting captures…",
            clear_job,
            self.store,
            self.history,
            on_result=done,
        )

    # -- background jobs ----------------------------------------------------------------------
    def _run_with_progress(
        self,
        title: str,
        label: str,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
    ) -> Worker:
        dialog = QProgressDialog(label, "Cancel", 0, 0, self)
        dialog.setWindowTitle(title)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)

        def progress(done: int, total: int) -> None:
            if total > 0:
                dialog.setMaximum(total)
                dialog.setValue(min(done, total))
            else:
                dialog.setMaximum(0)
                dialog.setLabelText(f"{label} {done:,}")

        def finished() -> None:
            dialog.close()
            dialog.deleteLater()
            self._workers.discard(worker)

        def errored(exc: BaseException) -> None:
            self._show_error(title, exc)

        worker = run_in_background(
            fn,
            *args,
            on_result=on_result,
            on_error=errored,
            on_progress=progress,
            on_finished=finished,
            on_cancelled=lambda: self.statusBar().showMessage(f"{title}: cancelled", 4000),
            with_progress=True,
        )
        dialog.canceled.connect(worker.cancel)
        self._workers.add(worker)
        self.progress_dialog = dialog
        return worker

    def reverify_all(self) -> Worker:
        def done(changed: object) -> None:
            self.model.refresh_rows()
            self.reload_detail()
            self.statusBar().showMessage(
                f"Re-verified all captures: {changed} verdict(s) changed", 5000
            )

        return self._run_with_progress(
            "Re-verify signatures",
            "Checking captures…",
            reverify_job,
            self.store,
            self.keyring,
            on_result=done,
        )

    def export_shown(self) -> Worker | None:
        return self._ask_export(self.model.query, "Export captures")

    def export_selected(self) -> Worker | None:
        ids = self.selected_ids()
        if not ids:
            return None
        return self._ask_export(CaptureQuery(ids=frozenset(ids)), "Export selected captures")

    def _ask_export(self, query: CaptureQuery, title: str) -> Worker | None:
        start = self.settings.last_export_dir or str(Path.home())
        path, chosen = QFileDialog.getSaveFileName(
            self,
            title,
            str(Path(start) / "captures.jsonl"),
            "JSON lines (*.jsonl);;HAR (*.har)",
        )
        if not path:
            return None
        fmt = "har" if "HAR" in chosen or path.lower().endswith(".har") else "jsonl"
        self.settings.last_export_dir = str(Path(path).parent)
        return self.export_to(Path(path), fmt, query)

    def export_to(self, path: Path, fmt: str, query: CaptureQuery | None = None) -> Worker:
        def done(count: object) -> None:
            self.statusBar().showMessage(f"Exported {count} capture(s) to {path}", 6000)

        return self._run_with_progress(
            "Export",
            f"Writing {path.name}…",
            export_job,
            self.store,
            query if query is not None else self.model.query,
            path,
            fmt,
            on_result=done,
        )

    def import_captures(self) -> Worker | None:
        start = self.settings.last_export_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import captures",
            start,
            "Captures (*.jsonl *.json *.har *.ndjson);;All files (*)",
        )
        if not path:
            return None
        return self.import_from(Path(path))

    def import_from(self, path: Path) -> Worker:
        def done(result: object) -> None:
            added, read = result if isinstance(result, tuple) else (result, result)
            self.refresh()
            skipped = read - added
            note = f" ({skipped:,} already present)" if skipped else ""
            self.statusBar().showMessage(f"Imported {added:,} capture(s){note}", 6000)

        return self._run_with_progress(
            "Import", f"Reading {path.name}…", import_job, self.store, path, on_result=done
        )

    def send_test_webhook(self) -> Worker | None:
        url = self.listener_url()
        if url is None:
            self.empty_state.set_note("Start the listener first (Ctrl+L).", error=True)
            return None
        self.act_send.setEnabled(False)
        self.empty_state.send_button.setEnabled(False)
        self.empty_state.set_note("Sending a signed sample event…")
        # The test webhook checks the keys as they are now, even one added a moment ago.
        self._reload_listener_keys()

        def done(status: object) -> None:
            self.empty_state.set_note(f"Test webhook answered HTTP {status}.")
            self.statusBar().showMessage(f"Test webhook sent: HTTP {status}", 4000)

        def failed(exc: BaseException) -> None:
            self.empty_state.set_note(str(exc), error=True)
            self._show_error("Send test webhook", exc)

        def finished() -> None:
            listening = self.listener_url() is not None
            self.act_send.setEnabled(listening)
            self.empty_state.send_button.setEnabled(listening)
            self._workers.discard(worker)

        worker = run_in_background(
            demo.send_test_webhook, url, on_result=done, on_error=failed, on_finished=finished
        )
        self._workers.add(worker)
        return worker

    # -- keys -------------------------------------------------------------------------------
    def open_keys_dialog(self) -> None:
        dialog = KeysDialog(self.keyring, self)
        dialog.exec()
        if dialog.changed:
            self._reload_listener_keys()
        if dialog.changed and self.model.total:
            answer = QMessageBox.question(
                self,
                "Re-verify captures",
                "The keys changed. Check every stored capture again with the current keys?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.reverify_all()

    # -- zoom & theme ------------------------------------------------------------------------
    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.settings.zoom + step)

    def set_zoom(self, factor: float) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            factor = theme.set_zoom(app, factor)
        self.settings.zoom = factor
        self.table.update_row_height()
        self.statusBar().showMessage(f"Zoom {factor:.0%}", 2000)

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            applied = theme.apply_theme(app, name)
            self.settings.theme = applied  # type: ignore[assignment]
            self.reload_detail()

    # -- errors & closing -------------------------------------------------------------------
    def _show_error(self, title: str, error: object) -> None:
        if self._closed:
            return
        show_error(self, title, error if isinstance(error, BaseException) else str(error))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save settings, stop follow-ups, the demo and the listener, cancel jobs; idempotent.

        Follow-ups go first: their calls must end before the history and the runner close,
        and the demo before the listener it posts to."""
        if self._closed:
            return
        self.save_settings()
        self._closed = True
        for worker in list(self._workers):
            worker.cancel()
        self.graphql.shutdown()
        self.stop_demo()
        self.history.close()
        self.api_runner.close()
        self._drop_listener()


__all__ = ["COLUMNS", "CaptureTableView", "MainWindow", "curl_command", "followup_entity_status"]
