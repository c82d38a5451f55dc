"""The entity timeline: "Timeline of R-9" (table menu, Ctrl+Shift+T) for the current row.

The ref is the current row's root entity ref, or its own entity ref when it names no root
(an order's own events). ``Store.entity_rows`` and ``timeline.build_timeline`` run in a
worker; the result opens in a :class:`~inspector.gui.widgets.timeline_view.TimelineDialog`.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject

from inspector.core.jobs import Progress
from inspector.core.store import CaptureRow, Store
from inspector.core.timeline import Timeline, build_timeline
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.widgets.timeline_view import TimelineDialog
from inspector.gui.workers import Worker

__all__ = ["TimelineController", "timeline_job", "timeline_ref"]

_TITLE = "Timeline of entity"


def timeline_ref(row: CaptureRow) -> str:
    """The root entity a row belongs to (its own ref when it names no root)."""
    return row.root_entity_ref or row.entity_ref


def timeline_job(progress: Progress, store: Store, ref: str) -> Timeline:
    del progress
    return build_timeline(ref, store.entity_rows(ref))


class TimelineController(QObject):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self.dialog: TimelineDialog | None = None
        ctx.commands.register(
            Command(
                "timeline.show",
                _TITLE,
                self.show_current,
                tip="Every capture of this row's root entity in time order, in swim lanes, "
                "with what looks wrong pointed out",
                enabled=lambda: bool(self.current_ref()),
            )
        )
        self._action = ctx.commands["timeline.show"]
        ctx.selection.table.selectionModel().currentRowChanged.connect(self._retitle)
        ctx.selection.model.modelReset.connect(lambda: self._retitle(QModelIndex()))

    def current_ref(self) -> str:
        index = self.ctx.selection.table.currentIndex()
        model = self.ctx.selection.model
        if not index.isValid() or index.row() >= model.rowCount():
            return ""
        return timeline_ref(model.row_at(index.row()))

    def _retitle(self, *_: object) -> None:
        ref = self.current_ref()
        self._action.setText(f"Timeline of {ref}" if ref else _TITLE)
        self._action.setEnabled(bool(ref))

    def show_current(self) -> Worker[Timeline] | None:
        ref = self.current_ref()
        if not ref:
            self.ctx.notify("This capture names no entity to follow.")
            return None
        return self.show_ref(ref)

    def show_ref(self, ref: str) -> Worker[Timeline]:
        return self.ctx.run_job(
            "Entity timeline",
            f"Reading the captures of {ref}…",
            timeline_job,
            self.ctx.store,
            ref,
            on_result=self._show,
        )

    def _show(self, timeline: Timeline) -> None:
        if self.ctx.closed:
            return
        dialog = TimelineDialog(timeline, self.ctx.window)
        dialog.view.activated.connect(self._select)
        self.dialog = dialog
        dialog.destroyed.connect(lambda _o=None: self._forget(dialog))
        dialog.show()

    def _forget(self, dialog: TimelineDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _select(self, capture_id: str) -> None:
        row = self.ctx.selection.model.row_of(capture_id)
        if row is None:
            self.ctx.notify("That capture is not in the table's current filter or page.")
            return
        self.ctx.selection.select_by_user(row)
