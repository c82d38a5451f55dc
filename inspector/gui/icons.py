"""The inspector's icons: SVGs in resources/icons, loaded once each."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from inspector.core.resources import resource_path

__all__ = ["ICON_NAMES", "icon"]

ICON_NAMES: tuple[str, ...] = (
    "app",
    "demo",
    "play",
    "stop",
    "copy",
    "trash",
    "filter",
    "key",
    "export",
    "import",
    "send",
    "refresh",
    "settings",
    "follow",
    "clear",
)

_cache: dict[str, QIcon] = {}


def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``. Unknown names raise FileNotFoundError (a bug).

    Needs a QGuiApplication to render; loading is lazy, so it can be called early.
    """
    cached = _cache.get(name)
    if cached is None:
        cached = QIcon(str(resource_path("icons", f"{name}.svg")))
        _cache[name] = cached
    return cached
