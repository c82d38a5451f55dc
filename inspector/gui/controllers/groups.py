"""Group retries: fold deliveries with the same event id into one expandable row.

A checkable command (View menu, Ctrl+Shift+G) and the filter bar's checkbox, kept in step and
remembered in the settings. When on, the stack shows a tree instead of the capture table:
one top-level row per :class:`~inspector.core.store.RetryGroup` (attempts "4×", first →
last, the gaps, each attempt's answer, the verdicts) and one child row per attempt (its
answer status, rule and forward result, its verdicts). Groups come from
``Store.group_page`` a page at a time, in a worker; scrolling to the bottom reads the next
page, so the store is never read whole. New captures reload the first page (debounced).
Selecting a row shows its capture (a group's latest delivery) in the detail pane.
"""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QStackedWidget, QTreeView

from inspector.core.capture import Verdict
from inspector.core.errors import InspectorError
from inspector.core.jobs import Progress
from inspector.core.store import CaptureQuery, RetryGroup, Store
from inspector.core.store.groups import Attempt
from inspector.core.text import escape_control
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.controllers.captures import CapturesController
from inspector.gui.models.capture_table import format_time
from inspector.gui.widgets.filter_bar import FilterBar
from inspector.gui.workers import Worker, run_in_background

__all__ = [
    "GROUP_COLUMNS",
    "GROUP_PAGE",
    "GroupsController",
    "answer_text",
    "format_span",
    "verdict_text",
]

GROUP_PAGE = 200
RELOAD_MS = 300
GROUP_COLUMNS = (
    "Time",
    "Event",
    "Entity",
    "Attempts",
    "First → last",
    "Gaps",
    "Answers",
    "Signatures",
)
_ID_ROLE = Qt.ItemDataRole.UserRole + 20


def format_span(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s".replace(".0 s", " s")
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def answer_text(attempt: Attempt) -> str:
    answer = attempt.answer
    parts = [str(answer.status)]
    if answer.rule:
        parts.append(f"rule {answer.rule}")
    if answer.forward_error:
        parts.append(f"forward failed: {answer.forward_error}")
    return " · ".join(parts)


def verdict_text(attempt: Attempt) -> str:
    return f"flex {attempt.flex.symbol}  fluent {attempt.fluent.symbol}"


def _group_verdicts(group: RetryGroup) -> str:
    if group.all_verified:
        return "✓ all verified"
    bad = sum(
        1 for a in group.attempts if a.flex is not Verdict.VALID or a.fluent is not Verdict.VALID
    )
    return f"✗ {bad} of {group.count} not verified"


def group_page_job(
    progress: Progress, store: Store, query: CaptureQuery, before: int | None
) -> list[RetryGroup]:
    del progress
    return store.group_page(query, before_seq=before, limit=GROUP_PAGE)


class GroupsController(QObject):
    def __init__(
        self,
        ctx: AppContext,
        captures: CapturesController,
        filter_bar: FilterBar,
        stack: QStackedWidget,
    ) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self._captures = captures
        self._filter_bar = filter_bar
        self._stack = stack
        self.model = QStandardItemModel(0, len(GROUP_COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(GROUP_COLUMNS))
        self.view = QTreeView(stack)
        self.view.setObjectName("groupTable")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for column, width in enumerate((140, 170, 150, 70, 100, 120, 140, 140)):
            self.view.setColumnWidth(column, width)
        stack.addWidget(self.view)
        self.groups: list[RetryGroup] = []
        self._query = CaptureQuery()
        self._exhausted = False
        self._loading: Worker[list[RetryGroup]] | None = None
        self._generation = 0
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_MS)
        self._reload_timer.timeout.connect(self.reload)
        ctx.commands.register(
            Command(
                "captures.group_retries",
                "Group retries",
                self.set_grouped,
                tip="Fold deliveries with the same event id into one expandable row "
                "(attempts, gaps, each answer)",
                checkable=True,
            )
        )
        self._action = ctx.commands["captures.group_retries"]
        filter_bar.group_retries.toggled.connect(self._action.setChecked)
        filter_bar.query_changed.connect(self._on_query)
        ctx.bridge.captures_added.connect(lambda _c: self._schedule_reload())
        self.view.verticalScrollBar().valueChanged.connect(self._maybe_fetch_more)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self._action.setChecked(ctx.settings.group_retries)

    @property
    def grouped(self) -> bool:
        return self._action.isChecked()

    def set_grouped(self, on: bool) -> None:
        self.ctx.settings.group_retries = on
        box = self._filter_bar.group_retries
        if box.isChecked() != on:
            box.setChecked(on)
        self._captures.list_widget = self.view if on else self._captures.table
        self._captures.update_counts(self._captures.model.matching, self._captures.model.total)
        if on:
            self.reload()

    def _on_query(self, query: object) -> None:
        if isinstance(query, CaptureQuery):
            self._query = query
            if self.grouped:
                self.reload()

    def _schedule_reload(self) -> None:
        if self.grouped and not self._reload_timer.isActive():
            self._reload_timer.start()

    # -- paging ----------------------------------------------------------------------------
    def reload(self) -> None:
        self._generation += 1
        self.groups = []
        self._exhausted = False
        self._loading = None
        self.model.removeRows(0, self.model.rowCount())
        self._fetch()

    def _fetch(self) -> None:
        if self._loading is not None or self._exhausted or self.ctx.closed:
            return
        before = self.groups[-1].seq if self.groups else None
        generation = self._generation
        worker = run_in_background(
            group_page_job,
            self.ctx.store,
            self._query,
            before,
            on_result=lambda page: self._append(generation, page),
            on_error=lambda exc: self._failed(generation, exc),
            with_progress=True,
        )
        self._loading = self.ctx.track(worker)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._loading = None
            self.ctx.show_error("Retry groups", error)

    def _append(self, generation: int, page: list[RetryGroup]) -> None:
        if generation != self._generation:
            return
        self._loading = None
        if len(page) < GROUP_PAGE:
            self._exhausted = True
        for group in page:
            self.model.appendRow(self._group_items(group))
        self.groups.extend(page)

    def _maybe_fetch_more(self, value: int) -> None:
        if value >= self.view.verticalScrollBar().maximum() - 2:
            self._fetch()

    def _group_items(self, group: RetryGroup) -> list[QStandardItem]:
        head = group.head
        attempts = group.attempts
        cells = (
            format_time(head.received_at),
            head.event_name or "(not an event)",
            " ".join(p for p in (head.entity_type, head.entity_ref) if p),
            f"{group.count}×",
            format_span(group.span) if group.count > 1 else "",
            ", ".join(format_span(g) for g in group.gaps),
            ", ".join(str(a.answer.status) for a in attempts),
            _group_verdicts(group),
        )
        items = [self._item(text, head.id) for text in cells]
        if not group.succeeded:
            items[6].setForeground(QColor("#c0392b"))
            items[6].setToolTip("No delivery was answered 2xx: Fluent counts them all failed")
        if group.count > 1:
            previous = None
            for number, attempt in enumerate(attempts, start=1):
                gap = "" if previous is None else "+" + format_span(attempt.received_at - previous)
                previous = attempt.received_at
                child = (
                    format_time(attempt.received_at),
                    f"attempt {number}",
                    "",
                    "",
                    gap,
                    "",
                    answer_text(attempt),
                    verdict_text(attempt),
                )
                items[0].appendRow([self._item(text, attempt.capture_id) for text in child])
        return items

    @staticmethod
    def _item(text: str, capture_id: str) -> QStandardItem:
        # Event names and entity refs came from the request: controls shown, never acted on.
        text = escape_control(text)
        item = QStandardItem(text)
        item.setData(capture_id, _ID_ROLE)
        item.setToolTip(text)
        return item

    # -- detail --------------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        del previous
        if not current.isValid():
            return
        capture_id = str(current.data(_ID_ROLE))
        shown = self.ctx.selection.detail.capture
        if shown is not None and shown.id == capture_id:
            return
        try:
            capture = self.ctx.store.get(capture_id)
        except InspectorError as exc:
            self.ctx.show_error("Capture store", exc)
            return
        self.ctx.selection.detail.set_capture(capture)

    def row_texts(self, row: int, parent: QModelIndex | None = None) -> list[str]:
        """A row's cells (tests)."""
        root = parent if parent is not None else QModelIndex()
        return [str(self.model.index(row, c, root).data() or "") for c in range(len(GROUP_COLUMNS))]
