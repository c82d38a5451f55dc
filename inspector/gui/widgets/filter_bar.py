"""The filter bar: debounced text search and quick filters, all executed in the store.

Each quick filter's entries carry counts, and those counts follow the *other* active
filters: with the text filter "HD-12" the entity list counts only the captures matching
"HD-12" (its own choice is left out, so the other entity types still show what choosing them
would give). Counting is a GROUP BY over the store - ~100 ms with a text filter at 100,000
captures - so it runs in a worker, latest request only, and never while the user types.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)
from shiboken6 import isValid

from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.store import CaptureQuery, Store
from inspector.core.store.query import MIN_INDEXED
from inspector.core.text import escape_control
from inspector.gui.workers import ProgressReporter, Worker, run_in_background

DEBOUNCE_MS = 250
COUNT_DELAY_MS = 300
"""From the last filter change (or burst of new captures) to recounting the quick filters."""
RECOUNT_COST_FACTOR = 10
"""New captures alone recount the same filter at most this many times its last count's
duration apart: at a million captures a count takes ~1 s of SQLite, and recounting every
300 ms under a live load kept a core busy (the listener child shares the machine)."""
RECOUNT_MAX_S = 30.0
"""...but at least this often (the counts stay roughly current however slow the disk)."""

_NOT_VALID = frozenset(v for v in Verdict if v is not Verdict.VALID)
_ALL = frozenset[Verdict]()

# (label, flex verdicts, fluent verdicts); an empty set means "any".
SIGNATURE_FILTERS: tuple[tuple[str, frozenset[Verdict], frozenset[Verdict]], ...] = (
    ("All signatures", _ALL, _ALL),
    ("Both valid", frozenset({Verdict.VALID}), frozenset({Verdict.VALID})),
    ("fluent-signature not valid", _ALL, _NOT_VALID),
    ("flex.signature not valid", _NOT_VALID, _ALL),
    ("Both not valid", _NOT_VALID, _NOT_VALID),
    *(
        (
            f"{header.value}: {verdict.symbol} {verdict.label}",
            frozenset({verdict}) if header is SignatureHeader.FLEX else _ALL,
            frozenset({verdict}) if header is SignatureHeader.FLUENT else _ALL,
        )
        for header in SignatureHeader
        for verdict in Verdict
    ),
)


_COLUMNS = ("entity_type", "event_name", "method")


@dataclass(frozen=True, slots=True)
class FilterCounts:
    """Counts for every quick filter's entries, each within the other active filters."""

    values: Mapping[str, list[tuple[str, int]]]
    """Per column: (value, count) pairs."""
    verdicts: Mapping[tuple[Verdict, Verdict], int]
    """(flex, fluent) verdict pair -> count; a signature filter's count is a sum of these."""


def count_filters(progress: ProgressReporter, store: Store, query: CaptureQuery) -> FilterCounts:
    """Runs in a worker: one GROUP BY per quick filter, each without its own condition.
    A newer filter cancels it (SQLite stops mid-statement, ``QueryCancelled``): at a million
    captures these counts take up to a second, and the newer filter's rows must not wait
    behind them for a worker thread."""

    def cancel() -> bool:
        return progress.cancelled

    return FilterCounts(
        values={
            "entity_type": store.distinct(
                "entity_type", dataclasses.replace(query, entity_types=frozenset()), cancel=cancel
            ),
            "event_name": store.distinct(
                "event_name", dataclasses.replace(query, event_names=frozenset()), cancel=cancel
            ),
            "method": store.distinct(
                "method", dataclasses.replace(query, methods=frozenset()), cancel=cancel
            ),
        },
        verdicts=store.verdict_counts(
            dataclasses.replace(query, flex=frozenset(), fluent=frozenset()), cancel=cancel
        ),
    )


def signature_count(
    counts: Mapping[tuple[Verdict, Verdict], int],
    flex: frozenset[Verdict],
    fluent: frozenset[Verdict],
) -> int:
    return sum(
        n for (f, g), n in counts.items() if (not flex or f in flex) and (not fluent or g in fluent)
    )


def _fixed_width(combo: QComboBox, characters: int) -> None:
    """The combo's width does not follow its entries: with counts and long event names,
    sizing to contents made the filter bar (and so the window) wider than 1024 px."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)


def _fit_popup(combo: QComboBox) -> None:
    """The open list is as wide as its longest entry, however narrow the combo."""
    view = combo.view()
    view.setMinimumWidth(view.sizeHintForColumn(0) + view.verticalScrollBar().sizeHint().width())


class _LazyCombo(QComboBox):
    """A combo that asks for fresh counts when its popup opens (they arrive from a worker)."""

    def __init__(self, refresh: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._refresh = refresh

    def showPopup(self) -> None:
        self._refresh()
        super().showPopup()


class FilterBar(QWidget):
    """Emits ``query_changed`` with the CaptureQuery the table should show."""

    query_changed = Signal(object)

    counts_updated = Signal()
    """The quick filters' counts were refreshed (tests wait for it)."""

    def __init__(self, store: Store | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._generation = 0
        self._counting = False
        self._count_again = False
        self._count_worker: Worker[FilterCounts] | None = None
        self._count_query: CaptureQuery | None = None
        self._counted_query: CaptureQuery | None = None
        self._counted_at = 0.0
        self._count_seconds = 0.0
        """The last finished count: its filter, when it ended, how long it took."""
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self._count)
        self._text = QLineEdit(self)
        self._text.setPlaceholderText(
            "Filter: path, event name, entity ref or id, status, event or capture id   (Ctrl+F)"
        )
        self._text.setClearButtonEnabled(True)
        self._text.setObjectName("filterText")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self._text.textChanged.connect(lambda _t: self._debounce.start())
        self._text.returnPressed.connect(self._emit)
        # Opt-in, as in HTTP Toolkit: bodies are large, and most searches are for a ref or id.
        self.body_search = QToolButton(self)
        self.body_search.setObjectName("bodySearch")
        self.body_search.setText("Bodies")
        self.body_search.setCheckable(True)
        self.body_search.setToolTip(
            "Also search the text of request bodies (JSON or text); needs at least "
            f"{MIN_INDEXED} characters"
        )
        self.body_search.toggled.connect(lambda _on: self._emit())

        self.signature = _LazyCombo(self.refresh_values, self)
        self.signature.setObjectName("signatureFilter")
        self.signature.setToolTip("Show captures by signature verdict")
        for label, flex, fluent in SIGNATURE_FILTERS:
            self.signature.addItem(label, (flex, fluent))
        _fixed_width(self.signature, 16)
        self.signature.currentIndexChanged.connect(lambda _i: self._emit())

        self.entity_type = self._make_combo("entity_type", "All entity types", "entityTypeFilter")
        self.event_name = self._make_combo("event_name", "All events", "eventNameFilter")
        self.method = self._make_combo("method", "All methods", "methodFilter")
        self.payload_problems = QCheckBox("Payload problems", self)
        self.payload_problems.setObjectName("payloadProblemsFilter")
        self.payload_problems.setToolTip(
            "Only captures whose body breaks Fluent's Event model (a required field missing "
            "or not a string, root entity fields inconsistent)"
        )
        self.payload_problems.toggled.connect(lambda _on: self._emit())
        # Not part of the query: the window's "Group retries" command follows this box.
        self.group_retries = QCheckBox("Group retries", self)
        self.group_retries.setObjectName("groupRetries")
        self.group_retries.setToolTip("Fold deliveries with the same event id into one row")

        self._counts = QLabel(self)
        self._counts.setObjectName("filterCounts")
        self._counts.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._counts.setMinimumWidth(140)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self._text, 3)
        layout.addWidget(self.body_search)
        layout.addWidget(self.signature, 1)
        layout.addWidget(self.entity_type, 1)
        layout.addWidget(self.event_name, 1)
        layout.addWidget(self.method)
        layout.addWidget(self.payload_problems)
        layout.addWidget(self.group_retries)
        layout.addWidget(self._counts)
        self._last: CaptureQuery | None = None

    @property
    def text_edit(self) -> QLineEdit:
        return self._text

    def _make_combo(self, column: str, all_label: str, name: str) -> QComboBox:
        combo = _LazyCombo(self.refresh_values, self)
        combo.setObjectName(name)
        combo.addItem(all_label, None)
        combo.setProperty("allLabel", all_label)
        combo.setProperty("column", column)
        _fixed_width(combo, 12)
        combo.currentIndexChanged.connect(lambda _i: self._emit())
        return combo

    def refresh_values(self, *, soon: bool = False) -> None:
        """Recount every quick filter soon, in a worker (after a filter change, an import, a
        clear, new captures, or when a list opens). New captures alone recount a big store
        less often (RECOUNT_COST_FACTOR); ``soon`` (a clear, a reload) does not wait."""
        if soon:
            self._counted_query = None
        # A throttle, not a debounce: under a steady live load the counts still refresh.
        if self._store is None:
            return
        timer = self._count_timer
        if timer.isActive() and (
            self.query() == self._counted_query or timer.remainingTime() <= COUNT_DELAY_MS
        ):
            return
        timer.start(COUNT_DELAY_MS)

    def _count(self) -> None:
        store = self._store
        if store is None:
            return
        query = self.query()
        if not self._counting and query == self._counted_query:
            # Only the captures changed: wait in proportion to what the last count cost.
            wait = self._counted_at + RECOUNT_COST_FACTOR * self._count_seconds - time.monotonic()
            if wait > 0:
                self._count_timer.start(max(COUNT_DELAY_MS, int(min(wait, RECOUNT_MAX_S) * 1000)))
                return
        if self._counting:
            # One count at a time; the latest query is counted when this one is done, and
            # one for a filter no longer shown stops at once.
            self._count_again = True
            if self._count_worker is not None and self._count_query != query:
                self._count_worker.cancel()
            return
        self._counting = True
        self._generation += 1
        generation = self._generation
        began = time.monotonic()

        def done(counts: FilterCounts) -> None:
            # The window may have closed (and deleted the bar) while the count ran.
            if not isValid(self):
                return
            self._counted_query = query
            self._counted_at = time.monotonic()
            self._count_seconds = self._counted_at - began
            if generation == self._generation and query == self.query():
                self.apply_counts(counts)

        def finished() -> None:
            if not isValid(self):
                return
            self._counting = False
            self._count_worker = None
            if self._count_again or query != self.query():
                self._count_again = False
                self._count_timer.start(COUNT_DELAY_MS)

        self._count_query = query
        self._count_worker = run_in_background(
            count_filters,
            store,
            query,
            on_result=done,
            on_error=lambda _e: None,  # a busy or closed store: the old counts stay
            on_finished=finished,
            with_progress=True,
        )

    def apply_counts(self, counts: FilterCounts) -> None:
        for combo in (self.entity_type, self.event_name, self.method):
            column = str(combo.property("column"))
            self._fill(combo, str(combo.property("allLabel")), counts.values.get(column, []))
        for i, (label, flex, fluent) in enumerate(SIGNATURE_FILTERS):
            n = signature_count(counts.verdicts, flex, fluent)
            self.signature.setItemText(i, f"{label}  ({n:,})")
        _fit_popup(self.signature)
        self.counts_updated.emit()

    def _fill(self, combo: QComboBox, all_label: str, values: list[tuple[str, int]]) -> None:
        current = combo.currentData()
        listed = dict(values)
        if current is not None and current not in listed:
            # The chosen value stays listed (with 0) rather than silently dropping the filter.
            listed[current] = 0
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(all_label, None)
        for value in sorted(listed):
            combo.addItem(f"{escape_control(value or '(none)')}  ({listed[value]:,})", value)
        index = combo.findData(current) if current is not None else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        _fit_popup(combo)

    def focus_text(self) -> None:
        self._text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._text.selectAll()

    def set_text(self, text: str) -> None:
        """Set the search text and apply it now (no debounce)."""
        self._text.setText(text)
        self._emit()

    def select_value(self, combo: QComboBox, value: object) -> None:
        """Select a quick-filter value, adding it when the list was not loaded yet."""
        index = combo.findData(value)
        if index < 0:
            combo.addItem(escape_control(str(value)), value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def set_counts(self, matching: int, total: int) -> None:
        noun = "capture" if total == 1 else "captures"
        if matching == total:
            self._counts.setText(f"{total:,} {noun}")
        else:
            self._counts.setText(f"{matching:,} of {total:,} {noun}")

    def set_counting(self) -> None:
        """The table shows a new filter's first rows; its counts are still being read."""
        self._counts.setText("counting…")

    def counts_text(self) -> str:
        return self._counts.text()

    def query(self) -> CaptureQuery:
        flex, fluent = self.signature.currentData() or (_ALL, _ALL)

        def chosen(combo: QComboBox) -> frozenset[str]:
            value = combo.currentData()
            return frozenset({value}) if value is not None else frozenset()

        return CaptureQuery(
            text=self._text.text().strip(),
            flex=flex,
            fluent=fluent,
            entity_types=chosen(self.entity_type),
            event_names=chosen(self.event_name),
            methods=chosen(self.method),
            payload_problems=self.payload_problems.isChecked(),
            bodies=self.body_search.isChecked(),
        )

    def _emit(self) -> None:
        self._debounce.stop()
        query = self.query()
        if query != self._last:
            self._last = query
            self.query_changed.emit(query)
            self.refresh_values()
