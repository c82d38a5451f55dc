"""Add, edit and remove Fluent connection profiles.

Profile fields go to the ProfileStore (a JSON file without secrets); the client secret, the
password and a pasted bearer token go to the SecretStore only (the OS keyring, or memory for
this session when there is none, which the dialog says). Stored secrets are never read back
into the form: an empty secret field means "keep what is stored".
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.secrets import SecretStore

__all__ = ["ProfileDialog"]

_MODE_PASSWORD = 0
_MODE_TOKEN = 1


class ProfileDialog(QDialog):
    """Manage connection profiles. Emits ``profiles_changed(name)`` after each save/remove."""

    profiles_changed = Signal(str)

    def __init__(
        self,
        profiles: ProfileStore,
        secrets: SecretStore,
        parent: QWidget | None = None,
        *,
        select: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connection profiles")
        self.setObjectName("profileDialog")
        self.profiles = profiles
        self.secrets = secrets
        self._editing: str | None = None

        self.list = QListWidget(self)
        self.list.setObjectName("profileList")
        self.list.currentItemChanged.connect(self._selected)
        self.new_button = QPushButton("New", self)
        self.new_button.clicked.connect(self.new_profile)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self._ask_remove)

        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("e.g. acme-sandbox")
        self.base_url_edit = QLineEdit(self)
        self.base_url_edit.setPlaceholderText("https://ACCOUNT.sandbox.api.fluentretail.com")
        self.mode_combo = QComboBox(self)
        self.mode_combo.addItems(["Password grant (OAuth)", "Paste a bearer token"])
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.client_id_edit = QLineEdit(self)
        self.username_edit = QLineEdit(self)
        self.retailer_edit = QLineEdit(self)
        self.retailer_edit.setPlaceholderText("optional")
        self.client_secret_edit = self._secret_edit()
        self.password_edit = self._secret_edit()
        self.token_edit = self._secret_edit()

        self.form = QFormLayout()
        self.form.addRow("Name", self.name_edit)
        self.form.addRow("Base URL", self.base_url_edit)
        self.form.addRow("Authentication", self.mode_combo)
        self.form.addRow("Client id", self.client_id_edit)
        self.form.addRow("Username", self.username_edit)
        self.form.addRow("Retailer id", self.retailer_edit)
        self.form.addRow("Client secret", self.client_secret_edit)
        self.form.addRow("Password", self.password_edit)
        self.form.addRow("Bearer token", self.token_edit)

        self.storage_note = QLabel(self)
        self.storage_note.setObjectName("secretStorageNote")
        self.storage_note.setWordWrap(True)
        self.message = QLabel(self)
        self.message.setObjectName("profileMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton("Save", QDialogButtonBox.ButtonRole.ApplyRole)
        self.save_button.clicked.connect(self.save)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        right = QVBoxLayout()
        right.addLayout(self.form)
        right.addWidget(self.storage_note)
        right.addWidget(self.message)
        right.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self.resize(720, 420)

        self._update_storage_note()
        self.reload(select)

    def _secret_edit(self) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        return edit

    # -- list ----------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        try:
            names = [p.name for p in self.profiles.list()]
        except InspectorError as exc:
            names = []
            self._show_message(str(exc), error=True)
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            self.list.addItem(QListWidgetItem(name))
        self.list.blockSignals(False)
        target = select if select in names else (names[0] if names else None)
        if target is None:
            self.new_profile()
            return
        for row in range(self.list.count()):
            if self.list.item(row).text() == target:
                self.list.setCurrentRow(row)
                self._load(target)
                break

    def _selected(self, current: QListWidgetItem | None, _previous: object = None) -> None:
        if current is not None:
            self._load(current.text())

    def _load(self, name: str) -> None:
        try:
            profile = self.profiles.get(name)
        except InspectorError as exc:
            self._show_message(str(exc), error=True)
            return
        self._editing = profile.name
        self.name_edit.setText(profile.name)
        self.base_url_edit.setText(profile.base_url)
        self.client_id_edit.setText(profile.client_id)
        self.username_edit.setText(profile.username)
        self.retailer_edit.setText(profile.retailer_id or "")
        self.mode_combo.setCurrentIndex(
            _MODE_TOKEN if profile.bearer_token_mode else _MODE_PASSWORD
        )
        self._clear_secret_fields()
        self._mode_changed()
        self.remove_button.setEnabled(True)
        self._show_message("")

    def new_profile(self) -> None:
        self._editing = None
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        for edit in (self.name_edit, self.base_url_edit, self.client_id_edit):
            edit.clear()
        self.username_edit.clear()
        self.retailer_edit.clear()
        self.mode_combo.setCurrentIndex(_MODE_PASSWORD)
        self._clear_secret_fields()
        self._mode_changed()
        self.remove_button.setEnabled(False)
        self.name_edit.setFocus()

    def _clear_secret_fields(self) -> None:
        for edit, kind in (
            (self.client_secret_edit, "client_secret"),
            (self.password_edit, "password"),
            (self.token_edit, "token"),
        ):
            edit.clear()
            stored = self._editing is not None and self._has_secret(self._editing, kind)
            edit.setPlaceholderText("stored - leave empty to keep" if stored else "not set")

    def _has_secret(self, name: str, kind: str) -> bool:
        try:
            return self.secrets.get(name, kind) is not None
        except ValueError:
            return False

    def _mode_changed(self, _index: int = 0) -> None:
        token = self.mode_combo.currentIndex() == _MODE_TOKEN
        for widget in (
            self.client_id_edit,
            self.username_edit,
            self.client_secret_edit,
            self.password_edit,
        ):
            widget.setEnabled(not token)
        self.token_edit.setEnabled(token)

    # -- save / remove ---------------------------------------------------------------------

    def _form_profile(self) -> Profile:
        return Profile(
            name=self.name_edit.text(),
            base_url=self.base_url_edit.text(),
            client_id=self.client_id_edit.text(),
            username=self.username_edit.text(),
            retailer_id=self.retailer_edit.text() or None,
            bearer_token_mode=self.mode_combo.currentIndex() == _MODE_TOKEN,
        )

    def save(self) -> bool:
        """Validate and save the form; secrets typed in go to the SecretStore. True if saved."""
        old = self._editing
        try:
            profile = self._form_profile().validated()
            renamed = old is not None and old != profile.name
            saved = self.profiles.add(profile, replace_existing=not renamed and old is not None)
            if renamed and old is not None:
                self._move_secrets(old, saved.name)
                self.profiles.remove(old)
            fields = (
                (self.token_edit, "token")
                if saved.bearer_token_mode
                else (self.client_secret_edit, "client_secret"),
                (self.password_edit, "password"),
            )
            for edit, kind in fields:
                if edit.isEnabled() and edit.text():
                    self.secrets.set(saved.name, kind, edit.text())
        except InspectorError as exc:
            self._show_message(str(exc), error=True)
            return False
        self._editing = saved.name
        self._update_storage_note()
        self.reload(saved.name)
        if old is not None and old != saved.name:
            self.profiles_changed.emit(old)
        self.profiles_changed.emit(saved.name)
        self._show_message(f"Saved profile {saved.name!r}.")
        return True

    def _move_secrets(self, old: str, new: str) -> None:
        for kind in ("client_secret", "password", "token"):
            value = self.secrets.get(old, kind)
            if value is not None:
                self.secrets.set(new, kind, value)
        self.secrets.delete_profile(old)

    def _ask_remove(self) -> None:
        if self._editing is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove profile",
            f"Remove profile {self._editing!r} and forget its stored secrets?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_profile(self._editing)

    def remove_profile(self, name: str) -> bool:
        try:
            self.profiles.remove(name)
        except InspectorError as exc:
            self._show_message(str(exc), error=True)
            return False
        self.secrets.delete_profile(name)
        self._editing = None
        self.reload()
        self.profiles_changed.emit(name)
        self._show_message(f"Removed profile {name!r}.")
        return True

    # -- notes -----------------------------------------------------------------------------

    def _update_storage_note(self) -> None:
        if self.secrets.persistent:
            self.storage_note.setText("Secrets are kept in the OS keyring, never in files.")
        else:
            self.storage_note.setText(f"⚠ {self.secrets.reason}")

    def _show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        colour = "#c42b1c" if error else ""
        self.message.setStyleSheet(f"color: {colour};" if colour else "")
