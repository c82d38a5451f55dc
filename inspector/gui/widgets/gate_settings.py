"""The exposure part of Listener settings, for a listener behind a public tunnel: signed-only
mode and the secret path prefix (``listen --require-signature`` / ``--path-prefix``)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.listener.gates import generate_path_prefix, path_prefix_problem

__all__ = ["NO_KEY_FOR_SIGNED_ONLY", "GateSettings"]

NO_KEY_FOR_SIGNED_ONLY = (
    "Signed only needs at least one Fluent public key, and none is configured: every "
    "webhook would be refused. Add your account's key in Keys… (Ctrl+K) first."
)


class GateSettings(QGroupBox):
    """Signed-only switch, path prefix with Generate, and the full URL to give Fluent."""

    def __init__(
        self,
        require_signature: bool,
        path_prefix: str | None,
        public_base: str,
        *,
        has_keys: Callable[[], bool],
        local_base: Callable[[], str],
        prefix_note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Exposure (behind a public tunnel)", parent)
        self.setObjectName("gateSettings")
        self._has_keys = has_keys
        self._local_base = local_base
        self.signed_only = QCheckBox(
            "Signed only: answer 401 to requests no configured key verifies", self
        )
        self.signed_only.setObjectName("requireSignature")
        self.signed_only.setToolTip(
            "At least one of flex.signature / fluent-signature must verify with a key in "
            "Keys…; refused requests are still listed (marked rejected), without their body."
        )
        self.signed_only.setChecked(require_signature)
        self.prefix = QLineEdit(path_prefix or "", self)
        self.prefix.setObjectName("pathPrefix")
        self.prefix.setPlaceholderText("none: every path is served (e.g. /h/ + a random string)")
        self.prefix.setToolTip(
            "Only paths under this prefix are served and stored; anything else gets 404, "
            "is not stored and is only counted in the status bar. Kept in the OS keyring."
        )
        self.generate = QPushButton("Generate", self)
        self.generate.setObjectName("generatePrefix")
        self.generate.setToolTip("Make an unguessable prefix: /h/ and 128 random bits")
        self.generate.clicked.connect(lambda: self.prefix.setText(generate_path_prefix()))
        self.public_base = QLineEdit(public_base, self)
        self.public_base.setObjectName("publicBase")
        self.public_base.setPlaceholderText(
            "optional: your tunnel's https address, e.g. https://abc.trycloudflare.com"
        )
        self.url = QLabel(self)
        self.url.setObjectName("fluentUrl")
        self.url.setWordWrap(True)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy = QPushButton("Copy", self)
        self.copy.setObjectName("copyFluentUrl")
        self.copy.setToolTip("Copy the URL to paste into Fluent's webhook setting")
        self.copy.clicked.connect(self.copy_url)
        self.problem = QLabel(self)
        self.problem.setObjectName("gateProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #dc2626;")
        self.problem.hide()

        prefix_row = QHBoxLayout()
        prefix_row.addWidget(self.prefix, 1)
        prefix_row.addWidget(self.generate)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy)
        form = QFormLayout()
        form.addRow("Path prefix", prefix_row)
        form.addRow("Public address", self.public_base)
        form.addRow("URL for Fluent", url_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.signed_only)
        layout.addLayout(form)
        if prefix_note:
            note = QLabel(prefix_note, self)
            note.setObjectName("prefixNote")
            note.setWordWrap(True)
            note.setStyleSheet("color: #b45309;")
            layout.addWidget(note)
        layout.addWidget(self.problem)
        self.signed_only.toggled.connect(self._signed_only_toggled)
        self.prefix.textChanged.connect(self.refresh)
        self.public_base.textChanged.connect(self.refresh)
        self.refresh()

    # -- values -------------------------------------------------------------------------

    def path_prefix(self) -> str | None:
        return self.prefix.text().strip().rstrip("/") or None

    def fluent_url(self) -> str:
        """The webhook URL with the prefix, on the public address when one is given."""
        base = self.public_base.text().strip() or self._local_base()
        return base.rstrip("/") + (self.path_prefix() or "/")

    def validate(self) -> str | None:
        if self.signed_only.isChecked() and not self._has_keys():
            return NO_KEY_FOR_SIGNED_ONLY
        text = self.prefix.text().strip()
        if text:
            problem = path_prefix_problem(text)
            if problem is not None:
                return problem
        base = self.public_base.text().strip()
        if base and not base.lower().startswith(("https://", "http://")):
            return (
                f"The public address {base!r} must start with https:// (the address your "
                "tunnel prints), or leave it empty."
            )
        return None

    # -- behaviour ----------------------------------------------------------------------

    def copy_url(self) -> None:
        QGuiApplication.clipboard().setText(self.fluent_url())

    def refresh(self) -> None:
        problem = self.validate()
        self.url.setText(self.fluent_url() if problem is None else "")
        self.copy.setEnabled(problem is None)
        self._show_problem(problem)

    def _signed_only_toggled(self, on: bool) -> None:
        if on and not self._has_keys():
            # Refused at once, not at "Apply": the switch must not look on when it cannot be.
            self.signed_only.setChecked(False)
            self._show_problem(NO_KEY_FOR_SIGNED_ONLY)
            return
        self.refresh()

    def _show_problem(self, problem: str | None) -> None:
        self.problem.setText(problem or "")
        self.problem.setVisible(bool(problem))
