"""The "Auto follow-up: …" button: which entity types get their follow-up run on arrival,
and whether auto follow-up is paused because the profile does not answer."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from inspector.core.fluent.queries import ENTITY_TYPES

__all__ = ["AutoFollowUpButton"]


class AutoFollowUpButton(QToolButton):
    """A checklist of entity types in a menu; the text says what is checked."""

    types_changed = Signal(tuple)
    """The checked entity types, in menu order, after the user or ``set_types`` changed them."""
    resume_requested = Signal()
    """The user chose "Resume auto follow-up" while it was paused."""

    _TIP = (
        "Run the follow-up query for every new webhook of the checked entity types, "
        "and show the entity's current status in the capture table"
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("autoFollowUp")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip(self._TIP)
        self._paused = ""
        self.checklist = QMenu(self)
        self.resume_action = self.checklist.addAction("Resume auto follow-up")
        self.resume_action.setToolTip("Try the profile again and follow up new webhooks")
        self.resume_action.triggered.connect(self.resume_requested)
        self._resume_separator = self.checklist.addSeparator()
        self.actions_by_type: dict[str, QAction] = {}
        for entity_type in ENTITY_TYPES:
            action = self.checklist.addAction(entity_type)
            action.setCheckable(True)
            action.toggled.connect(self._toggled)
            self.actions_by_type[entity_type] = action
        self.setMenu(self.checklist)
        self.set_paused("")

    @property
    def paused(self) -> str:
        """Why auto follow-up is paused for the current profile ("" when it is not)."""
        return self._paused

    def set_paused(self, reason: str) -> None:
        """Show auto follow-up as paused (with ``reason`` in the tooltip), or not ("")."""
        self._paused = reason
        self.resume_action.setVisible(bool(reason))
        self._resume_separator.setVisible(bool(reason))
        self.setToolTip(reason or self._TIP)
        self._show_text()

    def types(self) -> tuple[str, ...]:
        return tuple(t for t, action in self.actions_by_type.items() if action.isChecked())

    def set_types(self, entity_types: Iterable[str]) -> None:
        """Check exactly these entity types (empty: off); announces the result once."""
        wanted = set(entity_types)
        for name, action in self.actions_by_type.items():
            action.blockSignals(True)
            action.setChecked(name in wanted)
            action.blockSignals(False)
        self._toggled()

    def _toggled(self, _checked: bool = False) -> None:
        self._show_text()
        self.types_changed.emit(self.types())

    def _show_text(self) -> None:
        chosen = self.types()
        if not chosen:
            self.setText("Auto follow-up: off")
        elif self._paused:
            self.setText("Auto follow-up: paused")
        elif len(chosen) <= 2:
            self.setText(f"Auto follow-up: {', '.join(chosen)}")
        else:
            self.setText(f"Auto follow-up: {len(chosen)} types")
        # Room for the menu arrow, which some styles draw over the text otherwise.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(self.text()) + 32)
