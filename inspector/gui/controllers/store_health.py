"""The store's quick check at startup, and the dialog that offers to move a damaged store aside.

The window opens its store unchecked (``Store.open(check=False)``): the check reads every
page (~0.5 s per 100,000 captures), far too long for the GUI thread at cold start. It runs
here in a worker instead. Nothing is acknowledged meanwhile into a damaged store: the
listener child runs the same check before it answers anything, and refuses to start.

When the check fails, the dialog says what, where and what to do, and offers *Move aside and
start fresh* (the window closes, every file of the store is renamed next to it, and
:func:`inspector.gui.app.run` opens a fresh store in a new window) or *Quit*. Nothing is
deleted; the dialog names where the files go and how to salvage their captures.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton

from inspector.core.errors import InspectorError
from inspector.core.store import health
from inspector.gui.context import AppContext
from inspector.gui.workers import Worker, run_in_background

__all__ = ["StoreHealthController"]


class StoreHealthController(QObject):
    damaged = Signal(str)
    """The problem SQLite reported, when the check fails (the dialog is then open)."""
    moved_aside = Signal(list)
    """The (old, new) paths of the files moved; the window has closed."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self.moved: list[tuple[Path, Path]] = []
        """Set after a move aside: the app opens a fresh store and window."""
        self.dialog: QMessageBox | None = None
        self.move_button: QPushButton | None = None
        self.quit_button: QPushButton | None = None

    def check(self) -> Worker[health.Health]:
        """Run the quick check in the background; the dialog opens when it fails."""
        # No time budget here: off the GUI thread it may take as long as the file needs.
        return run_in_background(
            self.ctx.store.check_health,
            None,
            on_result=self._checked,
            on_error=self._failed,
        )

    def _checked(self, result: health.Health) -> None:
        if result.problems and not self.ctx.closed:
            self.ask(result.problems[0])

    def _failed(self, error: BaseException) -> None:
        if self.ctx.closed:
            return
        if isinstance(error, InspectorError):
            # Damage bad enough that reading fails outright is damage too.
            self.ask(getattr(error, "problem", "") or str(error))
        else:
            raise error

    def ask(self, problem: str) -> QMessageBox:
        path = self.ctx.store.path
        files = health.existing_files(path) or [path]
        listed = "\n".join(f"  {f}" for f in files)
        box = QMessageBox(self.ctx.window)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("The capture store is damaged")
        box.setText(
            f"The capture store {path} is damaged (SQLite says: {problem}).\n\n"
            "Nothing will be stored into it: the listener does not start on a damaged store."
        )
        box.setInformativeText(
            f"Move aside and start fresh renames its files, in {path.parent}:\n{listed}\n"
            f"to {path.stem}-damaged-<UTC time>{path.suffix}… next to them - nothing is "
            "deleted - and starts a new, empty store.\n\n"
            "Get the captures that can still be read out of the moved file with\n"
            "  fluent-inspector export --salvage --store-file FILE -o salvaged.jsonl"
        )
        self.move_button = box.addButton(
            "Move aside and start fresh", QMessageBox.ButtonRole.AcceptRole
        )
        self.quit_button = box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(self.quit_button)
        box.finished.connect(lambda _: self._answered(box))
        self.dialog = box
        box.open()
        self.damaged.emit(problem)
        return box

    def _answered(self, box: QMessageBox) -> None:
        self.dialog = None
        if box.clickedButton() is self.move_button:
            self.move_aside()
        else:
            self.ctx.window.close()

    def move_aside(self) -> None:
        """Close the window and the store, then rename the store's files aside."""
        store = self.ctx.store
        # The window first (it stops the listener and every job reading the store), then
        # the store: no connection of this process may still point at the moved file.
        self.ctx.window.close()
        store.close()
        try:
            self.moved = health.move_aside(store.path)
        except InspectorError as exc:
            QMessageBox.critical(None, "Fluent Webhook Inspector", str(exc))
            return
        self.moved_aside.emit(self.moved)
