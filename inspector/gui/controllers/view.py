"""Zoom and theme."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from inspector.gui import theme
from inspector.gui.commands import Command
from inspector.gui.context import AppContext

__all__ = ["THEMES", "ViewController"]

THEMES = (("system", "Follow system"), ("light", "Light"), ("dark", "Dark"))


class ViewController(QObject):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        ctx.commands.register(
            Command("view.zoom_in", "Zoom in", lambda: self.zoom_by(theme.ZOOM_STEP)),
            Command("view.zoom_out", "Zoom out", lambda: self.zoom_by(-theme.ZOOM_STEP)),
            Command("view.zoom_reset", "Actual size", lambda: self.set_zoom(1.0)),
            *(
                Command(
                    f"view.theme.{name}",
                    label,
                    lambda _checked=False, n=name: self.set_theme(n),
                    checkable=True,
                    group="theme",
                    user_only=True,
                )
                for name, label in THEMES
            ),
        )

    def restore(self) -> None:
        """Check the saved theme (already applied by the app before the window opened)."""
        action = self.ctx.commands.actions.get(f"view.theme.{self.ctx.settings.theme}")
        if action is not None:
            action.setChecked(True)

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.ctx.settings.zoom + step)

    def set_zoom(self, factor: float) -> None:
        before = self.ctx.settings.zoom
        app = QApplication.instance()
        if isinstance(app, QApplication):
            factor = theme.set_zoom(app, factor)
        self.ctx.settings.zoom = factor
        table = self.ctx.selection.table
        table.update_row_height()
        if before > 0 and factor != before:
            table.scale_columns(factor / before)
        self.ctx.notify(f"Zoom {factor:.0%}", 2000)

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            applied = theme.apply_theme(app, name)
            self.ctx.settings.theme = applied  # type: ignore[assignment]
            self.ctx.selection.reload_detail()
