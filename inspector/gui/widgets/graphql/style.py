"""Text colours the GraphQL panel's notes share: error, ok and muted, for light and dark themes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

__all__ = ["ERROR", "MUTED", "OK", "WARNING", "colour", "tint"]

# (light background, dark background)
ERROR = ("#b3261e", "#ff8a80")
OK = ("#1b5e20", "#a5d6a7")
MUTED = ("#5f6368", "#a0a0a0")
WARNING = ("#8a5300", "#ffcc80")


def colour(palette: QPalette, pair: tuple[str, str]) -> str:
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return QColor(pair[1] if dark else pair[0]).name()


def tint(widget: QWidget, pair: tuple[str, str], palette: QPalette | None = None) -> None:
    """Colour ``widget``'s text by ``pair``, picked for ``palette`` (default: the widget's)."""
    chosen = colour(palette if palette is not None else widget.palette(), pair)
    widget.setStyleSheet(f"color: {chosen};")
