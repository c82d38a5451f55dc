"""The public keys that verify signatures: the Keys dialog, and re-verification after it."""

from __future__ import annotations

from PySide6.QtCore import QObject

from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.controllers.listener import ListenerController
from inspector.gui.controllers.transfer import TransferController
from inspector.gui.widgets.keys_dialog import KeysDialog

__all__ = ["KeysController"]


class KeysController(QObject):
    def __init__(
        self, ctx: AppContext, listener: ListenerController, transfer: TransferController
    ) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self._listener = listener
        self._transfer = transfer
        ctx.commands.register(
            Command(
                "keys.manage",
                "Keys…",
                self.open_dialog,
                icon="key",
                tip="Public keys that verify the signatures (Ctrl+K)",
            )
        )

    def open_dialog(self) -> None:
        dialog = KeysDialog(self.ctx.keyring, self.ctx.window)
        dialog.exec()
        if not dialog.changed:
            return
        self._listener.reload_keys()
        if self.ctx.selection.has_rows() and self.ctx.confirm(
            "Re-verify captures",
            "The keys changed. Check every stored capture again with the current keys?",
            default_yes=True,
        ):
            self._transfer.reverify_all()
