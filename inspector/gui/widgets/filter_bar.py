"""The filter bar: debounced text search and quick filters, all executed in the store."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.store import CaptureQuery

DEBOUNCE_MS = 250

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


class _LazyCombo(QComboBox):
    """A combo that refreshes its items just before its popup opens (counts stay current)."""

    def __init__(self, refresh: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._refresh = refresh

    def showPopup(self) -> None:
        self._refresh()
        super().showPopup()


class FilterBar(QWidget):
    """Emits ``query_changed`` with the CaptureQuery the table should show."""

    query_changed = Signal(object)

    def __init__(
        self,
        distinct: Callable[[str], list[tuple[str, int]]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._distinct = distinct
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

        self.signature = QComboBox(self)
        self.signature.setObjectName("signatureFilter")
        self.signature.setToolTip("Show captures by signature verdict")
        for label, flex, fluent in SIGNATURE_FILTERS:
            self.signature.addItem(label, (flex, fluent))
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
        combo = _LazyCombo(lambda: self._refresh_values(combo, column, all_label), self)
        combo.setObjectName(name)
        combo.addItem(all_label, None)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.setMinimumContentsLength(10)
        combo.currentIndexChanged.connect(lambda _i: self._emit())
        return combo

    def _refresh_values(self, combo: QComboBox, column: str, all_label: str) -> None:
        if self._distinct is None:
            return
        try:
            values = self._distinct(column)
        except Exception:
            return
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(all_label, None)
        for value, count in values:
            combo.addItem(f"{value or '(none)'}  ({count})", value)
        index = combo.findData(current) if current is not None else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        if current is not None and index < 0:
            self._emit()

    def refresh_values(self) -> None:
        """Reload every quick-filter list (after import, clear, or many new captures)."""
        for combo, column, label in (
            (self.entity_type, "entity_type", "All entity types"),
            (self.event_name, "event_name", "All events"),
            (self.method, "method", "All methods"),
        ):
            self._refresh_values(combo, column, label)

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
            combo.addItem(str(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def set_counts(self, matching: int, total: int) -> None:
        noun = "capture" if total == 1 else "captures"
        if matching == total:
            self._counts.setText(f"{total:,} {noun}")
        else:
            self._counts.setText(f"{matching:,} of {total:,} {noun}")

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
        )

    def _emit(self) -> None:
        self._debounce.stop()
        query = self.query()
        if query != self._last:
            self._last = query
            self.query_changed.emit(query)
