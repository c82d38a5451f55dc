"""The keys dialog: the public keys that verify webhook signatures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.core.keys import (
    KeyRing,
    PublicKey,
    load_public_key,
    load_public_key_file,
    parse_key_table,
)
from inspector.gui.file_dialogs import open_file_name
from inspector.gui.icons import icon

DEMO_KEY_NAME = "demo"

EXPLANATION = (
    "Fluent signs every webhook twice over the exact body bytes: <b>flex.signature</b> "
    "(RSA with MD5) and <b>fluent-signature</b> (RSA with SHA-512). Each environment "
    "(sandbox / production) and region (sydney, dublin, singapore, north_america) has its own "
    "key pair. Fluent publishes the public keys in its documentation on webhook signature "
    "validation, as base64 starting <code>MIGfMA0GCSqGSIb3DQEBAQUAA4GNAD</code>; Connect SDK "
    "projects keep them in the <code>fluent-webhook-keys</code> table of "
    "<code>application.yml</code>. Paste one key (base64, PEM or a certificate) or that whole "
    "table, or choose a file. Every configured key is tried, and the window says which matched."
)


class KeysDialog(QDialog):
    """List, add and remove named public keys. ``keys_changed`` fires after every change."""

    keys_changed = Signal()

    def __init__(self, keyring: KeyRing, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Signature keys")
        self.setWindowIcon(icon("key"))
        self.resize(820, 620)
        self._keyring = keyring
        self.changed = False
        self._version = keyring.version

        intro = QLabel(EXPLANATION, self)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("keysTable")
        self.table.setHorizontalHeaderLabels(["Name", "Bits", "Fingerprint (SHA-256)", "Source"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.remove_button = QPushButton(icon("trash"), "Remove", self)
        self.remove_button.setObjectName("removeKey")
        self.remove_button.clicked.connect(self.remove_selected)
        self.copy_button = QPushButton(icon("copy"), "Copy public key", self)
        self.copy_button.clicked.connect(self.copy_selected)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.remove_button)
        row_buttons.addWidget(self.copy_button)
        row_buttons.addStretch(1)

        add_box = QGroupBox("Add a key", self)
        self.name_edit = QLineEdit(add_box)
        self.name_edit.setObjectName("keyName")
        self.name_edit.setPlaceholderText("Name, e.g. sydney-sandbox (letters, digits, . _ -)")
        self.data_edit = QPlainTextEdit(add_box)
        self.data_edit.setObjectName("keyData")
        self.data_edit.setPlaceholderText(
            "Paste the public key: base64 (MIGfMA0GCSq…), a PEM block, or the "
            "fluent-webhook-keys table from application.yml"
        )
        self.data_edit.setMaximumHeight(110)
        self.file_button = QPushButton(icon("import"), "Choose file…", add_box)
        self.file_button.clicked.connect(self.choose_file)
        self.add_button = QPushButton(icon("key"), "Add", add_box)
        self.add_button.setObjectName("addKey")
        self.add_button.clicked.connect(self.add_from_fields)
        self.message = QLabel(add_box)
        self.message.setObjectName("keyMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Room for three lines, always: a message appearing must not grow the box and move
        # the buttons (a click aimed at Add landed elsewhere). Longer text is in the tooltip.
        self.message.setFixedHeight(self.message.fontMetrics().lineSpacing() * 3 + 4)
        self.confirm: Callable[[str, str], bool] = self._ask
        """Asks before Remove (title, text) -> yes; tests answer it without a modal box."""
        for edited in (self.name_edit.textChanged, self.data_edit.textChanged):
            edited.connect(self._clear_message)
        self.table.itemSelectionChanged.connect(self._clear_message)
        add_layout = QVBoxLayout(add_box)
        add_layout.addWidget(self.name_edit)
        add_layout.addWidget(self.data_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.file_button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        add_layout.addLayout(buttons)
        add_layout.addWidget(self.message)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        close.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(add_box)
        layout.addWidget(close)
        self.refresh()

    def refresh(self) -> None:
        keys = self._keyring.keys()
        self.table.setRowCount(len(keys))
        for row, key in enumerate(keys):
            name = key.name + (
                "  (demo only - never trust for real traffic)" if key.name == DEMO_KEY_NAME else ""
            )
            cells = (name, str(key.bits), key.fingerprint, key.source)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, key.name)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        self._update_buttons()

    def key_names(self) -> list[str]:
        return [key.name for key in self._keyring.keys()]

    def _selected_names(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        names = []
        for row in rows:
            item = self.table.item(row, 0)
            if item is not None:
                names.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return names

    def _update_buttons(self) -> None:
        selected = bool(self._selected_names())
        self.remove_button.setEnabled(selected)
        self.copy_button.setEnabled(selected)

    def _show(self, text: str, error: bool) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)
        self.message.setProperty("error", error)
        self.message.setStyleSheet("color: #dc2626;" if error else "color: #16a34a;")

    def _clear_message(self) -> None:
        """The next action (typing, selecting) clears what the last one said."""
        self.message.clear()
        self.message.setToolTip("")

    def _ask(self, title: str, text: str) -> bool:
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        return QMessageBox.question(self, title, text, yes | no, no) == yes

    def _duplicate_of(self, key: PublicKey) -> PublicKey | None:
        return next((k for k in self._keyring.keys() if k.fingerprint == key.fingerprint), None)

    def _add_checked(self, key: PublicKey) -> str | None:
        """Add ``key`` unless the ring already has it (same fingerprint, any name); returns
        the warning naming the existing entry instead."""
        existing = self._duplicate_of(key)
        if existing is not None:
            return (
                f"Not added: this key is already in the ring as '{existing.name}' "
                f"(fingerprint {existing.short_fingerprint}…)."
            )
        self._keyring.add_key(key)
        return None

    def add_from_fields(self) -> bool:
        """Add what was pasted: one named key, or every entry of a pasted key table."""
        name = self.name_edit.text().strip()
        data = self.data_edit.toPlainText()
        if not data.strip():
            self._show("Paste a public key or choose a file first.", error=True)
            return False
        table = parse_key_table(data) if not name else []
        if not name and not table:
            self._show(
                "Give the key a name, e.g. the environment and region (sydney-sandbox).", error=True
            )
            self.name_edit.setFocus()
            return False
        added: list[str] = []
        warnings: list[str] = []
        try:
            for entry_name, entry_data in table or [(name, data)]:
                warning = self._add_checked(load_public_key(entry_data, entry_name))
                if warning is None:
                    added.append(entry_name)
                else:
                    warnings.append(f"{entry_name}: {warning}" if table else warning)
        except InspectorError as exc:
            self._after_change()
            self._show(str(exc), error=True)
            return False
        if added:
            # Cleared before the message is shown: clearing counts as an edit.
            self.name_edit.clear()
            self.data_edit.clear()
        self._after_change()
        said = [f"Added {', '.join(added)}."] if added else []
        self._show(" ".join(said + warnings), error=bool(warnings))
        return bool(added)

    def add_file(self, path: Path, name: str) -> bool:
        try:
            key = load_public_key_file(path, name)
            warning = self._add_checked(key)
            if warning is not None:
                self._show(warning, error=True)
                return False
        except InspectorError as exc:
            self._show(str(exc), error=True)
            return False
        self._after_change()
        self._show(f"Added {name} from {path.name}.", error=False)
        return True

    def choose_file(self) -> None:
        path, _ = open_file_name(
            self,
            "Choose a public key or certificate",
            "",
            "Keys and certificates (*.pem *.crt *.cer *.der *.pub *.b64 *.txt *.key *.yml "
            "*.yaml);;All files (*)",
        )
        if not path:
            return
        chosen = Path(path)
        if chosen.suffix.lower() in (".yml", ".yaml"):
            # A Connect SDK application.yml: add every entry of its key table.
            try:
                text = chosen.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                self._show(
                    f"Could not read {chosen}: {exc.strerror}. Check the file and its permissions.",
                    error=True,
                )
                return
            self.data_edit.setPlainText(text)
            self.name_edit.clear()
            self.add_from_fields()
            return
        self.add_file(chosen, self.name_edit.text().strip() or chosen.stem)

    def remove_selected(self) -> None:
        names = self._selected_names()
        if not names:
            return
        listed = ", ".join(f"'{n}'" for n in names)
        noun = "key" if len(names) == 1 else "keys"
        if not self.confirm(
            f"Remove {noun}",
            f"Remove the {noun} {listed}? Webhooks signed with it will no longer verify.",
        ):
            return
        for name in names:
            try:
                self._keyring.remove(name)
            except InspectorError as exc:
                self._show(str(exc), error=True)
        self._after_change()

    def copy_selected(self) -> None:
        names = self._selected_names()
        if names:
            try:
                QGuiApplication.clipboard().setText(self._keyring.get(names[0]).spki_b64)
            except InspectorError as exc:
                self._show(str(exc), error=True)

    def _after_change(self) -> None:
        self.refresh()
        if self._keyring.version != self._version:
            self._version = self._keyring.version
            self.changed = True
            self.keys_changed.emit()
