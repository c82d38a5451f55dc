"""Running the editor's query: the Run/Cancel controls, and one manual run at a time.

:class:`ManualRun` starts a call on the :class:`~inspector.gui.followup.FollowupRunner`,
saves its outcome with the capture it was run for (even when the user has moved on to
another capture meanwhile), and reports it; :class:`RunControls` are its buttons.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from inspector.core.errors import InspectorError
from inspector.core.fluent.profiles import Profile
from inspector.core.fluent.result import GraphQLResult
from inspector.core.followup_history import FollowupHistory, FollowupRun, RunStatus, result_fields
from inspector.gui.followup import FollowupRunner

__all__ = ["ManualRun", "RunContext", "RunControls"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunContext:
    """What a run was started with; its outcome is saved under ``capture_id``."""

    capture_id: str | None
    profile: str
    query: str
    variables: dict[str, Any]
    started: float


class RunControls(QWidget):
    """Run, Cancel and a busy bar; the panel connects the buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Run the query on the selected profile (Ctrl+Enter)")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Abort the running request")
        self.cancel_button.setEnabled(False)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("busyBar")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.run_button)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.busy_bar)

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.busy_bar.setVisible(busy)


class ManualRun(QObject):
    """The user's run: at most one at a time, saved with its capture when it ends."""

    busy_changed = Signal(bool)
    succeeded = Signal(object, object, object)
    """(RunContext, GraphQLResult, FollowupRun or None when not saved)"""
    failed = Signal(object, str, object)
    """(RunContext, message for the user, FollowupRun or None when not saved)"""
    cancelled = Signal()
    save_failed = Signal(str)
    """The message when the outcome could not be saved (the outcome is still reported)."""

    def __init__(
        self, api: FollowupRunner, history: FollowupHistory, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.api = api
        self.history = history
        self._ticket: int | None = None
        self._context: RunContext | None = None
        api.finished.connect(self._done)
        api.failed.connect(self._failed)
        api.cancelled.connect(self._cancelled)

    @property
    def busy(self) -> bool:
        return self._ticket is not None

    def start(
        self,
        profile: Profile,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
        capture_id: str | None,
    ) -> bool:
        """Start the run in the background; False when one is already going."""
        if self._ticket is not None:
            return False
        self._context = RunContext(capture_id, profile.name, query, variables, time.monotonic())
        self._ticket = self.api.execute(profile, query, variables, operation_name)
        self.busy_changed.emit(True)
        return True

    def cancel(self) -> None:
        if self._ticket is not None and not self.api.cancel(self._ticket):
            log.debug("cancel: the request had already finished")

    def _finish(self, ticket: int) -> RunContext | None:
        # Tickets of auto follow-ups and schema loads pass through the same runner.
        if ticket != self._ticket:
            return None
        self._ticket = None
        self.busy_changed.emit(False)
        context, self._context = self._context, None
        return context

    def _done(self, ticket: int, result: object) -> None:
        context = self._finish(ticket)
        if context is None:
            return
        assert isinstance(result, GraphQLResult)
        run = self._save(context, **result_fields(result))
        self.succeeded.emit(context, result, run)

    def _failed(self, ticket: int, error: object) -> None:
        context = self._finish(ticket)
        if context is None:
            return
        if isinstance(error, InspectorError):
            message = str(error)
        else:
            log.error(
                "follow-up run failed unexpectedly: %r",
                error,
                exc_info=error if isinstance(error, BaseException) else None,
            )
            message = (
                f"Something went wrong inside the inspector ({type(error).__name__}); the "
                "log file has the details. Try again."
            )
        http_status = getattr(error, "status", None)
        run = self._save(
            context,
            status=RunStatus.FAILED,
            elapsed=time.monotonic() - context.started,
            http_status=http_status if isinstance(http_status, int) else None,
            message=message,
        )
        self.failed.emit(context, message, run)

    def _cancelled(self, ticket: int) -> None:
        if self._finish(ticket) is not None:
            self.cancelled.emit()

    def _save(self, context: RunContext, **fields: Any) -> FollowupRun | None:
        if context.capture_id is None:
            return None
        try:
            return self.history.add(
                context.capture_id, context.profile, context.query, context.variables, **fields
            )
        except InspectorError as exc:
            self.save_failed.emit(f"The run could not be saved: {exc}")
            return None
