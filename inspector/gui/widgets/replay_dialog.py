"""The Replay dialog: send captures again to a target, byte-exact or with an edited body,
optionally re-signed with the demo key or a private key file the user picks.

The key file is read inside the worker for the one send and dropped with it: the dialog
keeps only its path (and the settings keep nothing about keys at all)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.capture import Capture, ReplayRecord
from inspector.core.store import Store
from inspector.gui.file_dialogs import open_file_name
from inspector.gui.workers import Worker, run_in_background

__all__ = ["KEY_DEMO", "KEY_FILE", "KEY_NONE", "ReplayDialog"]

KEY_NONE, KEY_DEMO, KEY_FILE = range(3)


def _run(
    store: Store,
    captures: Sequence[Capture],
    to: str,
    body: bytes | None,
    key_choice: int,
    key_file: str,
) -> list[tuple[Capture, ReplayRecord]]:
    """Worker side: load the key (if any) for this send only, replay, record each."""
    # core.replay (with httpx) is imported when used, not with the window (cold start).
    from inspector.core.replay import demo_signing_key, load_signing_key, replay

    key = None
    if key_choice == KEY_DEMO:
        key = demo_signing_key()
    elif key_choice == KEY_FILE:
        key = load_signing_key(Path(key_file))
    done = []
    for capture in captures:
        record = replay(capture, to, body=body, key=key)
        store.add_replay(capture.id, record)
        done.append((capture, record))
    return done


def describe(record: ReplayRecord) -> str:
    answer = (
        f"HTTP {record.status} in {record.elapsed_ms:.0f} ms"
        if record.error is None
        else f"not delivered: {record.error}"
    )
    edited = "edited body, " if record.edited else ""
    return f"{record.url} → {answer} ({edited}{record.badge})"


class ReplayDialog(QDialog):
    replayed = Signal(list)
    """Ids of the captures that got a new replay record (their detail pane reloads)."""

    def __init__(
        self,
        store: Store,
        captures: Sequence[Capture],
        target: str = "",
        parent: QWidget | None = None,
        *,
        track: Callable[[Worker[list[tuple[Capture, ReplayRecord]]]], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("replayDialog")
        self.setWindowTitle("Replay" if len(captures) == 1 else f"Replay {len(captures)} captures")
        self.resize(720, 560)
        self._store = store
        self._captures = list(captures)
        self._track = track
        self.worker: Worker[list[tuple[Capture, ReplayRecord]]] | None = None
        first = self._captures[0]
        self.target = QLineEdit(target, self)
        self.target.setObjectName("replayTarget")
        self.target.setPlaceholderText("http://127.0.0.1:3000 (each capture's path is appended)")
        self.body = QPlainTextEdit(self)
        self.body.setObjectName("replayBody")
        self.body.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._original_text: str | None
        try:
            self._original_text = first.body.decode("utf-8")
        except UnicodeDecodeError:
            self._original_text = None
        editable = len(self._captures) == 1 and self._original_text is not None
        self.body.setPlainText(
            self._original_text
            if editable and self._original_text is not None
            else (
                "(sent byte-exact: editing is for one text body at a time)"
                if len(self._captures) > 1
                else "(binary body: sent byte-exact)"
            )
        )
        self.body.setReadOnly(not editable)
        self._editable = editable
        self.key = QComboBox(self)
        self.key.setObjectName("replayKey")
        self.key.addItems(
            [
                "Keep the original signature headers",
                "Re-sign with the demo key",
                "Re-sign with a private key file…",
            ]
        )
        self.key_file = QLineEdit(self)
        self.key_file.setObjectName("replayKeyFile")
        self.key_file.setPlaceholderText("PEM private key (read for this send only, never saved)")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self._key_row = QWidget(self)
        row = QHBoxLayout(self._key_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.key_file, 1)
        row.addWidget(browse)
        self.warning = QLabel(self)
        self.warning.setObjectName("replayWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b45309;")
        self.outcome = QPlainTextEdit(self)
        self.outcome.setObjectName("replayResult")
        self.outcome.setReadOnly(True)
        self.outcome.setMaximumHeight(110)
        self.outcome.setPlaceholderText("What each target answered appears here.")
        form = QFormLayout()
        form.addRow("Target URL", self.target)
        form.addRow("Signatures", self.key)
        form.addRow("", self._key_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.send = buttons.addButton("Send", QDialogButtonBox.ButtonRole.ActionRole)
        self.send.setObjectName("replaySend")
        self.send.setDefault(True)
        self.send.clicked.connect(self.start)
        self.revert = buttons.addButton("Original body", QDialogButtonBox.ButtonRole.ResetRole)
        self.revert.setEnabled(editable)
        self.revert.clicked.connect(lambda: self.body.setPlainText(self._original_text or ""))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Body", self))
        layout.addWidget(self.body, 1)
        layout.addWidget(self.warning)
        layout.addWidget(self.outcome)
        layout.addWidget(buttons)
        self.key.currentIndexChanged.connect(self._update)
        self.body.textChanged.connect(self._update)
        self._update()

    # -- state ------------------------------------------------------------------------------

    def edited_body(self) -> bytes | None:
        """The body to send when it differs from the captured one, else None."""
        if not self._editable:
            return None
        text = self.body.toPlainText()
        return None if text == self._original_text else text.encode("utf-8")

    def _update(self) -> None:
        choice = self.key.currentIndex()
        self._key_row.setVisible(choice == KEY_FILE)
        edited = self.edited_body() is not None
        if choice == KEY_NONE and edited:
            from inspector.core.replay import EDITED_WARNING

            text = f"Note: {EDITED_WARNING.replace('--sign-key PEM or --sign-demo', 'a key')}."
        elif choice == KEY_DEMO:
            text = (
                "Both headers are re-signed with the demo key: only a target trusting the demo "
                "public key accepts them; the replay's badge says 're-signed (test key demo)'."
            )
        elif choice == KEY_FILE:
            text = (
                "Both headers are re-signed with this private key (flex.signature MD5withRSA, "
                "fluent-signature SHA512withRSA); the key is read for this send only."
            )
        else:
            text = (
                "Will be sent byte-exact: Fluent signs no timestamp, so the original "
                "signatures stay valid at the target."
            )
        self.warning.setText(text)

    def _browse(self) -> None:
        path, _ = open_file_name(
            self, "Choose a private key", self.key_file.text(), "PEM files (*.pem *.key);;All (*)"
        )
        if path:
            self.key_file.setText(path)

    def validate(self) -> str | None:
        # Imported here: core.forward brings httpx (~0.1 s), not needed for the first paint.
        from inspector.core.forward import check_target_url

        try:
            check_target_url(self.target.text(), "replay target")
        except ValueError as exc:
            return str(exc)
        if self.key.currentIndex() == KEY_FILE and not self.key_file.text().strip():
            return "Choose the private key file to re-sign with (or keep the original headers)."
        return None

    # -- sending ----------------------------------------------------------------------------

    def start(self) -> Worker[list[tuple[Capture, ReplayRecord]]] | None:
        problem = self.validate()
        if problem:
            self.outcome.setPlainText(problem)
            return None
        self.send.setEnabled(False)
        self.outcome.setPlainText("Sending…")
        worker = run_in_background(
            _run,
            self._store,
            self._captures,
            self.target.text().strip(),
            self.edited_body(),
            self.key.currentIndex(),
            self.key_file.text().strip(),
            on_result=self._done,
            on_error=self._failed,
            on_finished=lambda: self.send.setEnabled(True),
        )
        if self._track is not None:
            self._track(worker)
        self.worker = worker
        return worker

    def _done(self, done: list[tuple[Capture, ReplayRecord]]) -> None:
        self.outcome.setPlainText("\n".join(describe(record) for _, record in done))
        self.replayed.emit([capture.id for capture, _ in done])

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setPlainText(f"Not sent: {exc}")
