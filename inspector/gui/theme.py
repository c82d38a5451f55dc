"""Light/dark palettes, verdict colours and the zoom (application font scale)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from inspector.core.capture import Verdict
from inspector.core.redact import REDACTED, Badge
from inspector.gui.settings import MAX_ZOOM, MIN_ZOOM, THEMES

__all__ = [
    "MAX_ZOOM",
    "MIN_ZOOM",
    "ZOOM_STEP",
    "apply_theme",
    "clamp_zoom",
    "contrast_ratio",
    "dark_palette",
    "is_dark",
    "set_zoom",
    "verdict_colors",
]

ZOOM_STEP = 0.1

# (background, foreground) per verdict. Light: pale tint + deep text; dark: deep tint + pale
# text. Every pair is at least WCAG AA (4.5:1) - tests check it - and the hues differ enough
# that the badge symbol, not colour alone, is never the only cue anyway.
# "redacted" (an imported redacted export, whose signature no longer applies) is a calm
# blue: it is not a failure, so never the invalid red.
_LIGHT: dict[Badge, tuple[str, str]] = {
    REDACTED: ("#e0f2fe", "#075985"),
    Verdict.VALID: ("#d1fadf", "#14532d"),
    Verdict.INVALID: ("#fee2e2", "#991b1b"),
    Verdict.MISSING: ("#e5e7eb", "#374151"),
    Verdict.MALFORMED: ("#ffedd5", "#9a3412"),
    Verdict.NO_KEY: ("#ede9fe", "#5b21b6"),
}
_DARK: dict[Badge, tuple[str, str]] = {
    REDACTED: ("#0c4a6e", "#bae6fd"),
    Verdict.VALID: ("#14532d", "#bbf7d0"),
    Verdict.INVALID: ("#7f1d1d", "#fecaca"),
    Verdict.MISSING: ("#374151", "#e5e7eb"),
    Verdict.MALFORMED: ("#7c2d12", "#fed7aa"),
    Verdict.NO_KEY: ("#4c1d95", "#ddd6fe"),
}
_VERDICT_COLORS: dict[tuple[Badge, bool], tuple[QColor, QColor]] = {}


def is_dark(palette: QPalette) -> bool:
    """True when the palette's window colour is dark."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def verdict_colors(verdict: Badge, dark: bool) -> tuple[QColor, QColor]:
    """(background, foreground) of a verdict badge. Returns shared QColors: copy to modify."""
    key = (verdict, dark)
    colors = _VERDICT_COLORS.get(key)
    if colors is None:
        bg, fg = (_DARK if dark else _LIGHT)[verdict]
        colors = (QColor(bg), QColor(fg))
        _VERDICT_COLORS[key] = colors
    return colors


def _luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio between two colours (1.0 .. 21.0)."""
    la, lb = _luminance(a), _luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def dark_palette() -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    text = QColor("#dfe1e5")
    window = QColor("#2b2d30")
    base = QColor("#1e1f22")
    colors = {
        role.Window: window,
        role.WindowText: text,
        role.Base: base,
        role.AlternateBase: QColor("#26282b"),
        role.ToolTipBase: QColor("#393b40"),
        role.ToolTipText: text,
        role.PlaceholderText: QColor("#8c8f94"),
        role.Text: text,
        role.Button: QColor("#393b40"),
        role.ButtonText: text,
        role.BrightText: QColor("#ff6b6b"),
        role.Light: QColor("#4e5157"),
        role.Midlight: QColor("#43454a"),
        role.Mid: QColor("#35373b"),
        role.Dark: QColor("#1a1b1e"),
        role.Shadow: QColor("#0d0e10"),
        role.Highlight: QColor("#2f65ca"),
        role.HighlightedText: QColor("#ffffff"),
        role.Link: QColor("#6ea8fe"),
        role.LinkVisited: QColor("#b48ef0"),
    }
    for r, c in colors.items():
        palette.setColor(r, c)
    disabled = QColor("#6f737a")
    for r in (role.WindowText, role.Text, role.ButtonText, role.HighlightedText):
        palette.setColor(group.Disabled, r, disabled)
    palette.setColor(group.Disabled, role.Highlight, QColor("#3a3d42"))
    palette.setColor(group.Disabled, role.Base, window)
    return palette


# The palette the platform gave us before any theme was applied ("system" restores it).
_system_palette: QPalette | None = None


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply "system", "light" or "dark" (anything else means "system"); returns the applied.

    Fusion is used in every mode: it honours palettes fully on every platform, so the three
    modes look alike apart from colour.
    """
    global _system_palette
    if theme not in THEMES:
        theme = "system"
    if _system_palette is None:
        _system_palette = QPalette(app.palette())
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None and app.style().name().lower() != "fusion":
        app.setStyle(fusion)
    hints = QGuiApplication.styleHints()
    scheme = {
        "system": Qt.ColorScheme.Unknown,
        "light": Qt.ColorScheme.Light,
        "dark": Qt.ColorScheme.Dark,
    }[theme]
    # Tells the platform too (native title bars on Windows/macOS follow it).
    if scheme is Qt.ColorScheme.Unknown:
        hints.unsetColorScheme()
    else:
        hints.setColorScheme(scheme)
    if theme == "dark":
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(_system_palette)
    return theme


def clamp_zoom(factor: float) -> float:
    return min(max(float(factor), MIN_ZOOM), MAX_ZOOM)


# The application font before any zoom, so repeated zooming never compounds rounding.
_base_font: QFont | None = None


def set_zoom(app: QApplication, factor: float) -> float:
    """Scale the application font to ``factor`` x the original size; returns the clamped factor.

    Widgets that set their own font (e.g. monospace views) must rescale it themselves;
    they can read the factor back from the return value or from Settings.zoom.
    """
    global _base_font
    if _base_font is None:
        _base_font = QFont(app.font())
    factor = clamp_zoom(factor)
    font = QFont(_base_font)
    if _base_font.pointSizeF() > 0:
        font.setPointSizeF(_base_font.pointSizeF() * factor)
    elif _base_font.pixelSize() > 0:
        font.setPixelSize(max(1, round(_base_font.pixelSize() * factor)))
    app.setFont(font)
    return factor
