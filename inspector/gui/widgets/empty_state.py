"""Shown instead of the table while the store holds no captures."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from inspector.gui.icons import icon


class EmptyState(QWidget):
    send_requested = Signal()
    keys_requested = Signal()
    settings_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        title = QLabel("<h2>Waiting for the first webhook</h2>", self)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.url_label = QLabel(self)
        self.url_label.setObjectName("emptyUrl")
        self.url_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help = QLabel(self)
        self.help.setWordWrap(True)
        self.help.setTextFormat(Qt.TextFormat.RichText)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help.setMaximumWidth(640)
        self.send_button = QPushButton(icon("send"), "Send test webhook", self)
        self.send_button.setObjectName("sendTestWebhook")
        self.send_button.setToolTip(
            "POST a sample Fluent event, signed with the demo key pair, to the listener (Ctrl+T)"
        )
        self.send_button.clicked.connect(self.send_requested)
        self.keys_button = QPushButton(icon("key"), "Add Fluent's public key…", self)
        self.keys_button.clicked.connect(self.keys_requested)
        self.settings_button = QPushButton(icon("settings"), "Listener settings…", self)
        self.settings_button.clicked.connect(self.settings_requested)
        self.demo_button = QPushButton(icon("demo"), "Start offline demo", self)
        self.demo_button.setObjectName("startDemo")
        self.demo_button.setToolTip(
            "Play an order lifecycle from the built-in Fluent sandbox into this listener, "
            "with GraphQL answered offline (Ctrl+Shift+D)"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        self.note = QLabel(self)
        self.note.setObjectName("emptyNote")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)

        # Two by two: four in a row set the table side's minimum width (and with the detail
        # pane made a 1024 px window too narrow for the window).
        grid = QGridLayout()
        grid.addWidget(self.send_button, 0, 0)
        grid.addWidget(self.demo_button, 0, 1)
        grid.addWidget(self.keys_button, 1, 0)
        grid.addWidget(self.settings_button, 1, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addLayout(grid)
        buttons.addStretch(1)
        center = QHBoxLayout()
        center.addStretch(1)
        center.addWidget(self.help)
        center.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(self.url_label)
        layout.addSpacing(12)
        layout.addLayout(center)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addStretch(2)
        self.set_url(None)

    def set_url(self, url: str | None, error: str | None = None) -> None:
        if url:
            self.url_label.setText(f"Listening on <b><code>{html.escape(url)}</code></b>")
        elif error:
            self.url_label.setText(
                f"<span style='color:#dc2626'>Not listening: {html.escape(error)}</span>"
            )
        else:
            self.url_label.setText("The listener is stopped: press Ctrl+L to start it.")
        port = url.rstrip("/").rsplit(":", 1)[-1] if url else "8765"
        self.help.setText(
            "Fluent only delivers to <b>public https URLs on port 443</b> (or 80), so expose "
            "this listener through a tunnel and use the tunnel's URL in the webhook rule or "
            "setting, for example:"
            f"<pre>  cloudflared tunnel --url http://localhost:{html.escape(port)}\n"
            f"  ngrok http {html.escape(port)}</pre>"
            "Anyone can post to a public URL: the signature badges tell you whether a request "
            "really came from Fluent. Add your environment's public key so they can."
        )
        self.send_button.setEnabled(bool(url))

    def set_send_enabled(self, enabled: bool) -> None:
        """Off while a test webhook is on its way (and whenever nothing listens)."""
        self.send_button.setEnabled(enabled)

    def set_note(self, text: str, error: bool = False) -> None:
        self.note.setText(text)
        self.note.setStyleSheet("color: #dc2626;" if error else "")
