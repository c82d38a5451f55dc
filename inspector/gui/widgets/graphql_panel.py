"""The GraphQL follow-up panel: ask Fluent's API about the entity a webhook names.

Follows the selected capture (query and variables prefilled from the event's template), runs
queries in the background on the chosen profile (Ctrl+Enter, cancellable), shows the answer
as a JSON tree and raw text with status, time and size, explains Fluent error codes, keeps
each run with its capture (re-runnable), copies a cURL command with the token left out, and
optionally follows up every new webhook of chosen entity types automatically.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse
from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError
from inspector.core.fluent_api import (
    ApiRunner,
    GraphQLResult,
    IntrospectionError,
    Profile,
    ProfileStore,
    curl_command,
    explain_error,
)
from inspector.core.followup_history import FollowupHistory, FollowupRun, RunStatus, result_fields
from inspector.core.listener import CaptureNotice
from inspector.core.queries import ENTITY_TYPES, QueryTemplateError, template_for, variables_for
from inspector.core.secrets import SecretStore
from inspector.gui.followup import AutoFollowUp, FollowupRunner
from inspector.gui.settings import Settings
from inspector.gui.widgets.graphql_editor import Diagnostic, GraphQLEditor
from inspector.gui.widgets.highlighter import JsonHighlighter
from inspector.gui.widgets.json_view import JsonView, format_size
from inspector.gui.widgets.profile_dialog import ProfileDialog
from inspector.gui.widgets.raw_view import RawView

__all__ = ["GraphQLPanel"]

log = logging.getLogger(__name__)

_ERROR_COLOUR = ("#b3261e", "#ff8a80")
_OK_COLOUR = ("#1b5e20", "#a5d6a7")
_MUTED_COLOUR = ("#5f6368", "#a0a0a0")


def _colour(palette: QPalette, pair: tuple[str, str]) -> str:
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return QColor(pair[1] if dark else pair[0]).name()


@dataclass(slots=True)
class _RunContext:
    capture_id: str | None
    profile: str
    query: str
    variables: dict[str, Any]
    started: float


class GraphQLPanel(QWidget):
    """See the module docstring. The lead wires ``set_capture`` to the selection,
    ``on_capture_added`` to the live stream and ``entity_status_fetched`` to the table."""

    entity_status_fetched = Signal(str, str)
    """(capture_id, status): the current status of the entity an auto follow-up fetched."""
    run_finished = Signal(object)
    """A FollowupRun after each manual run is saved, or None when it was not saved/cancelled."""
    schema_changed = Signal(str)
    """The schema note after a profile's schema loaded or failed to load."""

    def __init__(
        self,
        profiles: ProfileStore,
        secrets: SecretStore,
        history: FollowupHistory,
        runner: ApiRunner,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        api: FollowupRunner | None = None,
    ) -> None:
        """``api`` overrides how calls are made (e.g. a FollowupRunner with a faster
        RetryPolicy); by default one is built on ``runner`` with the profiles' data dir."""
        super().__init__(parent)
        self.setObjectName("graphqlPanel")
        self.profiles = profiles
        self.secrets = secrets
        self.history = history
        self.settings = settings
        self.api = api if api is not None else FollowupRunner(runner, secrets, profiles.data_dir)
        self.api.setParent(self)
        self.auto = AutoFollowUp(self.api, history, parent=self)
        self._capture: Capture | None = None
        self._ticket: int | None = None
        self._context: _RunContext | None = None
        self._schemas: dict[str, GraphQLSchema | None] = {}
        self._schema_notes: dict[str, str] = {}
        self._schema_tickets: dict[int, str] = {}
        self._dialog: ProfileDialog | None = None

        self.api.finished.connect(self._run_done)
        self.api.failed.connect(self._run_failed)
        self.api.cancelled.connect(self._run_cancelled)
        self.api.schema_ready.connect(self._schema_ready)
        self.api.schema_failed.connect(self._schema_failed)
        self.auto.entity_status_fetched.connect(self.entity_status_fetched)
        self.auto.run_saved.connect(self._auto_run_saved)
        self.auto.error.connect(lambda text: self._set_status(text, error=True))

        self._build()
        self.reload_profiles(self.settings.graphql_profile)
        self.set_auto_follow_up(
            t for t in self.settings.graphql_auto_follow_up if t in ENTITY_TYPES
        )
        self.set_capture(None)

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        self.profile_combo = QComboBox(self)
        self.profile_combo.setObjectName("profileCombo")
        self.profile_combo.setMinimumContentsLength(14)
        self.profile_combo.currentIndexChanged.connect(self._profile_selected)
        self.manage_button = QToolButton(self)
        self.manage_button.setText("Manage…")
        self.manage_button.setToolTip("Add, edit or remove connection profiles")
        self.manage_button.clicked.connect(self.manage_profiles)

        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Run the query on the selected profile (Ctrl+Enter)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Abort the running request")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("busyBar")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.hide()
        self.curl_button = QToolButton(self)
        self.curl_button.setText("Copy as cURL")
        self.curl_button.setToolTip("Copy a curl command for this query (the token is left out)")
        self.curl_button.clicked.connect(self.copy_curl)

        self.auto_button = QToolButton(self)
        self.auto_button.setObjectName("autoFollowUp")
        self.auto_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.auto_button.setToolTip(
            "Run the follow-up query for every new webhook of the checked entity types, "
            "and show the entity's current status in the capture table"
        )
        self.auto_menu = QMenu(self.auto_button)
        self.auto_actions: dict[str, QAction] = {}
        for entity_type in ENTITY_TYPES:
            action = self.auto_menu.addAction(entity_type)
            action.setCheckable(True)
            action.toggled.connect(self._auto_toggled)
            self.auto_actions[entity_type] = action
        self.auto_button.setMenu(self.auto_menu)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Profile", self))
        top.addWidget(self.profile_combo)
        top.addWidget(self.manage_button)
        top.addSpacing(10)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.busy_bar)
        top.addSpacing(10)
        top.addWidget(self.curl_button)
        top.addStretch(1)
        top.addWidget(self.auto_button)

        self.context_note = QLabel(self)
        self.context_note.setObjectName("contextNote")
        self.context_note.setWordWrap(True)
        self.schema_note = QLabel(self)
        self.schema_note.setObjectName("schemaNote")
        self.schema_note.setWordWrap(True)

        self.editor = GraphQLEditor(self)
        self.editor.diagnostics_changed.connect(self._show_diagnostics)
        self.diagnostics_list = QListWidget(self)
        self.diagnostics_list.setObjectName("diagnostics")
        self.diagnostics_list.setMaximumHeight(70)
        self.diagnostics_list.itemActivated.connect(self._go_to_diagnostic)
        self.diagnostics_list.itemClicked.connect(self._go_to_diagnostic)
        self.diagnostics_list.hide()

        self.variables_edit = QPlainTextEdit(self)
        self.variables_edit.setObjectName("variablesEditor")
        self.variables_edit.setFont(self.editor.font())
        self.variables_edit.setPlaceholderText('{"id": "123"}')
        self.variables_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._variables_highlighter = JsonHighlighter(
            self.variables_edit.document(), self.variables_edit.palette()
        )
        self.variables_edit.textChanged.connect(self._check_variables)
        self.variables_note = QLabel(self)
        self.variables_note.setObjectName("variablesNote")

        query_box = QWidget(self)
        query_layout = QVBoxLayout(query_box)
        query_layout.setContentsMargins(0, 0, 0, 0)
        query_layout.addWidget(self.editor, 1)
        query_layout.addWidget(self.diagnostics_list)
        variables_box = QWidget(self)
        variables_layout = QVBoxLayout(variables_box)
        variables_layout.setContentsMargins(0, 0, 0, 0)
        variables_header = QHBoxLayout()
        variables_header.addWidget(QLabel("Variables (JSON)", self))
        variables_header.addStretch(1)
        variables_header.addWidget(self.variables_note)
        variables_layout.addLayout(variables_header)
        variables_layout.addWidget(self.variables_edit, 1)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(query_box)
        left.addWidget(variables_box)
        left.setStretchFactor(0, 4)
        left.setStretchFactor(1, 1)
        left.setChildrenCollapsible(False)

        self.result_view = JsonView(self)
        self.raw_view = RawView(self)
        self.history_tree = QTreeWidget(self)
        self.history_tree.setObjectName("historyTree")
        self.history_tree.setHeaderLabels(["When (UTC)", "Profile", "Result", "Time"])
        self.history_tree.setRootIsDecorated(False)
        self.history_tree.setUniformRowHeights(True)
        self.history_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.history_tree.itemDoubleClicked.connect(lambda item, _col: self.load_run(item))
        self.history_tree.itemSelectionChanged.connect(self._history_selection)
        self.load_button = QPushButton("Load", self)
        self.load_button.setToolTip("Put this run's query and variables in the editor")
        self.load_button.clicked.connect(lambda: self.load_run(self.history_tree.currentItem()))
        self.rerun_button = QPushButton("Run again", self)
        self.rerun_button.clicked.connect(self.run_again)
        history_box = QWidget(self)
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(6, 6, 6, 6)
        history_layout.addWidget(self.history_tree, 1)
        history_buttons = QHBoxLayout()
        history_buttons.addStretch(1)
        history_buttons.addWidget(self.load_button)
        history_buttons.addWidget(self.rerun_button)
        history_layout.addLayout(history_buttons)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("resultTabs")
        self.tabs.addTab(self.result_view, "Result")
        self.tabs.addTab(self.raw_view, "Raw")
        self.tabs.addTab(history_box, "History")

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        left.setSizes([560, 140])
        self.splitter.setSizes([600, 600])
        state = self.settings.graphql_splitter
        if state is not None:
            self.splitter.restoreState(state)
        self.splitter.splitterMoved.connect(self._save_splitter)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("statusLine")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors_label = QLabel(self)
        self.errors_label.setObjectName("errorExplanations")
        self.errors_label.setWordWrap(True)
        self.errors_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.context_note)
        layout.addWidget(self.schema_note)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.errors_label)

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.run)
        self._update_history_buttons()
        self._check_variables()

    # -- preferences ---------------------------------------------------------------------------

    def _save_splitter(self, *_args: object) -> None:
        self.settings.graphql_splitter = QByteArray(self.splitter.saveState())

    # -- profiles and schema ---------------------------------------------------------------

    def reload_profiles(self, select: str | None = None) -> None:
        """Re-read the profiles (e.g. after start_demo created ``demo``) and select one."""
        previous = self.profile_combo.currentText()
        try:
            names = [p.name for p in self.profiles.list()]
        except InspectorError as exc:
            names = []
            self._set_status(str(exc), error=True)
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItems(names)
        self.profile_combo.setPlaceholderText("no profile yet: Manage…")
        wanted = [n for n in (select, previous) if n and n in names]
        index = names.index(wanted[0]) if wanted else (0 if names else -1)
        self.profile_combo.setCurrentIndex(index)
        self.profile_combo.blockSignals(False)
        self._profile_selected()

    def current_profile(self) -> Profile | None:
        name = self.profile_combo.currentText()
        if not name:
            return None
        try:
            return self.profiles.get(name)
        except InspectorError as exc:
            self._set_status(str(exc), error=True)
            return None

    def set_profile(self, name: str) -> None:
        index = self.profile_combo.findText(name)
        if index >= 0:
            self.profile_combo.setCurrentIndex(index)

    def _profile_selected(self, _index: int = 0) -> None:
        profile = self.current_profile()
        if profile is None:
            self.editor.set_schema(None)
            self._set_schema_note(
                "No connection profile: add one with Manage… to run queries.", muted=True
            )
            return
        self.settings.graphql_profile = profile.name
        if profile.name in self._schemas:
            self._apply_schema(profile.name)
            return
        self.editor.set_schema(None)
        self._set_schema_note(f"Loading the schema of {profile.name}…", muted=True)
        ticket = self.api.fetch_schema(profile)
        self._schema_tickets[ticket] = profile.name

    def refresh_schema(self) -> None:
        profile = self.current_profile()
        if profile is not None:
            self._schemas.pop(profile.name, None)
            ticket = self.api.fetch_schema(profile, refresh=True)
            self._schema_tickets[ticket] = profile.name

    def _schema_ready(self, ticket: int, name: str, schema: object) -> None:
        if self._schema_tickets.pop(ticket, None) is None:
            return
        assert isinstance(schema, GraphQLSchema)
        self._schemas[name] = schema
        self._schema_notes[name] = (
            f"Schema of {name}: {len(schema.type_map)} types; completion (Ctrl+Space) "
            "and validation are on."
        )
        if name == self.profile_combo.currentText():
            self._apply_schema(name)

    def _schema_failed(self, ticket: int, name: str, error: object) -> None:
        if self._schema_tickets.pop(ticket, None) is None:
            return
        if isinstance(error, IntrospectionError):
            note = (
                f"{name} refuses schema introspection, so completion and validation are off; "
                "running queries, history and everything else work."
            )
        elif isinstance(error, InspectorError):
            note = f"The schema of {name} could not be loaded: {error} Completion is off."
        else:
            log.error(
                "schema load failed", exc_info=error if isinstance(error, BaseException) else None
            )
            note = f"The schema of {name} could not be loaded ({error!r}); completion is off."
        self._schemas[name] = None
        self._schema_notes[name] = note
        if name == self.profile_combo.currentText():
            self._apply_schema(name)

    def _apply_schema(self, name: str) -> None:
        schema = self._schemas.get(name)
        self.editor.set_schema(schema)
        self._set_schema_note(self._schema_notes.get(name, ""), muted=schema is not None)
        self.schema_changed.emit(self._schema_notes.get(name, ""))

    def _set_schema_note(self, text: str, *, muted: bool) -> None:
        self.schema_note.setText(text)
        pair = _MUTED_COLOUR if muted else _ERROR_COLOUR
        self.schema_note.setStyleSheet(f"color: {_colour(self.palette(), pair)};")

    def manage_profiles(self) -> ProfileDialog:
        """Open the profile dialog (non-blocking); the combo follows its changes."""
        if self._dialog is None:
            self._dialog = ProfileDialog(
                self.profiles, self.secrets, self, select=self.profile_combo.currentText()
            )
            self._dialog.profiles_changed.connect(self._profiles_changed)
            self._dialog.finished.connect(self._dialog_closed)
        self._dialog.open()
        return self._dialog

    def _dialog_closed(self, _result: int) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
            self._dialog = None

    def _profiles_changed(self, name: str) -> None:
        # Secrets or settings changed: rebuild the client and re-fetch the schema.
        self.api.discard(name)
        self._schemas.pop(name, None)
        self._schema_notes.pop(name, None)
        self.reload_profiles(name)

    # -- capture ---------------------------------------------------------------------------------

    @property
    def capture(self) -> Capture | None:
        return self._capture

    def set_capture(self, capture: Capture | None) -> None:
        """Follow the selected capture: prefill its follow-up query and show its history."""
        self._capture = capture
        self._refresh_history()
        if capture is None:
            self._set_context("Select a capture to prefill its follow-up query.")
            return
        event = capture.event
        if event is None:
            self._set_context("This capture is not a Fluent event: write a query yourself.")
            return
        try:
            template = template_for(event.entity_type)
        except QueryTemplateError as exc:
            self._set_context(str(exc), error=True)
            return
        self.editor.setPlainText(template.query_text)
        what = f"{template.entity_type} {event.entity_ref or event.entity_id}".strip()
        try:
            variables: dict[str, Any] = variables_for(event)
        except QueryTemplateError as exc:
            self.variables_edit.setPlainText("{}")
            self._set_context(f"{what}: {exc}", error=True)
        else:
            self.variables_edit.setPlainText(json.dumps(variables, indent=2))
            status = f" (webhook said {event.entity_status})" if event.entity_status else ""
            self._set_context(
                f"{what}{status}: {template.name} via {template.root_field} is ready; "
                "Ctrl+Enter runs it."
            )
        try:
            latest = self.history.latest_for(capture.id)
        except InspectorError:
            latest = None
        if latest is not None and self._ticket is None:
            self._show_run(latest, note="Last saved run of this capture. ")
        elif self._ticket is None:
            self._clear_result()

    def _set_context(self, text: str, *, error: bool = False) -> None:
        self.context_note.setText(text)
        pair = _ERROR_COLOUR if error else _MUTED_COLOUR
        self.context_note.setStyleSheet(f"color: {_colour(self.palette(), pair)};")

    # -- variables and diagnostics ---------------------------------------------------------------

    def _variables(self) -> dict[str, Any]:
        """The variables as a dict; raises ValueError with a message for the user."""
        text = self.variables_edit.toPlainText().strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"Variables are not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}); fix them or clear the box."
            ) from exc
        if not isinstance(value, dict):
            raise ValueError('Variables must be a JSON object, like {"id": "123"}.')
        return value

    def _check_variables(self) -> None:
        try:
            self._variables()
        except ValueError as exc:
            self.variables_note.setText(str(exc).split(";")[0])
            self.variables_note.setStyleSheet(f"color: {_colour(self.palette(), _ERROR_COLOUR)};")
            self.variables_note.setProperty("valid", False)
        else:
            self.variables_note.setText("valid JSON")
            self.variables_note.setStyleSheet(f"color: {_colour(self.palette(), _MUTED_COLOUR)};")
            self.variables_note.setProperty("valid", True)

    def _show_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics_list.clear()
        for diagnostic in diagnostics:
            item = QListWidgetItem(str(diagnostic))
            item.setData(Qt.ItemDataRole.UserRole, (diagnostic.line, diagnostic.column))
            item.setForeground(QColor(_colour(self.palette(), _ERROR_COLOUR)))
            self.diagnostics_list.addItem(item)
        self.diagnostics_list.setVisible(bool(diagnostics))

    def _go_to_diagnostic(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(where, tuple | list) and len(where) == 2:
            self.editor.go_to(int(where[0]), int(where[1]))

    def _operation_name(self, query: str) -> str | None:
        """With several operations in the text, the one holding the cursor."""
        try:
            document = parse(query)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) < 2:
            return None
        cursor = self.editor.textCursor().position()
        for operation in operations:
            loc = operation.loc
            if loc is not None and loc.start <= cursor <= loc.end and operation.name:
                return str(operation.name.value)
        first = operations[0]
        return str(first.name.value) if first.name else None

    # -- running ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._ticket is not None

    def run(self) -> bool:
        """Run the editor's query in the background; False (with a status) if it cannot."""
        if self._ticket is not None:
            return False
        profile = self.current_profile()
        if profile is None:
            self._set_status(
                "Add a connection profile first (Manage…), or start the demo.", error=True
            )
            return False
        query = self.editor.toPlainText()
        if not query.strip():
            self._set_status("Write a query first (Ctrl+Space completes fields).", error=True)
            return False
        try:
            variables = self._variables()
        except ValueError as exc:
            self._set_status(str(exc), error=True)
            return False
        self._context = _RunContext(
            self._capture.id if self._capture is not None else None,
            profile.name,
            query,
            variables,
            time.monotonic(),
        )
        self._ticket = self.api.execute(profile, query, variables, self._operation_name(query))
        self._set_busy(True)
        self._set_status(f"Running on {profile.name}…")
        return True

    def cancel(self) -> None:
        if self._ticket is not None and not self.api.cancel(self._ticket):
            log.debug("cancel: the request had already finished")

    def _set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.rerun_button.setEnabled(not busy and self.history_tree.currentItem() is not None)
        self.cancel_button.setEnabled(busy)
        self.busy_bar.setVisible(busy)

    def _finish(self, ticket: int) -> _RunContext | None:
        if ticket != self._ticket:
            return None
        self._ticket = None
        self._set_busy(False)
        context, self._context = self._context, None
        return context

    def _run_done(self, ticket: int, result: object) -> None:
        context = self._finish(ticket)
        if context is None:
            return
        assert isinstance(result, GraphQLResult)
        run = self._save(context, **result_fields(result))
        if self._same_capture(context):
            self._show_result(result)
        else:
            self._set_status("The result was saved with the capture it was run for.")
        self._refresh_history()
        self.run_finished.emit(run)

    def _run_failed(self, ticket: int, error: object) -> None:
        context = self._finish(ticket)
        if context is None:
            return
        if isinstance(error, InspectorError):
            message = str(error)
        else:
            log.error(
                "follow-up run failed unexpectedly: %r",
                error,
                exc_info=error if isinstance(error, BaseException) else None,
            )
            message = (
                f"Something went wrong inside the inspector ({type(error).__name__}); the "
                "log file has the details. Try again."
            )
        http_status = getattr(error, "status", None)
        run = self._save(
            context,
            status=RunStatus.FAILED,
            elapsed=time.monotonic() - context.started,
            http_status=http_status if isinstance(http_status, int) else None,
            message=message,
        )
        self._clear_result()
        self._set_status(message, error=True)
        self._refresh_history()
        self.run_finished.emit(run)

    def _run_cancelled(self, ticket: int) -> None:
        if self._finish(ticket) is None:
            return
        self._clear_result()
        self._set_status("Cancelled: the request was aborted, no result.")
        self.run_finished.emit(None)

    def _same_capture(self, context: _RunContext) -> bool:
        current = self._capture.id if self._capture is not None else None
        return current == context.capture_id

    def _save(self, context: _RunContext, **fields: Any) -> FollowupRun | None:
        if context.capture_id is None:
            return None
        try:
            return self.history.add(
                context.capture_id, context.profile, context.query, context.variables, **fields
            )
        except InspectorError as exc:
            self._set_status(f"The run could not be saved: {exc}", error=True)
            return None

    # -- results -----------------------------------------------------------------------------

    def _clear_result(self) -> None:
        self.result_view.clear()
        self.raw_view.clear()
        self.errors_label.hide()
        self.errors_label.clear()

    def _show_payload(self, data: Any, errors: tuple[Any, ...] | list[Any]) -> int:
        payload: dict[str, Any] = {"data": data}
        if errors:
            payload["errors"] = list(errors)
        self.result_view.set_value(payload)
        # Open data -> entity -> its fields: the entity's status is what people look for first.
        self.result_view.tree.expandToDepth(1)
        raw = json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8")
        self.raw_view.set_body(raw, "application/json")
        self.tabs.setCurrentWidget(self.result_view)
        return len(raw)

    def _show_result(self, result: GraphQLResult) -> None:
        self._show_payload(result.data, result.errors)
        parts = [
            f"HTTP {result.status}",
            f"{result.elapsed * 1000:.0f} ms",
            format_size(result.size),
        ]
        if result.errors:
            parts.append(f"{len(result.errors)} error{'s' if len(result.errors) != 1 else ''}")
            if result.data:
                parts.append("partial data")
        else:
            parts.append("ok")
        self._set_status(" · ".join(parts), error=bool(result.errors), ok=not result.errors)
        self._show_errors(result.errors)

    def _show_errors(self, errors: tuple[Any, ...] | list[Any]) -> None:
        lines = []
        for error in errors:
            if not isinstance(error, dict):
                continue
            message = str(error.get("message", "(no message)"))
            path = error.get("path")
            where = f" at {'.'.join(str(p) for p in path)}" if isinstance(path, list) else ""
            lines.append(f"• {message}{where}")
            explanation = explain_error(error)
            if explanation:
                lines.append(f"   → {explanation}")
        self.errors_label.setText("\n".join(lines))
        self.errors_label.setStyleSheet(f"color: {_colour(self.palette(), _ERROR_COLOUR)};")
        self.errors_label.setVisible(bool(lines))

    def _show_run(self, run: FollowupRun, *, note: str = "") -> None:
        when = run.ran_at.strftime("%Y-%m-%d %H:%M:%S")
        if run.status is RunStatus.FAILED:
            self._clear_result()
            self._set_status(f"{note}{when} on {run.profile}: {run.message}", error=True)
            return
        self._show_payload(run.result, run.errors)
        http = f"HTTP {run.http_status} · " if run.http_status else ""
        self._set_status(
            f"{note}{when} on {run.profile}: {http}{run.elapsed * 1000:.0f} ms · "
            f"{run.status.label}",
            error=bool(run.errors),
            ok=not run.errors,
        )
        self._show_errors(list(run.errors))

    def _set_status(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        self.status_label.setText(text)
        pair = _ERROR_COLOUR if error else (_OK_COLOUR if ok else _MUTED_COLOUR)
        self.status_label.setStyleSheet(f"color: {_colour(self.palette(), pair)};")
        if not error:
            self.errors_label.hide()

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    # -- history ---------------------------------------------------------------------------------

    def _refresh_history(self) -> None:
        self.history_tree.clear()
        runs: list[FollowupRun] = []
        if self._capture is not None:
            try:
                runs = self.history.list_for(self._capture.id)
            except InspectorError as exc:
                self._set_status(str(exc), error=True)
        for run in runs:
            result = run.status.label
            if run.http_status:
                result = f"HTTP {run.http_status} {result}"
            item = QTreeWidgetItem(
                [
                    run.ran_at.strftime("%Y-%m-%d %H:%M:%S"),
                    run.profile,
                    result,
                    f"{run.elapsed * 1000:.0f} ms",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, run.id)
            if run.message:
                item.setToolTip(2, run.message)
            self.history_tree.addTopLevelItem(item)
        self.tabs.setTabText(2, f"History ({len(runs)})" if runs else "History")
        self._update_history_buttons()

    def _history_selection(self) -> None:
        self._update_history_buttons()

    def _update_history_buttons(self) -> None:
        selected = self.history_tree.currentItem() is not None
        self.load_button.setEnabled(selected)
        self.rerun_button.setEnabled(selected and self._ticket is None)

    def _run_for(self, item: QTreeWidgetItem | None) -> FollowupRun | None:
        if item is None:
            return None
        run_id = item.data(0, Qt.ItemDataRole.UserRole)
        try:
            return self.history.get(int(run_id))
        except (InspectorError, TypeError, ValueError) as exc:
            self._set_status(str(exc), error=True)
            return None

    def load_run(self, item: QTreeWidgetItem | None) -> FollowupRun | None:
        """Put a saved run's query and variables in the editors and show its result."""
        run = self._run_for(item)
        if run is None:
            return None
        self.editor.setPlainText(run.query)
        self.variables_edit.setPlainText(json.dumps(dict(run.variables), indent=2))
        self.set_profile(run.profile)
        self._show_run(run, note="Saved run: ")
        return run

    def run_again(self) -> bool:
        """Load the selected history run and run it again."""
        if self.load_run(self.history_tree.currentItem()) is None:
            return False
        return self.run()

    def _auto_run_saved(self, capture_id: str, _run: object) -> None:
        if self._capture is not None and self._capture.id == capture_id:
            self._refresh_history()

    # -- cURL ------------------------------------------------------------------------------------

    def copy_curl(self) -> str | None:
        profile = self.current_profile()
        if profile is None:
            self._set_status("Choose a profile first: the command needs its URL.", error=True)
            return None
        try:
            variables = self._variables()
            command = curl_command(
                profile,
                self.editor.toPlainText(),
                variables or None,
                self._operation_name(self.editor.toPlainText()),
            )
        except (ValueError, InspectorError) as exc:
            self._set_status(str(exc), error=True)
            return None
        QGuiApplication.clipboard().setText(command)
        self._set_status(
            "Copied a curl command; set FLUENT_TOKEN to an access token before running it "
            "(the token is never copied)."
        )
        return command

    # -- auto follow-up ------------------------------------------------------------------------

    def set_auto_follow_up(self, entity_types: Any) -> None:
        """Check exactly these entity types for auto follow-up (empty: off)."""
        wanted = set(entity_types)
        for name, action in self.auto_actions.items():
            action.blockSignals(True)
            action.setChecked(name in wanted)
            action.blockSignals(False)
        self._auto_toggled()

    def _auto_toggled(self, _checked: bool = False) -> None:
        chosen = [name for name, action in self.auto_actions.items() if action.isChecked()]
        self.auto.set_entity_types(chosen)
        self.settings.graphql_auto_follow_up = tuple(chosen)
        if not chosen:
            self.auto_button.setText("Auto follow-up: off")
        elif len(chosen) <= 2:
            self.auto_button.setText(f"Auto follow-up: {', '.join(chosen)}")
        else:
            self.auto_button.setText(f"Auto follow-up: {len(chosen)} types")
        # Room for the menu arrow, which some styles draw over the text otherwise.
        self.auto_button.setMinimumWidth(
            self.auto_button.fontMetrics().horizontalAdvance(self.auto_button.text()) + 32
        )

    def on_capture_added(self, capture: Capture | CaptureNotice) -> bool:
        """Connect to the live stream: follows up new captures of the checked types."""
        if not self.auto.wants(capture):
            return False
        return self.auto.enqueue(capture, self.current_profile())

    # -- lifecycle -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel running calls and close the API clients (the ApiRunner stays the caller's)."""
        self.auto.clear()
        self.cancel()
        self._save_splitter()
        self.api.close()
