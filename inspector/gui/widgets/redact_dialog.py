"""The export dialog's *Redact…* choice: which header values and JSON values an export
replaces with ``[redacted]`` (``core/redact.py``), so it can go into a support ticket.

:class:`RedactRow` is the line the export file dialog gets (a *Redact* check box, what it will
redact, and the *Redact…* button); :class:`RedactDialog` is the small dialog behind the
button. The choice is kept as the same text ``export --redact`` takes ("Authorization,
$..email"), so the window and the command line read one format; it names headers and paths,
never values, so it is a setting and not a secret.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import RedactError
from inspector.core.redact import PLACEHOLDER, SUPPORTED, RedactSpec, parse_spec
from inspector.gui.theme import is_dark

__all__ = [
    "DEFAULT_CHOICE",
    "SUGGESTED_HEADERS",
    "SUGGESTED_PATHS",
    "RedactDialog",
    "RedactRow",
    "spec_text",
]

SUGGESTED_HEADERS: tuple[tuple[str, str], ...] = (
    ("Authorization", "credentials of whoever called the listener"),
    ("Cookie", "session cookies"),
    ("flex.signature", "Fluent's MD5 signature"),
    ("fluent-signature", "Fluent's SHA-512 signature"),
    ("X-Forwarded-For", "the sender's address, added by a tunnel or proxy"),
)
"""Header names the dialog offers, with why each may be private."""
SUGGESTED_PATHS: tuple[tuple[str, str], ...] = (
    ("$.attributes.customerRef", "the customer ref of an order event"),
    ("$..email", "every email field, at any depth"),
    ("$..primaryEmail", "a Fluent customer's email"),
    ("$..primaryPhone", "a Fluent customer's phone"),
    ("$..firstName", "given names"),
    ("$..lastName", "family names"),
    ("$..toAddress", "delivery addresses of fulfilments"),
    ("$..address", "every other address field"),
)
"""Customer data in Fluent events and the entities their attributes may carry."""
DEFAULT_CHOICE = "Authorization,$..email,$..primaryEmail,$..primaryPhone"
"""What the dialog proposes before a first choice was made."""


def spec_text(headers: Iterable[str], paths: Iterable[str]) -> str:
    """The ``--redact`` text for these names and paths."""
    return ",".join([*headers, *paths])


def _validated(text: str) -> RedactSpec:
    return parse_spec([text])


class _ElidedLabel(QLabel):
    """One line that ends in "…" when it does not fit (the whole text is the tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width))


class RedactDialog(QDialog):
    """Header names and JSON paths to redact: suggestions to tick, and free entries."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Redact export")
        self.setObjectName("redactDialog")
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"Chosen header values and JSON values are replaced by <b>{PLACEHOLDER}</b>; "
            "header names and the body's shape stay. The file says it was redacted, and a "
            "changed body no longer matches its signatures: after import its badges read "
            "<i>redacted</i>."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        try:
            chosen = _validated(text)
        except RedactError:
            chosen = _validated(DEFAULT_CHOICE)
        chosen_paths = [p.text for p in chosen.paths]

        headers_box = QGroupBox("Headers (request, answer, forward and replays)", self)
        grid = QGridLayout(headers_box)
        self.header_boxes: dict[str, QCheckBox] = {}
        for row, (name, why) in enumerate(SUGGESTED_HEADERS):
            box = QCheckBox(name, headers_box)
            box.setObjectName(f"redactHeader-{name}")
            box.setChecked(name.lower() in chosen.headers)
            box.setToolTip(why)
            self.header_boxes[name] = box
            grid.addWidget(box, row // 2, row % 2)
        suggested = {name.lower() for name, _ in SUGGESTED_HEADERS}
        self.other_headers = QLineEdit(
            ", ".join(h for h in chosen.headers if h not in suggested), headers_box
        )
        self.other_headers.setObjectName("redactOtherHeaders")
        self.other_headers.setPlaceholderText("other header names, comma-separated")
        grid.addWidget(self.other_headers, (len(SUGGESTED_HEADERS) + 1) // 2, 0, 1, 2)
        layout.addWidget(headers_box)

        paths_box = QGroupBox("JSON paths (every JSON body)", self)
        grid = QGridLayout(paths_box)
        self.path_boxes: dict[str, QCheckBox] = {}
        for row, (path, why) in enumerate(SUGGESTED_PATHS):
            box = QCheckBox(path, paths_box)
            box.setObjectName(f"redactPath-{path}")
            box.setChecked(path in chosen_paths)
            box.setToolTip(why)
            self.path_boxes[path] = box
            grid.addWidget(box, row // 2, row % 2)
        self.other_paths = QPlainTextEdit(paths_box)
        self.other_paths.setObjectName("redactOtherPaths")
        self.other_paths.setPlaceholderText(
            "other JSON paths, one per line, e.g. $.customer.email or $.items[*].address"
        )
        self.other_paths.setPlainText(
            "\n".join(p for p in chosen_paths if p not in dict(SUGGESTED_PATHS))
        )
        self.other_paths.setTabChangesFocus(True)
        self.other_paths.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.other_paths.setFixedHeight(self.other_paths.fontMetrics().lineSpacing() * 4 + 12)
        grid.addWidget(self.other_paths, (len(SUGGESTED_PATHS) + 1) // 2, 0, 1, 2)
        syntax = QLabel(f"Supported: {SUPPORTED}. A body that is not JSON is left as it is.")
        syntax.setObjectName("redactSyntax")
        syntax.setWordWrap(True)
        grid.addWidget(syntax, (len(SUGGESTED_PATHS) + 1) // 2 + 1, 0, 1, 2)
        layout.addWidget(paths_box)

        self.problem = QLabel(self)
        self.problem.setObjectName("redactProblem")
        self.problem.setWordWrap(True)
        # A red that reads on both themes' window colours.
        red = "#f87171" if is_dark(self.palette()) else "#b91c1c"
        self.problem.setStyleSheet(f"color: {red};")
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.problem)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        for box in (*self.header_boxes.values(), *self.path_boxes.values()):
            box.toggled.connect(self._check)
        self.other_headers.textChanged.connect(self._check)
        self.other_paths.textChanged.connect(self._check)
        self.resize(620, self.sizeHint().height())
        self._check()

    def text(self) -> str:
        """The choice as ``--redact`` text (unvalidated)."""
        headers = [name for name, box in self.header_boxes.items() if box.isChecked()]
        headers += [h.strip() for h in self.other_headers.text().split(",") if h.strip()]
        paths = [path for path, box in self.path_boxes.items() if box.isChecked()]
        for line in self.other_paths.toPlainText().splitlines():
            if line.strip():
                # A typed path without "$" would read as a header name.
                line = line.strip()
                paths.append(line if line.startswith(("$", "..")) else f"$.{line}")
        return spec_text(headers, paths)

    def spec(self) -> RedactSpec:
        """The validated choice; RedactError says what is wrong."""
        return _validated(self.text())

    def _check(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            spec = self.spec()
        except RedactError as exc:
            self.problem.setText(str(exc))
            ok.setEnabled(False)
            return
        self.problem.setText("" if spec else "Nothing chosen: tick or type what to redact.")
        ok.setEnabled(bool(spec))


class RedactRow(QWidget):
    """The export dialog's line: [x] Redact  <what>  [Redact…]."""

    changed = Signal()

    def __init__(self, text: str, enabled: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("redactRow")
        try:
            self._spec = _validated(text or DEFAULT_CHOICE)
        except RedactError:
            self._spec = _validated(DEFAULT_CHOICE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox("Redact", self)
        self.check.setObjectName("redactEnabled")
        self.check.setToolTip(
            f"Replace the chosen header values and JSON values with {PLACEHOLDER}, "
            "for sharing the file in a support ticket"
        )
        self.check.setChecked(enabled)
        self.summary = _ElidedLabel(self)
        self.summary.setObjectName("redactSummary")
        self.button = QPushButton("Redact…", self)
        self.button.setObjectName("redactChoose")
        self.button.setAutoDefault(False)
        layout.addWidget(self.check)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.button)
        self.check.toggled.connect(self._show)
        self.button.clicked.connect(self.choose)
        self._show()

    @property
    def spec(self) -> RedactSpec | None:
        """What to redact, or None when the box is not ticked."""
        return self._spec if self.check.isChecked() and self._spec else None

    @property
    def text(self) -> str:
        return spec_text(self._spec.headers, (p.text for p in self._spec.paths))

    @property
    def enabled(self) -> bool:
        return self.check.isChecked()

    def make_dialog(self) -> RedactDialog:
        return RedactDialog(self.text, self)

    def choose(self) -> bool:
        """Open the dialog; an accepted choice also ticks the box. True when accepted."""
        dialog = self.make_dialog()
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            self._spec = dialog.spec()
        finally:
            dialog.deleteLater()
        self.check.setChecked(True)
        self._show()
        self.changed.emit()
        return True

    def _show(self) -> None:
        what = self._spec.summary if self._spec else "nothing chosen"
        on = self.check.isChecked()
        self.summary.set_full_text(what if on else f"off (last choice: {what})")
        self.summary.setEnabled(on)
