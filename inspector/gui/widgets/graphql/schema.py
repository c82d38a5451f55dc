"""Which schema the editor completes and validates against, and what the panel says about it.

Each profile's own schema comes from introspection (disk-cached by core). Until it answers,
when the account refuses introspection, or with no profile at all, Fluent's bundled 23.10.1
schema stands in, and the label says so: completion is then Fluent's standard, which an
account's own schema may extend. Both schemas are built off the GUI thread (by the
:class:`~inspector.gui.followup.FollowupRunner`), so choosing a profile never blocks it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from inspector.core.errors import InspectorError
from inspector.core.fluent.errors import IntrospectionError
from inspector.core.fluent.profiles import Profile
from inspector.core.fluent.schema import BUNDLED_SCHEMA_LABEL
from inspector.gui import startup
from inspector.gui.followup import FollowupRunner
from inspector.gui.widgets.graphql.style import ERROR, MUTED, WARNING, tint

if TYPE_CHECKING:
    from graphql import GraphQLSchema  # imported when a schema is built, not at start

__all__ = ["BUNDLED_SOURCE", "LOADING_SOURCE", "SchemaBanner", "SchemaSource", "live_source"]

log = logging.getLogger(__name__)

BUNDLED_SOURCE = f"schema: {BUNDLED_SCHEMA_LABEL} — your account may differ"
LOADING_SOURCE = "schema: loading…"


def live_source(profile: str) -> str:
    return f"schema: live from {profile}"


class SchemaSource(QObject):
    """The current profile's live schema when it has one, else the bundled one.

    ``changed`` follows every change of :attr:`schema`, :attr:`label` or :attr:`note`.
    """

    changed = Signal()

    def __init__(self, api: FollowupRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self._live: dict[str, GraphQLSchema | None] = {}
        """Per profile: its schema, or None when it could not be had (the note says why)."""
        self._notes: dict[str, str] = {}
        self._tickets: dict[int, str] = {}
        self._bundled: GraphQLSchema | None = None
        self._profile = ""
        self.note = ""
        self.note_is_problem = False
        """True when the note reports a failure (shown in the error colour)."""
        api.schema_ready.connect(self._ready)
        api.schema_failed.connect(self._failed)
        self._bundled_ticket: int | None = None
        self._bundled_waiting = True
        """The bundled schema is asked for once the window has painted (launch speed)."""
        startup.after_first_paint(self._load_bundled)

    def _load_bundled(self) -> None:
        self._bundled_waiting = False
        self._bundled_ticket = self.api.load_bundled_schema()

    # -- what the editor and the panel read ------------------------------------------------

    @property
    def schema(self) -> GraphQLSchema | None:
        live = self._live.get(self._profile)
        return live if live is not None else self._bundled

    @property
    def label(self) -> str:
        if self._live.get(self._profile) is not None:
            return live_source(self._profile)
        if self._bundled is not None:
            return BUNDLED_SOURCE
        loading = self._bundled_ticket is not None or self._bundled_waiting
        return LOADING_SOURCE if loading else "schema: none"

    @property
    def is_live(self) -> bool:
        return self._live.get(self._profile) is not None

    def answered(self, profile: str) -> bool:
        """Whether ``profile``'s introspection has answered (with a schema or a refusal)."""
        return profile in self._live

    # -- what the panel tells it -----------------------------------------------------------

    def select(self, profile: Profile | None) -> None:
        """Follow the panel's profile: its known schema, or introspect it in the background."""
        if profile is None:
            self._profile = ""
            self._set_note("No connection profile: add one with Manage… to run queries.")
            return
        self._profile = profile.name
        if profile.name in self._live:
            refused = self._live[profile.name] is None
            self._set_note(self._notes.get(profile.name, ""), problem=refused)
            return
        self._set_note(f"Loading the schema of {profile.name}…")
        self._fetch(profile, refresh=False)

    def refresh(self, profile: Profile) -> None:
        """Introspect again, bypassing the disk cache (the current schema stays meanwhile)."""
        self._live.pop(profile.name, None)
        self._fetch(profile, refresh=True)

    def forget(self, name: str) -> None:
        """Drop what is known of ``name`` (its settings or secrets changed)."""
        self._live.pop(name, None)
        self._notes.pop(name, None)

    def _fetch(self, profile: Profile, *, refresh: bool) -> None:
        self._tickets[self.api.fetch_schema(profile, refresh=refresh)] = profile.name

    # -- answers ---------------------------------------------------------------------------

    def _ready(self, ticket: int, name: str, schema: object) -> None:
        from graphql import GraphQLSchema  # loaded already: it built ``schema``

        assert isinstance(schema, GraphQLSchema)
        if ticket == self._bundled_ticket:
            self._bundled_ticket = None
            self._bundled = schema
            self.changed.emit()
            return
        if self._tickets.pop(ticket, None) is None:
            return
        self._live[name] = schema
        self._notes[name] = (
            f"Schema of {name}: {len(schema.type_map)} types; completion (Ctrl+Space) "
            "and validation are on."
        )
        if name == self._profile:
            self._set_note(self._notes[name])

    def _failed(self, ticket: int, name: str, error: object) -> None:
        if ticket == self._bundled_ticket:
            self._bundled_ticket = None
            log.error(
                "the bundled schema could not be built",
                exc_info=error if isinstance(error, BaseException) else None,
            )
            self.changed.emit()
            return
        if self._tickets.pop(ticket, None) is None:
            return
        fallback = f"completion and validation use the {BUNDLED_SCHEMA_LABEL} schema"
        if isinstance(error, IntrospectionError):
            note = (
                f"{name} refuses schema introspection, so {fallback} instead; running queries, "
                "history and everything else work."
            )
        elif isinstance(error, InspectorError):
            note = f"The schema of {name} could not be loaded: {error} Meanwhile {fallback}."
        else:
            log.error(
                "schema load failed", exc_info=error if isinstance(error, BaseException) else None
            )
            note = f"The schema of {name} could not be loaded ({error!r}); {fallback}."
        self._live[name] = None
        self._notes[name] = note
        if name == self._profile:
            self._set_note(note, problem=True)

    def _set_note(self, text: str, *, problem: bool = False) -> None:
        self.note = text
        self.note_is_problem = problem
        self.changed.emit()


class SchemaBanner(QWidget):
    """One line under the toolbar: which schema completion uses, and what happened to it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The source is its own label, so it stays in view whatever the note says.
        self.source_label = QLabel(self)
        self.source_label.setObjectName("schemaSource")
        # Both wrap: the bundled schema's label alone is wider than a narrow detail pane.
        self.source_label.setWordWrap(True)
        self.note_label = QLabel(self)
        self.note_label.setObjectName("schemaNote")
        self.note_label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_label)
        layout.addWidget(self.note_label, 1)

    def show_source(self, source: SchemaSource) -> None:
        self.source_label.setText(source.label)
        # Amber until the account's own schema is in use: completion may differ from it.
        tint(self.source_label, MUTED if source.is_live else WARNING)
        self.note_label.setText(source.note)
        tint(self.note_label, ERROR if source.note_is_problem else MUTED)
