from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QStyleFactory, QStyleOptionViewItem, QTableView

from inspector.core.capture import Verdict
from inspector.core.redact import REDACTED
from inspector.gui.delegates import VERDICT_ROLE, VerdictBadgeDelegate
from inspector.gui.delegates.verdict_badge import verdict_from_data
from inspector.gui.theme import contrast_ratio, dark_palette, is_dark, verdict_colors


def _view(qtbot, palette: QPalette, width: int = 130) -> tuple[QTableView, QStandardItemModel]:
    model = QStandardItemModel(len(Verdict), 3)
    model.setHorizontalHeaderLabels(["flex", "fluent", "narrow"])
    for row, verdict in enumerate(Verdict):
        for col in range(3):
            item = QStandardItem(verdict.label)
            item.setData(verdict, VERDICT_ROLE)
            item.setData(f"{verdict.label}: model tooltip", Qt.ItemDataRole.ToolTipRole)
            model.setItem(row, col, item)
    view = QTableView()
    qtbot.addWidget(view)
    view.setStyle(QStyleFactory.create("Fusion"))
    view.setPalette(palette)
    view.setModel(model)
    delegate = VerdictBadgeDelegate(view)
    view.setItemDelegate(delegate)
    view.setColumnWidth(0, width)
    view.setColumnWidth(1, width)
    view.setColumnWidth(2, 34)  # too narrow for labels: symbol only
    view.resize(width * 2 + 34 + 60, 40 + 30 * len(Verdict))
    view.show()
    qtbot.waitExposed(view)
    return view, model


def _light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    assert style is not None
    return style.standardPalette()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_badges_render_with_colour(qtbot, dark: bool) -> None:
    palette = dark_palette() if dark else _light_palette()
    view, model = _view(qtbot, palette)
    pixmap = view.grab()
    name = "dark" if dark else "light"
    assert pixmap.save(f"/tmp/verdict_badges_{name}.png")
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB32)
    offset = view.viewport().mapTo(view, QPoint(0, 0))
    for row, verdict in enumerate(Verdict):
        bg, _fg = verdict_colors(verdict, dark)
        for col in range(3):
            rect = view.visualRect(model.index(row, col)).translated(offset)
            # The pill starts a few pixels in from the left; sample its body near the left end.
            sample = QColor(image.pixel(rect.x() + 8, rect.center().y()))
            assert _close(sample, bg), (verdict, col, sample.name(), bg.name())


def _close(a: QColor, b: QColor, tolerance: int = 12) -> bool:
    return (
        abs(a.red() - b.red()) <= tolerance
        and abs(a.green() - b.green()) <= tolerance
        and abs(a.blue() - b.blue()) <= tolerance
    )


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_verdict_colours_are_readable(dark: bool) -> None:
    palette = dark_palette() if dark else _light_palette()
    assert is_dark(palette) is dark
    seen = set()
    for verdict in (*Verdict, REDACTED):
        bg, fg = verdict_colors(verdict, dark)
        assert contrast_ratio(bg, fg) >= 4.5, verdict
        seen.add(bg.name())
    assert len(seen) == len(Verdict) + 1  # distinct per verdict, and "redacted" is none of them


def test_size_hint_fits_the_widest_badge(qtbot) -> None:
    view, model = _view(qtbot, _light_palette())
    delegate = view.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(view)
    hint = delegate.sizeHint(option, model.index(0, 0))
    assert 40 < hint.width() < 200
    assert view.fontMetrics().height() <= hint.height() < 60


def test_without_verdict_falls_back_to_default_painting(qtbot) -> None:
    model = QStandardItemModel(1, 1)
    model.setItem(0, 0, QStandardItem("plain"))
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegate(VerdictBadgeDelegate(view))
    view.show()
    qtbot.waitExposed(view)
    view.grab()  # must not raise
    option = QStyleOptionViewItem()
    option.initFrom(view)
    assert view.itemDelegate().sizeHint(option, model.index(0, 0)).isValid()


def test_verdict_from_data() -> None:
    assert verdict_from_data(Verdict.NO_KEY) is Verdict.NO_KEY
    assert verdict_from_data("invalid") is Verdict.INVALID
    assert verdict_from_data("nonsense") is None
    assert verdict_from_data(None) is None


def test_badges_are_drawn_from_a_small_cache_and_follow_selection_and_palette(qtbot) -> None:
    view, model = _view(qtbot, _light_palette())
    delegate = view.itemDelegate()
    assert isinstance(delegate, VerdictBadgeDelegate)
    first = view.grab().toImage()
    looks = len(delegate._cache)
    # one look per verdict and column width, at most (selection and focus add a few)
    assert 0 < looks <= 3 * len(Verdict)
    again = view.grab().toImage()
    assert again == first  # the cached pixmaps paint exactly what was rendered
    assert len(delegate._cache) == looks  # repaints add nothing

    # A selected row gets the style's highlight behind the badge; the badge keeps its colour.
    view.selectRow(0)
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    offset = view.viewport().mapTo(view, QPoint(0, 0))
    rect = view.visualRect(model.index(0, 0)).translated(offset)
    highlight = view.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    edge = QColor(image.pixel(rect.right() - 2, rect.center().y()))
    assert _close(edge, highlight, 40), (edge.name(), highlight.name())
    bg, _fg = verdict_colors(Verdict.VALID, False)
    assert _close(QColor(image.pixel(rect.x() + 8, rect.center().y())), bg)

    # A palette change (theme switch) is a new look, not a stale light pixmap.
    view.clearSelection()
    view.setPalette(dark_palette())
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    for row, verdict in enumerate(Verdict):
        rect = view.visualRect(model.index(row, 1)).translated(offset)
        dark_bg, _ = verdict_colors(verdict, True)
        sample = QColor(image.pixel(rect.x() + 8, rect.center().y()))
        assert _close(sample, dark_bg), (verdict, sample.name(), dark_bg.name())
