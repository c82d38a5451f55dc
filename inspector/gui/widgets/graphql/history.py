"""The panel's History tab: the saved runs of the selected capture, to load or run again."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.followup_history import FollowupRun

__all__ = ["HistoryView"]


class HistoryView(QWidget):
    """Lists runs; the panel reads them from the history store and acts on the requests."""

    load_requested = Signal(int)
    """The id of the run to put back in the editors (double-click or Load)."""
    rerun_requested = Signal(int)
    """The id of the run to load and run again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("historyTree")
        self.tree.setHeaderLabels(["When (UTC)", "Profile", "Result", "Time"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemDoubleClicked.connect(lambda _item, _col: self._request(self.load_requested))
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.load_button = QPushButton("Load", self)
        self.load_button.setToolTip("Put this run's query and variables in the editor")
        self.load_button.clicked.connect(lambda: self._request(self.load_requested))
        self.rerun_button = QPushButton("Run again", self)
        self.rerun_button.clicked.connect(lambda: self._request(self.rerun_requested))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tree, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.rerun_button)
        layout.addLayout(buttons)
        self._update_buttons()

    def show_runs(self, runs: list[FollowupRun]) -> None:
        self.tree.clear()
        for run in runs:
            result = run.status.label
            if run.http_status:
                result = f"HTTP {run.http_status} {result}"
            item = QTreeWidgetItem(
                [
                    run.ran_at.strftime("%Y-%m-%d %H:%M:%S"),
                    run.profile,
                    result,
                    f"{run.elapsed * 1000:.0f} ms",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, run.id)
            if run.message:
                item.setToolTip(2, run.message)
            self.tree.addTopLevelItem(item)
        self._update_buttons()

    def selected_run_id(self) -> int | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        run_id = item.data(0, Qt.ItemDataRole.UserRole)
        return run_id if isinstance(run_id, int) else None

    def set_busy(self, busy: bool) -> None:
        """While a run is going, "Run again" waits (one manual run at a time)."""
        self._busy = busy
        self._update_buttons()

    def _request(self, signal: SignalInstance) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            signal.emit(run_id)

    def _update_buttons(self) -> None:
        selected = self.tree.currentItem() is not None
        self.load_button.setEnabled(selected)
        self.rerun_button.setEnabled(selected and not self._busy)
