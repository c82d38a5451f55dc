"""Compare two captures: select exactly two rows, "Compare…" (Ctrl+D or the table's menu).

Both captures are read and compared in a worker (bodies can be megabytes); the result opens
in a :class:`~inspector.gui.widgets.diff_view.DiffDialog` of its own.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from inspector.core.diff import CaptureDiff, diff_captures
from inspector.core.errors import StoreError
from inspector.core.jobs import Progress
from inspector.core.store import Store
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.widgets.diff_view import DiffDialog
from inspector.gui.workers import Worker

__all__ = ["DiffController", "compare_job"]


def compare_job(progress: Progress, store: Store, a_id: str, b_id: str) -> CaptureDiff:
    """Read both captures and compare them (in a worker)."""
    del progress
    a, b = store.get(a_id), store.get(b_id)
    if a is None or b is None:
        raise StoreError("One of the two captures was deleted before it could be compared.")
    return diff_captures(a, b)


class DiffController(QObject):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self.dialog: DiffDialog | None = None
        ctx.commands.register(
            Command(
                "diff.compare",
                "Compare…",
                self.compare_selected,
                tip="Compare the two selected captures: body by JSON path, headers, verdicts",
                enabled=self._two_selected,
            )
        )

    def _two_selected(self) -> bool:
        return len(self.ctx.selection.table.selectionModel().selectedRows()) == 2

    def compare_selected(self) -> Worker[CaptureDiff] | None:
        ids = self.ctx.selection.selected_ids()
        if len(ids) != 2:
            self.ctx.notify("Select exactly two captures to compare.")
            return None
        # The table lists newest first: A is the older one.
        newer, older = ids
        return self.compare(older, newer)

    def compare(self, a_id: str, b_id: str) -> Worker[CaptureDiff]:
        return self.ctx.run_job(
            "Compare captures",
            "Comparing…",
            compare_job,
            self.ctx.store,
            a_id,
            b_id,
            on_result=self._show,
        )

    def _show(self, diff: CaptureDiff) -> None:
        if self.ctx.closed:
            return
        dialog = DiffDialog(diff, self.ctx.window)
        self.dialog = dialog
        dialog.destroyed.connect(lambda _o=None: self._forget(dialog))
        dialog.show()

    def _forget(self, dialog: DiffDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
