"""The "Auto follow-up: …" button: which entity types get their follow-up run on arrival."""

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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("autoFollowUp")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip(
            "Run the follow-up query for every new webhook of the checked entity types, "
            "and show the entity's current status in the capture table"
        )
        self.checklist = QMenu(self)
        self.actions_by_type: dict[str, QAction] = {}
        for entity_type in ENTITY_TYPES:
            action = self.checklist.addAction(entity_type)
            action.setCheckable(True)
            action.toggled.connect(self._toggled)
            self.actions_by_type[entity_type] = action
        self.setMenu(self.checklist)

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
        chosen = self.types()
        if not chosen:
            self.setText("Auto follow-up: off")
        elif len(chosen) <= 2:
            self.setText(f"Auto follow-up: {', '.join(chosen)}")
        else:
            self.setText(f"Auto follow-up: {len(chosen)} types")
        # Room for the menu arrow, which some styles draw over the text otherwise.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(self.text()) + 32)
        self.types_changed.emit(chosen)
