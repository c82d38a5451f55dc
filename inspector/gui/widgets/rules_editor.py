"""The response rules editor: the rules file as JSON text, checked as you type (line and
reason), saved only when valid, and applied to the running listener without a restart."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import RulesError
from inspector.core.rules import EXAMPLE_RULES, parse_rules

__all__ = ["EXAMPLE_RULES", "RulesEditor"]


def write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step: the listener, re-reading it, never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rules-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RulesEditor(QDialog):
    def __init__(
        self,
        path: Path,
        apply: Callable[[], str | None],
        parent: QWidget | None = None,
    ) -> None:
        """``apply`` makes the running listener use the saved file: None, or why not."""
        super().__init__(parent)
        self.setObjectName("rulesEditor")
        self.setWindowTitle("Response rules")
        self.resize(820, 560)
        self.path = Path(path)
        self._apply = apply
        self.saved = False
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("rulesText")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        try:
            existing = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            existing = '{"rules": []}\n'
        except (OSError, UnicodeDecodeError) as exc:
            existing = ""
            self._initial_problem = f"Could not read {self.path}: {exc}"
        self.text.setPlainText(existing)
        self._saved_text = existing
        intro = QLabel(
            "The first rule whose <i>match</i> fits answers; no match → the default answer "
            "(or the forward target). Every <i>match</i> key is optional: <i>path</i> (glob), "
            "<i>method</i>, <i>event</i>, <i>entity_type</i>, <i>attempts</i>. "
            "<i>respond</i>: status, headers, body, delay_ms (0–60000), close; or "
            "<i>forward</i>: URL. Requests are stored before any rule answers.",
            self,
        )
        intro.setWordWrap(True)
        self.status = QLabel(self)
        self.status.setObjectName("rulesStatus")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.save_button = buttons.addButton(
            "Save and apply", QDialogButtonBox.ButtonRole.ApplyRole
        )
        self.save_button.setObjectName("rulesSave")
        self.example = buttons.addButton("Insert example", QDialogButtonBox.ButtonRole.ResetRole)
        self.example.setObjectName("rulesExample")
        self.example.clicked.connect(lambda: self.text.setPlainText(EXAMPLE_RULES))
        self.save_button.clicked.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.text.textChanged.connect(self.check)
        self.check()

    @property
    def unsaved(self) -> bool:
        return self.text.toPlainText() != self._saved_text

    def reject(self) -> None:
        """Close (or Esc): unsaved rules are not thrown away without asking."""
        if self.unsaved:
            save, discard = QMessageBox.StandardButton.Save, QMessageBox.StandardButton.Discard
            answer = QMessageBox.question(
                self,
                "Unsaved rules",
                "The rules were changed but not saved. Save and apply them?",
                save | discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == save and not self.save():
                return  # not valid: stay, the status line says why
        super().reject()

    def problem(self) -> RulesError | None:
        try:
            parse_rules(self.text.toPlainText(), self.path.name)
        except RulesError as exc:
            return exc
        return None

    def check(self) -> bool:
        problem = self.problem()
        if problem is None:
            count = len(parse_rules(self.text.toPlainText()).rules)
            self._show(f"✓ {count} rule{'s' if count != 1 else ''}, ready to save.", ok=True)
        else:
            self._show(str(problem).split(". Fix the rules file")[0] + ".", ok=False)
        self.save_button.setEnabled(problem is None)
        return problem is None

    def _show(self, text: str, *, ok: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #15803d;" if ok else "color: #dc2626;")

    def save(self) -> bool:
        """Save (only a valid file) and apply it to the running listener."""
        problem = self.problem()
        if problem is not None:
            self._show(f"Not saved: {problem}", ok=False)
            if problem.line is not None:
                block = self.text.document().findBlockByLineNumber(problem.line - 1)
                cursor = QTextCursor(block)
                self.text.setTextCursor(cursor)
            return False
        try:
            write_atomically(self.path, self.text.toPlainText())
        except OSError as exc:
            self._show(f"Not saved: could not write {self.path}: {exc}", ok=False)
            return False
        self.saved = True
        self._saved_text = self.text.toPlainText()
        applied = self._apply()
        if applied is None:
            self._show(f"Saved to {self.path}; the listener answers by these rules now.", ok=True)
        else:
            self._show(f"Saved to {self.path}, but not applied yet: {applied}", ok=False)
        return True
