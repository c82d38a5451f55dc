"""The left side of the panel: the query editor with its problem list, and the variables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import QueryTemplateError
from inspector.core.events import EventSummary
from inspector.core.fluent.queries import template_for, variables_for
from inspector.gui.widgets.graphql.editor import GraphQLEditor
from inspector.gui.widgets.graphql.language import Diagnostic, operation_at
from inspector.gui.widgets.graphql.style import ERROR, MUTED, colour, tint
from inspector.gui.widgets.highlighter import JsonHighlighter

__all__ = ["Prefill", "QueryEditors"]


@dataclass(frozen=True, slots=True)
class Prefill:
    """What :meth:`QueryEditors.prefill` did, for the panel's context note."""

    note: str
    error: bool = False
    templated: bool = False
    """The editors now hold the event's template (even if its variables are incomplete)."""


class QueryEditors(QSplitter):
    """Query above variables; problems under the query, the JSON check beside the variables."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.editor = GraphQLEditor(self)
        self.editor.diagnostics_changed.connect(self._show_diagnostics)
        self.diagnostics_list = QListWidget(self)
        self.diagnostics_list.setObjectName("diagnostics")
        self.diagnostics_list.setMaximumHeight(70)
        self.diagnostics_list.itemActivated.connect(self._go_to_diagnostic)
        self.diagnostics_list.itemClicked.connect(self._go_to_diagnostic)
        self.diagnostics_list.hide()

        self.variables_edit = QPlainTextEdit(self)
        self.variables_edit.setObjectName("variablesEditor")
        self.variables_edit.setFont(self.editor.font())
        self.variables_edit.setPlaceholderText('{"id": "123"}')
        self.variables_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._variables_highlighter = JsonHighlighter(
            self.variables_edit.document(), self.variables_edit.palette()
        )
        self.variables_edit.textChanged.connect(self._check_variables)
        self.variables_note = QLabel(self)
        self.variables_note.setObjectName("variablesNote")

        query_box = QWidget(self)
        query_layout = QVBoxLayout(query_box)
        query_layout.setContentsMargins(0, 0, 0, 0)
        query_layout.addWidget(self.editor, 1)
        query_layout.addWidget(self.diagnostics_list)
        variables_box = QWidget(self)
        variables_layout = QVBoxLayout(variables_box)
        variables_layout.setContentsMargins(0, 0, 0, 0)
        variables_header = QHBoxLayout()
        variables_header.addWidget(QLabel("Variables (JSON)", self))
        variables_header.addStretch(1)
        variables_header.addWidget(self.variables_note)
        variables_layout.addLayout(variables_header)
        variables_layout.addWidget(self.variables_edit, 1)
        self.addWidget(query_box)
        self.addWidget(variables_box)
        self.setStretchFactor(0, 4)
        self.setStretchFactor(1, 1)
        self.setChildrenCollapsible(False)
        self.setSizes([560, 140])
        self._check_variables()

    def prefill(self, event: EventSummary | None) -> Prefill:
        """Put the event's follow-up query and variables in, and say what is ready.

        Leaves the editors alone when there is no template for the event.
        """
        if event is None:
            return Prefill("This capture is not a Fluent event: write a query yourself.")
        try:
            template = template_for(event.entity_type)
        except QueryTemplateError as exc:
            return Prefill(str(exc), error=True)
        what = f"{template.entity_type} {event.entity_ref or event.entity_id}".strip()
        try:
            variables: dict[str, Any] = variables_for(event)
        except QueryTemplateError as exc:
            self.set_query(template.query_text, None)
            return Prefill(f"{what}: {exc}", error=True, templated=True)
        self.set_query(template.query_text, variables)
        status = f" (webhook said {event.entity_status})" if event.entity_status else ""
        return Prefill(
            f"{what}{status}: {template.name} via {template.root_field} is ready; "
            "Ctrl+Enter runs it.",
            templated=True,
        )

    def query(self) -> str:
        return self.editor.toPlainText()

    def set_query(self, query: str, variables: dict[str, Any] | None) -> None:
        self.editor.setPlainText(query)
        self.variables_edit.setPlainText(json.dumps(variables or {}, indent=2))

    def operation_name(self) -> str | None:
        """With several operations in the query, the one holding the cursor."""
        return operation_at(self.query(), self.editor.textCursor().position())

    def variables(self) -> dict[str, Any]:
        """The variables as a dict; raises ValueError with a message for the user."""
        text = self.variables_edit.toPlainText().strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"Variables are not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}); fix them or clear the box."
            ) from exc
        if not isinstance(value, dict):
            raise ValueError('Variables must be a JSON object, like {"id": "123"}.')
        return value

    def _check_variables(self) -> None:
        try:
            self.variables()
        except ValueError as exc:
            self.variables_note.setText(str(exc).split(";")[0])
            tint(self.variables_note, ERROR)
            self.variables_note.setProperty("valid", False)
        else:
            self.variables_note.setText("valid JSON")
            tint(self.variables_note, MUTED)
            self.variables_note.setProperty("valid", True)

    def _show_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics_list.clear()
        for diagnostic in diagnostics:
            item = QListWidgetItem(str(diagnostic))
            item.setData(Qt.ItemDataRole.UserRole, (diagnostic.line, diagnostic.column))
            item.setForeground(QColor(colour(self.palette(), ERROR)))
            self.diagnostics_list.addItem(item)
        self.diagnostics_list.setVisible(bool(diagnostics))

    def _go_to_diagnostic(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(where, tuple | list) and len(where) == 2:
            self.editor.go_to(int(where[0]), int(where[1]))
