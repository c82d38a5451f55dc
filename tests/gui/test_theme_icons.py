from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from inspector.gui import theme
from inspector.gui.icons import ICON_NAMES, icon
from inspector.gui.theme import apply_theme, clamp_zoom, is_dark, set_zoom


@pytest.fixture
def restore_app(qapp: QApplication) -> Iterator[QApplication]:
    """apply_theme/set_zoom change process-wide state; put it back for the other tests."""
    palette = QPalette(qapp.palette())
    font = QFont(qapp.font())
    style = qapp.style().name()
    try:
        yield qapp
    finally:
        theme.set_zoom(qapp, 1.0)
        qapp.setFont(font)
        qapp.setStyle(style)
        qapp.setPalette(palette)
        QGuiApplication.styleHints().unsetColorScheme()


def test_dark_light_and_system(restore_app: QApplication) -> None:
    app = restore_app
    original = QPalette(app.palette())
    assert apply_theme(app, "dark") == "dark"
    assert app.style().name().lower() == "fusion"
    assert is_dark(app.palette())
    text = app.palette().color(QPalette.ColorRole.Text)
    base = app.palette().color(QPalette.ColorRole.Base)
    assert theme.contrast_ratio(text, base) >= 7

    assert apply_theme(app, "light") == "light"
    assert not is_dark(app.palette())

    assert apply_theme(app, "system") == "system"
    assert app.palette().color(QPalette.ColorRole.Window) == original.color(
        QPalette.ColorRole.Window
    )
    assert apply_theme(app, "neon") == "system"


def test_is_dark() -> None:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#ffffff"))
    assert not is_dark(palette)
    palette.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    assert is_dark(palette)


def test_zoom_scales_the_application_font_and_clamps(restore_app: QApplication) -> None:
    app = restore_app
    set_zoom(app, 1.0)
    base = app.font().pointSizeF()
    assert base > 0
    assert set_zoom(app, 1.5) == 1.5
    assert app.font().pointSizeF() == pytest.approx(base * 1.5)
    # Repeated zooming is relative to the original font, never compounding.
    set_zoom(app, 1.5)
    assert app.font().pointSizeF() == pytest.approx(base * 1.5)
    assert set_zoom(app, 10) == 2.5
    assert app.font().pointSizeF() == pytest.approx(base * 2.5)
    assert set_zoom(app, 0.01) == 0.6
    assert set_zoom(app, 1.0) == 1.0
    assert app.font().pointSizeF() == pytest.approx(base)
    assert clamp_zoom(1.2) == 1.2


@pytest.mark.parametrize("name", ICON_NAMES)
def test_every_icon_renders(qapp, name: str) -> None:
    ic = icon(name)
    assert not ic.isNull()
    assert icon(name) is ic  # cached
    image = ic.pixmap(QSize(24, 24)).toImage()
    painted = sum(
        1
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha()
    )
    assert painted > 20, f"{name}.svg rendered (almost) nothing"


def test_unknown_icon_is_a_clear_error(qapp) -> None:
    with pytest.raises(FileNotFoundError):
        icon("no-such-icon")
