"""Acting on webhooks from the window: replay captures (Replay dialog) and edit the
response rules the listener answers by (applied live)."""

from __future__ import annotations

from PySide6.QtCore import QObject

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.controllers.listener import ListenerController, rules_path
from inspector.gui.widgets.replay_dialog import ReplayDialog
from inspector.gui.widgets.rules_editor import RulesEditor

__all__ = ["ActController"]


class ActController(QObject):
    def __init__(self, ctx: AppContext, listener: ListenerController) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self._listener = listener
        self.replay_dialog: ReplayDialog | None = None
        self.rules_editor: RulesEditor | None = None
        ctx.commands.register(
            Command(
                "act.replay",
                "Replay…",
                self.open_replay,
                icon="send",
                tip="Send the selected captures again, byte-exact or with an edited, "
                "re-signed body",
                enabled=ctx.selection.has_selection,
            ),
            Command(
                "act.rules",
                "Response rules…",
                self.open_rules,
                icon="settings",
                tip="Scripted answers (errors, delays, hang-ups, forwarding) that make "
                "Fluent's retries happen; applied without restarting the listener",
            ),
        )

    def _selected(self) -> list[Capture]:
        found = []
        for capture_id in self.ctx.selection.selected_ids():
            try:
                capture = self.ctx.store.get(capture_id)
            except InspectorError as exc:
                self.ctx.show_error("Replay", exc)
                return []
            if capture is not None:
                found.append(capture)
        return found

    def open_replay(self) -> ReplayDialog | None:
        captures = self._selected()
        if not captures:
            self.ctx.notify("Select the captures to replay first.")
            return None
        dialog = ReplayDialog(
            self.ctx.store,
            captures,
            self.ctx.settings.replay_target,
            self.ctx.window,
            track=self.ctx.track,
        )
        dialog.replayed.connect(self._replayed)
        dialog.target.editingFinished.connect(
            lambda: setattr(self.ctx.settings, "replay_target", dialog.target.text().strip())
        )
        self.replay_dialog = dialog
        dialog.show()
        return dialog

    def _replayed(self, capture_ids: list[str]) -> None:
        self.ctx.settings.replay_target = (
            self.replay_dialog.target.text().strip() if self.replay_dialog else ""
        )
        current = self.ctx.selection.detail.capture
        if current is not None and current.id in capture_ids:
            self.ctx.selection.reload_detail()

    def open_rules(self) -> RulesEditor:
        editor = RulesEditor(rules_path(self.ctx), self._listener.reload_rules, self.ctx.window)
        self.rules_editor = editor
        editor.show()
        return editor
