"""GraphQL follow-ups: the GraphQL tab, its queries, and the Entity now column they fill.

Where this reaches into the panel's internals (editor, splitter, profile combo, auto
actions, API pool) it does so on purpose, until the panel offers public methods for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject

from inspector.core.errors import InspectorError, QueryTemplateError
from inspector.core.events import EventSummary
from inspector.core.fluent.queries import ENTITY_TYPES, template_for, variables_for
from inspector.core.followup_history import FollowupHistory, FollowupRun, RunStatus
from inspector.core.listener import CaptureNotice
from inspector.core.store import CaptureRow
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.followup import entity_state
from inspector.gui.widgets.detail_pane import TAB_GRAPHQL
from inspector.gui.widgets.graphql.panel import GraphQLPanel

__all__ = [
    "FollowupController",
    "SavedEntityStatuses",
    "followup_entity_status",
    "is_template_run",
]

# Long enough to read a sentence about auto follow-up pausing; it stays in the panel too.
NOTICE_MS = 15_000
# Below this width the GraphQL tab stacks the editor above the result instead of beside it.
GRAPHQL_SIDE_BY_SIDE_MIN = 900


TEMPLATE_QUERIES = frozenset(template_for(t).query_text for t in ENTITY_TYPES)
"""Every follow-up template's query text: only runs of these can tell an entity's state."""
_ANSWERED = (RunStatus.OK, RunStatus.PARTIAL)


def is_template_run(run: FollowupRun, row: CaptureRow) -> bool:
    """The run is the capture's follow-up template, unchanged: the prefilled query and the
    variables that name this capture's entity (an auto follow-up is always one)."""
    try:
        template = template_for(row.entity_type)
    except QueryTemplateError:
        return False
    if run.query != template.query_text:
        return False
    # The table row has no retailer id; the run's own counts (it does not name the entity).
    event = EventSummary(
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        entity_ref=row.entity_ref,
        root_entity_ref=row.root_entity_ref,
        root_entity_type=row.root_entity_type,
        retailer_id=str(run.variables.get("retailerId", "")),
    )
    try:
        return variables_for(event) == dict(run.variables)
    except QueryTemplateError:
        return False


def followup_entity_status(run: FollowupRun, row: CaptureRow) -> str | None:
    """What a saved run says the capture's entity is now, for the Entity now column.

    Only an answered template run tells (its status, or "not found"); a hand-edited query,
    a failed run or an answer with only errors says nothing, so the column keeps its value.
    """
    if run.status not in _ANSWERED or not is_template_run(run, row):
        return None
    return entity_state(template_for(row.entity_type).root_field, run.result, run.errors)


class SavedEntityStatuses:
    """The capture model's ``status_lookup``: "Entity now" for a page of rows from saved
    follow-ups, in one history query. Made before the model (which asks at once)."""

    def __init__(self, history: FollowupHistory) -> None:
        self.history = history
        self.closed = False

    def __call__(self, rows: Sequence[CaptureRow]) -> dict[str, str]:
        if self.closed or not rows:
            return {}
        try:
            # The newest answered template run: ad-hoc and failed runs after it do not
            # change what is known of the entity.
            runs = self.history.latest_for_many(
                (row.id for row in rows), queries=TEMPLATE_QUERIES, statuses=_ANSWERED
            )
        except InspectorError:
            return {}
        found: dict[str, str] = {}
        for row in rows:
            run = runs.get(row.id)
            status = followup_entity_status(run, row) if run is not None else None
            if status:
                found[row.id] = status
        return found


class FollowupController(QObject):
    """The GraphQL tab's commands and wiring. It never moves the table/detail splitter: the
    panel wraps and stacks to fit the width the user left it, whichever tab is shown."""

    def __init__(self, ctx: AppContext, panel: GraphQLPanel) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self.panel = panel
        detail, model = ctx.selection.detail, ctx.selection.model
        ctx.commands.register(
            Command(
                "graphql.focus",
                "GraphQL follow-up",
                self.focus_graphql,
                tip="Ask Fluent's API about the selected capture's entity (Ctrl+G)",
            ),
            Command("graphql.run", "Run query\tCtrl+Enter", self.run_query),
            Command(
                "graphql.profiles",
                "Connection profiles…",
                lambda: panel.manage_profiles(),
                icon="settings",
                tip=(
                    "Fluent accounts to query: base URL, client id, user "
                    "(secrets go to the keyring)"
                ),
            ),
        )
        panel.auto_follow_up_menu.setTitle("Auto follow-up")
        panel.installEventFilter(self)
        ctx.bridge.captures_added.connect(self._on_captures)
        detail.capture_changed.connect(panel.set_capture)
        panel.entity_status_fetched.connect(model.set_entity_status)
        panel.run_finished.connect(self._on_run_finished)
        panel.notice.connect(lambda text: ctx.notify(text, NOTICE_MS))

    def _on_captures(self, captures: list[object]) -> None:
        if self.ctx.closed:
            return
        for notice in captures:
            if isinstance(notice, CaptureNotice):
                self.panel.on_capture_added(notice)

    def _on_run_finished(self, run: object) -> None:
        if not isinstance(run, FollowupRun):
            return
        model = self.ctx.selection.model
        row = model.row_of(run.capture_id)
        status = followup_entity_status(run, model.row_at(row)) if row is not None else None
        if status:
            model.set_entity_status(run.capture_id, status)

    # -- the tab ------------------------------------------------------------------------
    def focus_graphql(self) -> None:
        """Switch to the GraphQL tab with the selected capture's query, cursor in the editor."""
        detail = self.ctx.selection.detail
        self.ctx.selection.current_capture()
        detail.show()
        detail.setCurrentIndex(TAB_GRAPHQL)
        self.panel.focus_editor()

    def run_query(self) -> bool:
        self.focus_graphql()
        return self.panel.run()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.panel and event.type() == QEvent.Type.Resize:
            self._fit()
        return super().eventFilter(watched, event)

    def _fit(self) -> None:
        """Editor beside the result when the tab is wide, above it when narrow."""
        self.panel.fit_layout(self.panel.width() >= GRAPHQL_SIDE_BY_SIDE_MIN)

    # -- for the demo -------------------------------------------------------------------
    def profile_name(self) -> str:
        return self.panel.current_profile_name()

    def auto_types(self) -> tuple[str, ...]:
        return self.panel.auto_follow_up_types()

    def use_profile(self, name: str, *, fresh: bool = False) -> None:
        """Select a profile; ``fresh`` drops its client first (new URL or credentials)."""
        if fresh:
            self.forget_client(name)
            self.panel.reload_profiles(name)
        else:
            self.panel.set_profile(name)

    def forget_client(self, name: str) -> None:
        self.panel.discard_client(name)

    def set_auto_types(self, types: Sequence[str]) -> None:
        self.panel.set_auto_follow_up(types)

    def shutdown(self) -> None:
        self.panel.shutdown()
