"""Listener settings: host, port, body limit, TLS files, forwarding, signed-only mode and
the path prefix. Applying restarts the listener."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.listener import ListenerConfig, is_loopback
from inspector.gui.file_dialogs import open_file_name
from inspector.gui.widgets.forward_settings import ForwardSettings
from inspector.gui.widgets.gate_settings import GateSettings


class ListenerSettingsDialog(QDialog):
    def __init__(
        self,
        config: ListenerConfig,
        parent: QWidget | None = None,
        *,
        has_keys: Callable[[], bool] = lambda: True,
        public_base: str = "",
        prefix_note: str = "",
    ) -> None:
        """``has_keys``: whether the key ring has a key now (signed-only needs one);
        ``public_base``: the tunnel's address, shown with the path prefix; ``prefix_note``:
        where the prefix is kept, when that is not the OS keyring."""
        super().__init__(parent)
        self.setWindowTitle("Listener settings")
        # Wide enough for a target URL per path without clipping it.
        self.setMinimumWidth(600)
        self._config = config
        self.host = QLineEdit(config.host, self)
        self.host.setObjectName("listenerHost")
        self.port = QSpinBox(self)
        self.port.setObjectName("listenerPort")
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("0 (any free port)")
        self.port.setValue(config.port)
        self.body_limit = QSpinBox(self)
        self.body_limit.setRange(1, 1024)
        self.body_limit.setSuffix(" MB")
        self.body_limit.setValue(max(1, config.body_limit // (1024 * 1024)))
        self.tls_cert = QLineEdit(str(config.tls_cert or ""), self)
        self.tls_cert.setPlaceholderText("none: plain HTTP (a tunnel usually terminates TLS)")
        self.tls_key = QLineEdit(str(config.tls_key or ""), self)
        self.tls_key.setPlaceholderText("private key file for the certificate")
        self.allow_remote = QCheckBox("Allow connections from other machines", self)
        self.allow_remote.setObjectName("allowRemote")
        self.allow_remote.setChecked(config.allow_remote)
        self.warning = QLabel(self)
        self.warning.setObjectName("remoteWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b45309;")
        self.error = QLabel(self)
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #dc2626;")

        form = QFormLayout()
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("Body limit", self.body_limit)
        form.addRow("TLS certificate", self._with_browse(self.tls_cert, "certificate"))
        form.addRow("TLS key", self._with_browse(self.tls_key, "private key"))
        form.addRow("", self.allow_remote)
        self.forward = ForwardSettings(
            config.forward_to,
            config.forward_paths,
            config.forward_timeout,
            config.forward_fallback,
            self,
        )
        self.gates = GateSettings(
            config.require_signature,
            config.path_prefix,
            public_base,
            has_keys=has_keys,
            local_base=self._local_base,
            prefix_note=prefix_note,
            parent=self,
        )
        hint = QLabel(
            "127.0.0.1 accepts only this computer (and a tunnel running on it). "
            "Applying restarts the listener.",
            self,
        )
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Apply and restart")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.forward)
        layout.addWidget(self.gates)
        layout.addWidget(hint)
        layout.addWidget(self.warning)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.host.textChanged.connect(self._update_warning)
        self.allow_remote.toggled.connect(self._update_warning)
        self._update_warning()
        for edit in (self.host, self.tls_cert):
            edit.textChanged.connect(self.gates.refresh)
        self.port.valueChanged.connect(self.gates.refresh)

    def _local_base(self) -> str:
        scheme = "https" if self.tls_cert.text().strip() else "http"
        host = self.host.text().strip() or "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{self.port.value()}"

    def _with_browse(self, edit: QLineEdit, what: str) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton("Browse…", box)

        def browse() -> None:
            path, _ = open_file_name(
                self,
                f"Choose the TLS {what}",
                edit.text(),
                "PEM files (*.pem *.crt *.key);;All files (*)",
            )
            if path:
                edit.setText(path)

        button.clicked.connect(browse)
        row.addWidget(button)
        return box

    def _update_warning(self) -> None:
        host = self.host.text().strip()
        remote = bool(host) and not is_loopback(host)
        if remote and not self.allow_remote.isChecked():
            self.warning.setText(
                f"{host} is not a loopback address: anyone on that network could post to the "
                "listener. Tick 'Allow connections from other machines' if you mean it."
            )
        elif remote:
            self.warning.setText(
                "Remote connections allowed: only the signature badges tell genuine Fluent "
                "webhooks from anything else posted to this port."
            )
        else:
            self.warning.setText("")
        self.warning.setVisible(bool(self.warning.text()))

    def config(self) -> ListenerConfig:
        cert = self.tls_cert.text().strip()
        key = self.tls_key.text().strip()
        # replace(): what this dialog does not edit (the rules file) carries over.
        return replace(
            self._config,
            host=self.host.text().strip() or "127.0.0.1",
            port=self.port.value(),
            body_limit=self.body_limit.value() * 1024 * 1024,
            read_timeout=self._config.read_timeout,
            tls_cert=Path(cert) if cert else None,
            tls_key=Path(key) if key else None,
            allow_remote=self.allow_remote.isChecked(),
            forward_to=self.forward.target(),
            forward_paths=self.forward.path_targets(),
            forward_timeout=self.forward.timeout.value(),
            forward_fallback=self.forward.fallback.value(),
            require_signature=self.gates.signed_only.isChecked(),
            path_prefix=self.gates.path_prefix(),
        )

    def validate(self) -> str | None:
        config = self.config()
        if not is_loopback(config.host) and not config.allow_remote:
            return (
                f"Refusing to listen on {config.host} without 'Allow connections from "
                "other machines' ticked."
            )
        if bool(config.tls_cert) != bool(config.tls_key):
            return "TLS needs both a certificate and its private key (or neither)."
        for path in (config.tls_cert, config.tls_key):
            if path is not None and not path.is_file():
                return f"{path} does not exist: choose the file again."
        return self.forward.validate() or self.gates.validate()

    def accept(self) -> None:
        problem = self.validate()
        if problem:
            self.error.setText(problem)
            return
        super().accept()
