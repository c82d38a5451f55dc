"""The panel's "Profile [combo] Manage…" row: which connection profile queries run on."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from inspector.core.errors import InspectorError
from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.secrets import SecretStore
from inspector.gui.widgets.profile_dialog import ProfileDialog

__all__ = ["ProfileBar"]


class ProfileBar(QWidget):
    """Offers the stored profiles and opens the profile dialog (Manage…)."""

    profile_selected = Signal(str)
    """The chosen profile's name, or "" when there is none."""
    profile_edited = Signal(str)
    """A profile's settings or secrets were changed in the dialog (its name)."""
    error = Signal(str)
    """The profiles could not be read: the message for the user."""

    def __init__(
        self, profiles: ProfileStore, secrets: SecretStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.profiles = profiles
        self.secrets = secrets
        self._dialog: ProfileDialog | None = None
        self.combo = QComboBox(self)
        self.combo.setObjectName("profileCombo")
        self.combo.setMinimumContentsLength(14)
        self.combo.setPlaceholderText("no profile yet: Manage…")
        self.combo.currentIndexChanged.connect(self._selected)
        self.manage_button = QToolButton(self)
        self.manage_button.setText("Manage…")
        self.manage_button.setToolTip("Add, edit or remove connection profiles")
        self.manage_button.clicked.connect(self.manage)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Profile", self))
        layout.addWidget(self.combo)
        layout.addWidget(self.manage_button)

    def current_name(self) -> str:
        return self.combo.currentText()

    def current_profile(self) -> Profile | None:
        name = self.combo.currentText()
        if not name:
            return None
        try:
            return self.profiles.get(name)
        except InspectorError as exc:
            self.error.emit(str(exc))
            return None

    def reload(self, select: str | None = None) -> None:
        """Re-read the profiles, choosing ``select``, else the current one, else the first.

        Always announces the choice once, even when it did not change: a profile re-read
        after an edit may point somewhere new.
        """
        try:
            names = [p.name for p in self.profiles.list()]
        except InspectorError as exc:
            names = []
            self.error.emit(str(exc))
        previous = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(names)
        wanted = [n for n in (select, previous) if n and n in names]
        self.combo.setCurrentIndex(names.index(wanted[0]) if wanted else (0 if names else -1))
        self.combo.blockSignals(False)
        self._selected()

    def select(self, name: str) -> None:
        """Choose ``name`` if it is offered (announced only when the choice changes)."""
        index = self.combo.findText(name)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def manage(self) -> ProfileDialog:
        """Open the profile dialog (non-blocking); the combo follows its changes."""
        if self._dialog is None:
            self._dialog = ProfileDialog(
                self.profiles, self.secrets, self, select=self.combo.currentText()
            )
            self._dialog.profiles_changed.connect(self.profile_edited)
            self._dialog.finished.connect(self._dialog_closed)
        self._dialog.open()
        return self._dialog

    def _dialog_closed(self, _result: int) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
            self._dialog = None

    def _selected(self, _index: int = 0) -> None:
        self.profile_selected.emit(self.combo.currentText())
