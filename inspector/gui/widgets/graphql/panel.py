"""The GraphQL follow-up panel: ask Fluent's API about the entity a webhook names.

Follows the selected capture (query and variables prefilled from the event's template), runs
queries in the background on the chosen profile (Ctrl+Enter, cancellable), shows the answer
as a JSON tree and raw text with status, time and size, explains Fluent error codes, keeps
each run with its capture (re-runnable), copies a cURL command with the token left out, and
optionally follows up every new webhook of chosen entity types automatically.

The parts live beside it: :mod:`.editor`, :mod:`.profile_bar`, :mod:`.run`, :mod:`.history`,
:mod:`.results` and :mod:`.schema` (which schema completion uses, live or bundled).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError
from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.fluent.queries import (
    ENTITY_TYPES,
)
from inspector.core.fluent.request import curl_command
from inspector.core.fluent.result import GraphQLResult
from inspector.core.fluent.runner import ApiRunner
from inspector.core.followup_history import FollowupHistory, FollowupRun
from inspector.core.listener import CaptureNotice
from inspector.core.secrets import SecretStore
from inspector.gui.followup import AutoFollowUp, FollowupRunner
from inspector.gui.settings import Settings
from inspector.gui.widgets.flow import flow_row
from inspector.gui.widgets.graphql.auto import AutoFollowUpButton
from inspector.gui.widgets.graphql.history import HistoryView
from inspector.gui.widgets.graphql.profile_bar import ProfileBar
from inspector.gui.widgets.graphql.query import QueryEditors
from inspector.gui.widgets.graphql.results import ResultsView
from inspector.gui.widgets.graphql.run import ManualRun, RunContext, RunControls
from inspector.gui.widgets.graphql.schema import SchemaBanner, SchemaSource
from inspector.gui.widgets.graphql.style import ERROR, MUTED, tint
from inspector.gui.widgets.profile_dialog import ProfileDialog

__all__ = ["GraphQLPanel"]


class GraphQLPanel(QWidget):
    """See the module docstring. The window wires ``set_capture`` to the selection,
    ``on_capture_added`` to the live stream and ``entity_status_fetched`` to the table."""

    entity_status_fetched = Signal(str, str)
    """(capture_id, status): the current status of the entity an auto follow-up fetched."""
    run_finished = Signal(object)
    """A FollowupRun after each manual run is saved, or None when it was not saved/cancelled."""
    schema_changed = Signal(str)
    """The schema label ("schema: live from …" / bundled) after the editor's schema changed."""
    notice = Signal(str)
    """Something the window's status bar should say too (auto follow-up paused/resumed)."""

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
        self.manual = ManualRun(self.api, history, self)
        self.schema_source = SchemaSource(self.api, self)
        self._capture: Capture | None = None

        self.manual.busy_changed.connect(self._set_busy)
        self.manual.succeeded.connect(self._run_done)
        self.manual.failed.connect(self._run_failed)
        self.manual.cancelled.connect(self._run_cancelled)
        self.manual.save_failed.connect(self._show_error)
        self.auto.entity_status_fetched.connect(self.entity_status_fetched)
        self.auto.run_saved.connect(self._auto_run_saved)
        self.auto.error.connect(self._show_error)
        self.auto.paused_changed.connect(self._auto_paused)

        self._build()
        self.schema_source.changed.connect(self._apply_schema)
        self.reload_profiles(self.settings.graphql_profile)
        self.set_auto_follow_up(
            t for t in self.settings.graphql_auto_follow_up if t in ENTITY_TYPES
        )
        self.set_capture(None)

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        self.profile_bar = ProfileBar(self.profiles, self.secrets, self)
        self.profile_bar.profile_selected.connect(self._profile_selected)
        self.profile_bar.profile_edited.connect(self._profiles_changed)
        self.profile_bar.error.connect(self._show_error)
        self.controls = RunControls(self)
        self.controls.run_button.clicked.connect(self.run)
        self.controls.cancel_button.clicked.connect(self.cancel)
        self.curl_button = QToolButton(self)
        self.curl_button.setText("Copy as cURL")
        self.curl_button.setToolTip("Copy a curl command for this query (the token is left out)")
        self.curl_button.clicked.connect(self.copy_curl)

        self.auto_button = AutoFollowUpButton(self)
        self.auto_button.types_changed.connect(self._auto_types_changed)
        self.auto_button.resume_requested.connect(self.resume_auto_follow_up)

        # Wraps onto a second (third) row in a narrow detail pane rather than asking the
        # window for width: the tab must fit wherever the user left the splitter.
        top = flow_row(self, self.profile_bar, self.controls, self.curl_button, self.auto_button)

        self.context_note = QLabel(self)
        self.context_note.setObjectName("contextNote")
        self.context_note.setWordWrap(True)
        self.schema_banner = SchemaBanner(self)

        self.query = QueryEditors(self)
        self.editor = self.query.editor

        self.history_view = HistoryView(self)
        self.history_view.load_requested.connect(self.load_run)
        self.history_view.rerun_requested.connect(lambda _run_id: self.run_again())
        self.results = ResultsView(self.history_view, self)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.query)
        self.splitter.addWidget(self.results.box)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([600, 600])
        state = self.settings.graphql_splitter
        if state is not None:
            self.splitter.restoreState(state)
        self.splitter.splitterMoved.connect(self._save_splitter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(top)
        layout.addWidget(self.context_note)
        layout.addWidget(self.schema_banner)
        layout.addWidget(self.splitter, 1)

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.run)
        # Focusing the panel (tab switch, Ctrl+G) puts the cursor in the query.
        self.setFocusProxy(self.editor)

    # -- what the window uses ----------------------------------------------------------------

    @property
    def auto_follow_up_menu(self) -> QMenu:
        """The entity-type checklist, for the window's GraphQL menu."""
        return self.auto_button.checklist

    def auto_follow_up_types(self) -> tuple[str, ...]:
        """The entity types checked for auto follow-up, in menu order."""
        return self.auto_button.types()

    def current_profile_name(self) -> str:
        """The chosen profile's name, "" when there is none."""
        return self.profile_bar.current_name()

    def focus_editor(self) -> None:
        self.editor.setFocus()

    def discard_client(self, profile_name: str) -> None:
        """Drop a profile's API client, e.g. when the demo sandbox behind it restarted."""
        self.api.discard(profile_name)
        self._retry_auto(profile_name)

    def fit_layout(self, wide: bool) -> None:
        """Editor beside the result when ``wide``, above it otherwise (sizes reset on change)."""
        wanted = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() == wanted:
            return
        self.splitter.setOrientation(wanted)
        extent = self.width() if wide else self.height()
        self.splitter.setSizes(
            [extent // 2, extent - extent // 2] if wide else [extent * 2 // 5, extent * 3 // 5]
        )

    # -- preferences ---------------------------------------------------------------------------

    def _save_splitter(self, *_args: object) -> None:
        self.settings.graphql_splitter = QByteArray(self.splitter.saveState())

    # -- profiles and schema ---------------------------------------------------------------

    def reload_profiles(self, select: str | None = None) -> None:
        """Re-read the profiles (e.g. after start_demo created ``demo``) and select one."""
        self.profile_bar.reload(select)

    def current_profile(self) -> Profile | None:
        return self.profile_bar.current_profile()

    def set_profile(self, name: str) -> None:
        self.profile_bar.select(name)

    def manage_profiles(self) -> ProfileDialog:
        """Open the profile dialog (non-blocking); the combo follows its changes."""
        return self.profile_bar.manage()

    def _profile_selected(self, _name: str = "") -> None:
        profile = self.current_profile()
        if profile is not None:
            self.settings.graphql_profile = profile.name
        self.schema_source.select(profile)
        self._show_auto_state()
        self.auto.check(profile)

    def refresh_schema(self) -> None:
        profile = self.current_profile()
        if profile is not None:
            self.schema_source.refresh(profile)

    def _apply_schema(self) -> None:
        source = self.schema_source
        if self.editor.schema is not source.schema:
            self.editor.set_schema(source.schema)
        changed = self.schema_banner.source_label.text() != source.label
        self.schema_banner.show_source(source)
        if changed:
            self.schema_changed.emit(source.label)

    def _profiles_changed(self, name: str) -> None:
        # Secrets or settings changed: rebuild the client and re-fetch the schema.
        self.api.discard(name)
        self.auto.resume(name)  # worth trying again: the reload checks it
        self.schema_source.forget(name)
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
        prefill = self.query.prefill(capture.event)
        self._set_context(prefill.note, error=prefill.error)
        if not prefill.templated:
            return
        try:
            latest = self.history.latest_for(capture.id)
        except InspectorError:
            latest = None
        if latest is not None and not self.busy:
            # A saved run must not hide that auto follow-up stopped: say both.
            paused = self.auto.paused.get(self.current_profile_name(), "")
            note = "Last saved run of this capture. " + (f"{paused} " if paused else "")
            self.results.show_run(latest, note=note)
        elif not self.busy:
            self.results.clear()

    def _show_error(self, text: str) -> None:
        self.results.set_status(text, error=True)

    def _set_context(self, text: str, *, error: bool = False) -> None:
        self.context_note.setText(text)
        tint(self.context_note, ERROR if error else MUTED, self.palette())

    # -- running ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.manual.busy

    def run(self) -> bool:
        """Run the editor's query in the background; False (with a status) if it cannot."""
        if self.manual.busy:
            return False
        profile = self.current_profile()
        if profile is None:
            self.results.set_status(
                "Add a connection profile first (Manage…), or start the demo.", error=True
            )
            return False
        query = self.editor.toPlainText()
        if not query.strip():
            self.results.set_status(
                "Write a query first (Ctrl+Space completes fields).", error=True
            )
            return False
        try:
            variables = self.query.variables()
        except ValueError as exc:
            self.results.set_status(str(exc), error=True)
            return False
        capture_id = self._capture.id if self._capture is not None else None
        self.manual.start(profile, query, variables, self.query.operation_name(), capture_id)
        self.results.set_status(f"Running on {profile.name}…")
        return True

    def cancel(self) -> None:
        self.manual.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.controls.set_busy(busy)
        self.history_view.set_busy(busy)

    def _same_capture(self, context: RunContext) -> bool:
        current = self._capture.id if self._capture is not None else None
        return current == context.capture_id

    def _run_done(self, context: RunContext, result: GraphQLResult, run: object) -> None:
        self.auto.resume(context.profile)  # it answered
        if self._same_capture(context):
            self.results.show_result(result)
        else:
            self.results.set_status("The result was saved with the capture it was run for.")
        self._refresh_history()
        self.run_finished.emit(run)

    def _run_failed(self, _context: RunContext, message: str, run: object) -> None:
        self.results.clear()
        self.results.set_status(message, error=True)
        self._refresh_history()
        self.run_finished.emit(run)

    def _run_cancelled(self) -> None:
        self.results.clear()
        self.results.set_status("Cancelled: the request was aborted, no result.")
        self.run_finished.emit(None)

    @property
    def status_text(self) -> str:
        return self.results.status_text

    # -- history ---------------------------------------------------------------------------------

    def _refresh_history(self) -> None:
        runs: list[FollowupRun] = []
        if self._capture is not None:
            try:
                runs = self.history.list_for(self._capture.id)
            except InspectorError as exc:
                self.results.set_status(str(exc), error=True)
        self.history_view.show_runs(runs)
        self.results.set_history_count(len(runs))

    def load_run(self, run_id: int | None) -> FollowupRun | None:
        """Put a saved run's query and variables in the editors and show its result."""
        if run_id is None:
            return None
        try:
            run = self.history.get(run_id)
        except InspectorError as exc:
            self.results.set_status(str(exc), error=True)
            return None
        self.query.set_query(run.query, dict(run.variables))
        self.set_profile(run.profile)
        self.results.show_run(run, note="Saved run: ")
        return run

    def run_again(self) -> bool:
        """Load the selected history run and run it again."""
        if self.load_run(self.history_view.selected_run_id()) is None:
            return False
        return self.run()

    def _auto_run_saved(self, capture_id: str, _run: object) -> None:
        if self._capture is not None and self._capture.id == capture_id:
            self._refresh_history()

    # -- cURL ------------------------------------------------------------------------------------

    def copy_curl(self) -> str | None:
        profile = self.current_profile()
        if profile is None:
            self.results.set_status(
                "Choose a profile first: the command needs its URL.", error=True
            )
            return None
        try:
            variables = self.query.variables()
            command = curl_command(
                profile,
                self.editor.toPlainText(),
                variables or None,
                self.query.operation_name(),
            )
        except (ValueError, InspectorError) as exc:
            self.results.set_status(str(exc), error=True)
            return None
        QGuiApplication.clipboard().setText(command)
        self.results.set_status(
            "Copied a curl command; set FLUENT_TOKEN to an access token before running it "
            "(the token is never copied)."
        )
        return command

    # -- auto follow-up ------------------------------------------------------------------------

    def set_auto_follow_up(self, entity_types: Iterable[str]) -> None:
        """Check exactly these entity types for auto follow-up (empty: off)."""
        self.auto_button.set_types(entity_types)

    def _auto_types_changed(self, chosen: tuple[str, ...]) -> None:
        was_on = bool(self.auto.entity_types)
        self.auto.set_entity_types(chosen)
        self.settings.graphql_auto_follow_up = chosen
        if chosen and not was_on:
            # Switched on (at start-up too, from the settings): find out now, not on the
            # next webhook, whether the profile answers.
            self.auto.check(self.current_profile())

    def resume_auto_follow_up(self) -> None:
        """Follow up again for the current profile (checked first, in the background)."""
        self._retry_auto(self.current_profile_name())

    def _retry_auto(self, profile_name: str) -> None:
        if profile_name not in self.auto.paused:
            return
        self.auto.resume(profile_name)
        if profile_name == self.current_profile_name():
            self.auto.check(self.current_profile())

    def _auto_paused(self, profile_name: str, reason: str) -> None:
        self._show_auto_state()
        if reason:
            self.results.set_status(reason, error=True)
            self.notice.emit(reason)
        elif self.auto.entity_types:
            self.notice.emit(f"Auto follow-up resumed for {profile_name}.")

    def _show_auto_state(self) -> None:
        self.auto_button.set_paused(self.auto.paused.get(self.current_profile_name(), ""))

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
