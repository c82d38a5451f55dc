"""What a run answered: the Result / Raw / History tabs, the status line and error advice."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from inspector.core.fluent.errors import explain_error
from inspector.core.fluent.result import GraphQLResult
from inspector.core.followup_history import FollowupRun, RunStatus
from inspector.gui.widgets.graphql.style import ERROR, MUTED, OK, tint
from inspector.gui.widgets.json_view import JsonView, format_size
from inspector.gui.widgets.raw_view import RawView

__all__ = ["ResultsView"]

_HISTORY_TAB = 2


class ResultsView(QObject):
    """Owns the result widgets; the panel lays out :attr:`box`: the status line (HTTP status,
    time, size) and the errors list above the Result / Raw / History tabs, so what went wrong
    is in view first, however long the result."""

    def __init__(self, history: QWidget, parent: QWidget) -> None:
        super().__init__(parent)
        self._palette_owner = parent
        self.box = QWidget(parent)
        self.box.setObjectName("resultBox")
        self.result_view = JsonView(self.box)
        self.raw_view = RawView(self.box)
        self.tabs = QTabWidget(self.box)
        self.tabs.setObjectName("resultTabs")
        self.tabs.addTab(self.result_view, "Result")
        self.tabs.addTab(self.raw_view, "Raw")
        self.tabs.addTab(history, "History")
        self.status_label = QLabel(self.box)
        self.status_label.setObjectName("statusLine")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors_label = QLabel(self.box)
        self.errors_label.setObjectName("errorExplanations")
        self.errors_label.setWordWrap(True)
        self.errors_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors_label.hide()
        layout = QVBoxLayout(self.box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status_label)
        layout.addWidget(self.errors_label)
        layout.addWidget(self.tabs, 1)

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    def set_status(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        self.status_label.setText(text)
        tint(self.status_label, ERROR if error else (OK if ok else MUTED), self._palette())
        if not error:
            self.errors_label.hide()

    def set_history_count(self, count: int) -> None:
        self.tabs.setTabText(_HISTORY_TAB, f"History ({count})" if count else "History")

    def clear(self) -> None:
        self.result_view.clear()
        self.raw_view.clear()
        self.errors_label.hide()
        self.errors_label.clear()

    def show_result(self, result: GraphQLResult) -> None:
        self._show_payload(result.data, result.errors, result.body)
        parts = [
            f"HTTP {result.status}",
            f"{result.elapsed * 1000:.0f} ms",
            format_size(result.size),
        ]
        if result.errors:
            parts.append(f"{len(result.errors)} error{'s' if len(result.errors) != 1 else ''}")
            if result.data:
                parts.append("partial data")
        else:
            parts.append("ok")
        self.set_status(" · ".join(parts), error=bool(result.errors), ok=not result.errors)
        self._show_errors(result.errors)

    def show_run(self, run: FollowupRun, *, note: str = "") -> None:
        """A saved run, as it answered then; ``note`` says where it comes from."""
        when = run.ran_at.strftime("%Y-%m-%d %H:%M:%S")
        if run.status is RunStatus.FAILED:
            self.clear()
            self.set_status(f"{note}{when} on {run.profile}: {run.message}", error=True)
            return
        self._show_payload(run.result, run.errors)
        http = f"HTTP {run.http_status} · " if run.http_status else ""
        self.set_status(
            f"{note}{when} on {run.profile}: {http}{run.elapsed * 1000:.0f} ms · "
            f"{run.status.label}",
            error=bool(run.errors),
            ok=not run.errors,
        )
        self._show_errors(list(run.errors))

    def _palette(self) -> QPalette:
        # The panel's palette, as before the split: the labels inherit it anyway.
        return self._palette_owner.palette()

    def _show_payload(
        self, data: Any, errors: tuple[Any, ...] | list[Any], received: bytes = b""
    ) -> int:
        payload: dict[str, Any] = {"data": data}
        if errors:
            payload["errors"] = list(errors)
        self.result_view.set_value(payload)
        # Open data -> entity -> its fields: the entity's status is what people look for first.
        self.result_view.tree.expandToDepth(1)
        # The bytes as received when there are some (Pretty indents them), so Raw's size is
        # the status line's; a saved run has only its parsed payload.
        raw = received or json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8")
        self.raw_view.set_body(raw, "application/json")
        self.tabs.setCurrentWidget(self.result_view)
        return len(raw)

    def _show_errors(self, errors: tuple[Any, ...] | list[Any]) -> None:
        lines = []
        for error in errors:
            if not isinstance(error, dict):
                continue
            message = str(error.get("message", "(no message)"))
            path = error.get("path")
            where = f" at {'.'.join(str(p) for p in path)}" if isinstance(path, list) else ""
            lines.append(f"• {message}{where}")
            explanation = explain_error(error)
            if explanation:
                lines.append(f"   → {explanation}")
        self.errors_label.setText("\n".join(lines))
        tint(self.errors_label, ERROR, self._palette())
        self.errors_label.setVisible(bool(lines))
