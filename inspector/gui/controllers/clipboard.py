"""Copy the selected capture: its body, a curl command that replays it, its id."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

from inspector.core.curl import curl_command
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.controllers.listener import ListenerController

__all__ = ["ClipboardController"]


class ClipboardController(QObject):
    def __init__(self, ctx: AppContext, listener: ListenerController) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self._listener = listener
        selected = ctx.selection.has_selection
        ctx.commands.register(
            Command(
                "clipboard.body",
                "Copy body",
                self.copy_body,
                icon="copy",
                tip="Copy the selected capture's body (Ctrl+C)",
                enabled=selected,
                scope="table",
            ),
            Command(
                "clipboard.curl",
                "Copy as cURL",
                self.copy_curl,
                icon="copy",
                tip="A curl command that replays the selected capture byte for byte",
                enabled=selected,
            ),
            Command("clipboard.id", "Copy capture id", self.copy_id, enabled=selected),
        )

    def copy_body(self) -> None:
        capture = self.ctx.selection.current_capture()
        if capture is None:
            return
        QGuiApplication.clipboard().setText(capture.body.decode("utf-8", errors="replace"))
        self.ctx.notify(f"Copied the body ({capture.size:,} bytes)")

    def copy_curl(self) -> None:
        capture = self.ctx.selection.current_capture()
        if capture is None:
            return
        QGuiApplication.clipboard().setText(curl_command(capture, self._listener.base_url()))
        self.ctx.notify("Copied a curl command that replays this capture")

    def copy_id(self) -> None:
        ids = self.ctx.selection.selected_ids()
        if ids:
            QGuiApplication.clipboard().setText("\n".join(ids))
