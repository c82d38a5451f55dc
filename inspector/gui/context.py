"""What feature controllers share: core objects, the selection, and the window's services.

A controller gets one :class:`AppContext` instead of the window, so it can tell the user
something (:meth:`~AppContext.notify`), ask (:meth:`~AppContext.confirm`), report an error or
run a job with a progress dialog (:meth:`~AppContext.run_job`) without knowing the window's
widgets, and without reaching into other controllers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QMainWindow, QMessageBox, QProgressDialog, QPushButton

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError
from inspector.core.fluent.profiles import ProfileStore
from inspector.core.fluent.runner import ApiRunner
from inspector.core.followup_history import FollowupHistory
from inspector.core.keys import KeyRing
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui.bridge import CoreBridge
from inspector.gui.commands import CommandRegistry
from inspector.gui.errors import show_error
from inspector.gui.models.capture_table import ID_ROLE, CaptureTableModel
from inspector.gui.settings import Settings
from inspector.gui.widgets.capture_table_view import CaptureTableView
from inspector.gui.widgets.detail_pane import DetailPane
from inspector.gui.workers import Worker, run_in_background

__all__ = ["DETAIL_DELAY_MS", "FOLLOW_DETAIL_MS", "AppContext", "CaptureSelection"]

T = TypeVar("T")

DETAIL_DELAY_MS = 20
"""From a selection change (by the user) to loading the capture into the detail pane."""
FOLLOW_DETAIL_MS = 300
"""While Follow newest moves the selection with each live batch: the detail pane shows the
newest capture at most this often."""


class CaptureSelection:
    """The table's current capture and selected ids, and the detail pane that shows it."""

    def __init__(
        self,
        table: CaptureTableView,
        model: CaptureTableModel,
        detail: DetailPane,
        store: Store,
        on_error: Callable[[str, object], None],
    ) -> None:
        self.table = table
        self.model = model
        self.detail = detail
        self._store = store
        self._on_error = on_error
        self.programmatic = False
        """True while the window (Follow newest, a delete) moves the selection, not the user."""
        self._timer = QTimer(table)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DETAIL_DELAY_MS)
        self._timer.timeout.connect(self._load_detail)
        self._loaded_at = 0.0
        self.follow_detail_ms = FOLLOW_DETAIL_MS
        """How often Follow newest may reload the detail pane (tests change it)."""

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self.programmatic = True
        try:
            self._select(self.model.index(row, 0))
        finally:
            self.programmatic = False

    def select_by_user(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self._select(self.model.index(row, max(self.table.currentIndex().column(), 0)))

    def _select(self, index: QModelIndex) -> None:
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(row).id for row in rows if row < self.model.rowCount()]

    def has_selection(self) -> bool:
        return self.table.selectionModel().hasSelection()

    def has_rows(self) -> bool:
        return self.model.total > 0

    def schedule_detail(self) -> None:
        """Load the new current capture into the detail pane soon (the selection changed)."""
        if self.programmatic:
            # Follow newest moves the selection with every live batch; loading the detail
            # pane (store read, JSON tree, raw text, GraphQL panel) each time would cost the
            # GUI thread several ms per batch. Load the newest at most every follow_detail_ms,
            # without postponing a load already scheduled.
            if not self._timer.isActive():
                since = (time.monotonic() - self._loaded_at) * 1000
                self._timer.start(max(DETAIL_DELAY_MS, int(self.follow_detail_ms - since)))
        else:
            self._timer.start(DETAIL_DELAY_MS)

    def _load_detail(self) -> None:
        index = self.table.currentIndex()
        # No selected row (a filter matching nothing, a click on empty space, a reload): an
        # empty pane, never the capture that was shown before.
        if not index.isValid() or not self.table.selectionModel().hasSelection():
            if self.detail.capture is not None:
                self.detail.set_capture(None)
            return
        capture_id = str(self.model.data(index, ID_ROLE))
        current = self.detail.capture
        if current is not None and current.id == capture_id:
            return
        self._loaded_at = time.monotonic()
        try:
            capture = self._store.get(capture_id)
        except InspectorError as exc:
            self._on_error("Capture store", exc)
            return
        self.detail.set_capture(capture)

    def reload_detail(self) -> None:
        self.detail.set_capture(None)
        self._load_detail()

    def current_capture(self) -> Capture | None:
        """The current capture, loaded now if the detail pane has not caught up yet."""
        self._timer.stop()
        self._load_detail()
        return self.detail.capture


class AppContext:
    """Handed to every controller: the core objects and the window's services."""

    def __init__(
        self,
        window: QMainWindow,
        *,
        store: Store,
        keyring: KeyRing,
        settings: Settings,
        secrets: SecretStore,
        profiles: ProfileStore,
        history: FollowupHistory,
        api_runner: ApiRunner,
        bridge: CoreBridge,
        data_dir: Path,
        commands: CommandRegistry,
        selection: CaptureSelection,
    ) -> None:
        self.window = window
        """The parent of dialogs; controllers do not touch its widgets."""
        self.store = store
        self.keyring = keyring
        self.settings = settings
        self.secrets = secrets
        self.profiles = profiles
        self.history = history
        self.api_runner = api_runner
        self.bridge = bridge
        self.data_dir = data_dir
        self.commands = commands
        self.selection = selection
        self.closed = False
        """Set by the window's shutdown: from then on errors are not shown."""
        self.workers: set[Worker[Any]] = set()
        self._notice_button: QPushButton | None = None
        self._notice_action: Callable[[], object] | None = None

    def notify(self, text: str, timeout_ms: int = 3000) -> None:
        """A transient message in the status bar."""
        self.window.statusBar().showMessage(text, timeout_ms)

    def notify_action(
        self, text: str, label: str, action: Callable[[], object], timeout_ms: int = 10000
    ) -> QPushButton:
        """A transient message with a button next to it ("Open folder"), both gone with the
        message (when it times out or another one replaces it)."""
        bar = self.window.statusBar()
        button = self._notice_button
        if button is None:
            button = self._notice_button = QPushButton(bar)
            button.setObjectName("statusAction")
            button.setFlat(True)
            button.clicked.connect(self._run_notice_action)
            # Permanent widgets stay while a message shows (normal ones are hidden then);
            # first, so the button sits right after the message.
            bar.insertPermanentWidget(0, button)
            bar.messageChanged.connect(
                lambda shown: button.setVisible(bool(shown) and shown == button.property("for"))
            )
        button.setText(label)
        button.setProperty("for", text)
        self._notice_action = action
        bar.showMessage(text, timeout_ms)
        button.show()
        return button

    def _run_notice_action(self) -> None:
        if self._notice_action is not None:
            self._notice_action()

    def confirm(self, title: str, text: str, *, default_yes: bool = False) -> bool:
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        answer = QMessageBox.question(
            self.window, title, text, yes | no, yes if default_yes else no
        )
        return answer == yes

    def show_error(self, title: str, error: object) -> None:
        if self.closed:
            return
        show_error(self.window, title, error if isinstance(error, BaseException) else str(error))

    def track(self, worker: Worker[T]) -> Worker[T]:
        """Keep the worker until it finishes, so shutdown can cancel it."""
        self.workers.add(worker)
        worker.finished.connect(lambda: self.workers.discard(worker))
        return worker

    def cancel_jobs(self) -> None:
        for worker in list(self.workers):
            worker.cancel()

    def run_job(
        self,
        title: str,
        label: str,
        fn: Callable[..., T],
        *args: Any,
        on_result: Callable[[T], None],
        on_cancelled: Callable[[], None] | None = None,
    ) -> Worker[T]:
        """Run ``fn(progress, *args)`` in a worker behind a (cancellable) progress dialog;
        ``on_cancelled`` replaces the plain "cancelled" note (to say what was kept)."""
        dialog = QProgressDialog(label, "Cancel", 0, 0, self.window)
        dialog.setWindowTitle(title)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)

        def progress(done: int, total: int) -> None:
            if total > 0:
                dialog.setMaximum(total)
                dialog.setValue(min(done, total))
            else:
                dialog.setMaximum(0)
                dialog.setLabelText(f"{label} {done:,}")

        def finished() -> None:
            dialog.close()
            dialog.deleteLater()

        worker = run_in_background(
            fn,
            *args,
            on_result=on_result,
            on_error=lambda exc: self.show_error(title, exc),
            on_progress=progress,
            on_finished=finished,
            on_cancelled=on_cancelled or (lambda: self.notify(f"{title}: cancelled", 4000)),
            with_progress=True,
        )
        dialog.canceled.connect(worker.cancel)
        return self.track(worker)
