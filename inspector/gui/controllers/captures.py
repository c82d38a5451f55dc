"""The capture table: live arrivals, Follow newest, navigation, filter, delete and clear."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPoint
from PySide6.QtWidgets import QStackedWidget, QWidget

from inspector.core.errors import InspectorError
from inspector.core.jobs import clear_job
from inspector.core.listener import CaptureNotice
from inspector.core.store import CaptureQuery
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.widgets.detail_pane import TAB_GRAPHQL
from inspector.gui.widgets.empty_state import EmptyState
from inspector.gui.widgets.filter_bar import FilterBar
from inspector.gui.widgets.status_panel import StatusPanel
from inspector.gui.workers import Worker

__all__ = ["CapturesController"]


class CapturesController(QObject):
    def __init__(
        self,
        ctx: AppContext,
        filter_bar: FilterBar,
        stack: QStackedWidget,
        empty_state: EmptyState,
        status_panel: StatusPanel,
    ) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        sel = self.selection = ctx.selection
        self.table, self.model, self.detail = sel.table, sel.model, sel.detail
        self.filter_bar = filter_bar
        self._stack = stack
        self._empty_state = empty_state
        self._status_panel = status_panel
        self.list_widget: QWidget = self.table
        """What the stack shows when there are captures (the retry groups swap it)."""
        selected, has_rows = sel.has_selection, sel.has_rows
        ctx.commands.register(
            Command(
                "captures.follow",
                "Follow newest",
                self._set_follow,
                icon="follow",
                tip="Select and show each new capture as it arrives",
                checkable=True,
            ),
            Command("captures.refresh", "Refresh", self.refresh, icon="refresh"),
            Command(
                "captures.filter",
                "Filter…",
                filter_bar.focus_text,
                icon="filter",
                tip="Focus the filter (Ctrl+F; inside the JSON tab it finds in the tree)",
                scope="browse",
            ),
            Command(
                "captures.same_event",
                "Show deliveries of this event",
                self.filter_same_event,
                enabled=selected,
            ),
            Command(
                "captures.delete",
                "Delete",
                self.delete_selected,
                icon="trash",
                tip="Delete the selected captures (Delete)",
                enabled=selected,
                scope="table",
            ),
            Command(
                "captures.clear",
                "Clear all…",
                self.clear_all,
                icon="clear",
                tip="Delete every capture (Ctrl+Shift+Delete)",
                enabled=has_rows,
            ),
            Command("captures.next", "Next capture", lambda: self.move_selection(1), scope="keys"),
            Command(
                "captures.previous",
                "Previous capture",
                lambda: self.move_selection(-1),
                scope="keys",
            ),
            Command("captures.open", "Show details", self.focus_detail, scope="keys"),
        )
        self._follow = ctx.commands["captures.follow"]
        model = self.model
        ctx.bridge.captures_added.connect(self._on_captures)
        model.rowsAboutToBeInserted.connect(self._before_insert)
        model.rows_inserted_at_top.connect(self._after_insert)
        model.counts_changed.connect(self.update_counts)
        model.counting.connect(self.filter_bar.set_counting)
        self._keep_ids: list[str] = []
        model.modelAboutToBeReset.connect(self._before_reset)
        model.modelReset.connect(self._after_reset)
        filter_bar.query_changed.connect(self.apply_query)
        selection_model = self.table.selectionModel()
        selection_model.currentRowChanged.connect(self._on_current_changed)
        selection_model.selectionChanged.connect(self._on_selection_changed)
        self.table.customContextMenuRequested.connect(self._table_menu)
        self.table.doubleClicked.connect(lambda _i: self.focus_detail())

    # -- follow newest ------------------------------------------------------------------
    @property
    def following(self) -> bool:
        return self._follow.isChecked()

    def set_following(self, on: bool) -> None:
        """Check Follow newest without jumping to the newest (restoring the settings)."""
        self.selection.programmatic = True
        try:
            self._follow.setChecked(on)
        finally:
            self.selection.programmatic = False

    def _set_follow(self, on: bool) -> None:
        self.ctx.settings.follow_newest = on
        if on and not self.selection.programmatic and self.model.rowCount():
            self.selection.select_row(0)
            self.table.scrollToTop()

    # -- live captures ------------------------------------------------------------------
    def _on_captures(self, captures: list[object]) -> None:
        """Everything the listener stored since the last delivery (one bridge signal)."""
        if self.ctx.closed:
            return
        woke = False
        for notice in captures:
            if isinstance(notice, CaptureNotice):
                self._status_panel.record(notice)
                woke = True
        if woke:
            self.model.capture_added()

    def _before_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        del last
        if first == 0 and not parent.isValid():
            self.table.note_before_insert()

    def _after_insert(self, count: int) -> None:
        if self.following:
            self.selection.select_row(0)
            self.table.scrollToTop()
        else:
            self.table.keep_viewport(count)

    def _after_reset(self) -> None:
        self.ctx.commands.refresh()
        if self._keep_ids:
            row = self.model.row_of(self._keep_ids[0])
            self._keep_ids = []
            if row is not None:
                self.selection.select_row(row)
                return
        if self.following and self.model.rowCount() > 0:
            self.selection.select_row(0)
        else:
            # A reset clears the selection without a signal: let the detail pane follow.
            self.selection.schedule_detail()

    def _before_reset(self) -> None:
        # A re-sort or a new filter keeps the selected capture selected when it is still
        # among the first rows loaded.
        self._keep_ids = self.selection.selected_ids()

    def update_counts(self, matching: int, total: int) -> None:
        self.filter_bar.set_counts(matching, total)
        self.filter_bar.refresh_values()
        self._status_panel.set_count(total)
        empty = total == 0
        self._stack.setCurrentWidget(self._empty_state if empty else self.list_widget)
        # The GraphQL tab is useful before anything arrived (profiles, hand-written queries).
        self.detail.setVisible(not empty or self.detail.currentIndex() == TAB_GRAPHQL)
        self.ctx.commands.refresh()

    # -- selection ----------------------------------------------------------------------
    def move_selection(self, delta: int) -> None:
        current = self.table.currentIndex()
        row = current.row() + delta if current.isValid() else 0
        while row >= self.model.rowCount() and self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        self.selection.select_by_user(max(0, min(row, self.model.rowCount() - 1)))

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        del previous
        if (
            not self.selection.programmatic
            and self.following
            and current.isValid()
            and current.row() != 0
        ):
            # The user went to look at an older capture: stop pulling them back to the top.
            self._follow.setChecked(False)
            self.ctx.notify("Follow newest is off while you look at older captures", 4000)
        self.selection.schedule_detail()

    def _on_selection_changed(self) -> None:
        self.ctx.commands.refresh()
        if not self.selection.has_selection():
            # A click on empty space or a reset clears the selection without moving the
            # current index: the detail pane must still empty itself.
            self.selection.schedule_detail()

    def focus_detail(self) -> None:
        self.selection.current_capture()
        self.detail.focus_current()

    def _table_menu(self, pos: QPoint) -> None:
        menu = self.ctx.commands.context_menu(self.ctx.window)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- filter -------------------------------------------------------------------------
    def apply_query(self, query: object) -> None:
        if not isinstance(query, CaptureQuery):
            return
        # Counted and paged in a worker: typing never waits for a query over the store.
        self.model.request_query(query)

    def filter_same_event(self) -> None:
        capture = self.selection.current_capture()
        if capture is not None and capture.event_id:
            self.filter_bar.set_text(capture.event_id)

    def refresh(self) -> None:
        self.model.reload()
        self.filter_bar.refresh_values(soon=True)

    # -- delete -------------------------------------------------------------------------
    def delete_selected(self) -> int:
        ids = self.selection.selected_ids()
        if not ids:
            return 0
        noun = "this capture" if len(ids) == 1 else f"these {len(ids):,} captures"
        if not self.ctx.confirm("Delete captures", f"Delete {noun}? This cannot be undone."):
            return 0
        row = self.table.currentIndex().row()
        deleted = self.model.remove_ids(ids)
        if deleted:
            try:
                self.ctx.history.delete_many(ids)
            except InspectorError as exc:
                self.ctx.show_error("Follow-up history", exc)
        if self.model.rowCount():
            self.selection.select_row(min(max(row, 0), self.model.rowCount() - 1))
        else:
            self.detail.set_capture(None)
        self.ctx.notify(f"Deleted {deleted:,} capture(s)")
        return deleted

    def clear_all(self) -> Worker[int] | None:
        """Delete every capture and its follow-up runs, after confirming, in a worker
        (deleting 100,000 rows takes most of a second)."""
        total = self.model.total
        if not total or not self.ctx.confirm(
            "Clear all captures",
            f"Delete all {total:,} captures from the store? This cannot be undone. "
            "(Export them first with Ctrl+E if you may need them.)",
        ):
            return None

        def done(cleared: int) -> None:
            self.model.forget_all()
            self.detail.set_capture(None)
            self.filter_bar.refresh_values(soon=True)
            self.ctx.notify(f"Deleted {cleared:,} capture(s)", 4000)

        return self.ctx.run_job(
            "Clear all captures",
            "Deleting captures…",
            clear_job,
            self.ctx.store,
            self.ctx.history,
            on_result=done,
        )
