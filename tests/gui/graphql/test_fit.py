"""The GraphQL tab fits the real window at common sizes, and never moves the splitter."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget

from inspector.core.sandbox import Sandbox
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui.mainwindow import MainWindow
from inspector.gui.widgets.detail_pane import TAB_GRAPHQL
from tests.gui.graphql.conftest import WindowFactory, add_sandbox_profile
from tests.support.captures import make_capture


def in_view(window: MainWindow, widget: QWidget) -> bool:
    """``widget`` is shown whole inside the GraphQL tab's visible area."""
    viewport = window.graphql_scroll.viewport()
    area = QRect(viewport.mapTo(window, QPoint(0, 0)), viewport.size())
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    return widget.isVisible() and area.contains(rect)


def show_order_result(qtbot, window: MainWindow, sandbox: Sandbox, store: Store) -> None:  # type: ignore[no-untyped-def]
    """Select an order's capture, open the GraphQL tab and run its follow-up."""
    order_id = next(iter(sandbox.data.orders))
    store.add(make_capture(entity_type="ORDER", entity_id=order_id))
    window.captures.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    window.selection.select_row(0)
    window.followup.focus_graphql()
    panel = window.graphql
    qtbot.waitUntil(lambda: panel.schema_source.answered("sb"), timeout=15_000)
    with qtbot.waitSignal(panel.run_finished, timeout=15_000):
        assert panel.run()


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)])
def test_the_graphql_tab_fits_without_horizontal_scrolling(  # type: ignore[no-untyped-def]
    qtbot,
    open_window: WindowFactory,
    store: Store,
    data_dir: Path,
    secrets: SecretStore,
    sandbox: Sandbox,
    size: tuple[int, int],
) -> None:
    add_sandbox_profile(data_dir, secrets, sandbox)
    window = open_window(size)
    show_order_result(qtbot, window, sandbox, store)
    assert window.size().toTuple() == size
    assert window.detail.currentIndex() == TAB_GRAPHQL
    qtbot.wait(50)  # let the scroll area lay out the answer
    assert not window.graphql_scroll.horizontalScrollBar().isVisible()
    panel = window.graphql
    assert panel.width() <= window.graphql_scroll.viewport().width()
    for widget in (
        panel.auto_button,
        panel.controls.run_button,
        panel.curl_button,
        panel.results.result_view.copy_path_button,
        panel.results.status_label,
    ):
        assert in_view(window, widget), widget
    # What the answer was comes first, above the tree however long the result.
    status = panel.results.status_label
    assert status.text().startswith("HTTP 200 · ")
    assert status.mapTo(panel, QPoint(0, 0)).y() < panel.results.tabs.mapTo(panel, QPoint(0, 0)).y()
    # One size everywhere: the Raw tab holds the bytes as received, the size the status says.
    raw_size = panel.results.raw_view.size_label.text()
    assert raw_size and f" · {raw_size} · " in status.text()


def test_the_splitter_stays_where_the_user_put_it_across_tabs(
    qtbot, sandbox_window: MainWindow, store: Store
) -> None:  # type: ignore[no-untyped-def]
    window = sandbox_window
    store.add(make_capture(entity_type="ORDER"))
    window.captures.refresh()
    qtbot.waitUntil(lambda: window.detail.isVisible() and window.splitter.sizes()[1] > 0)
    window.detail.setCurrentIndex(0)
    at_start = window.splitter.sizes()
    window.followup.focus_graphql()
    assert window.splitter.sizes() == at_start  # opening the tab takes no width
    window.splitter.setSizes([at_start[0] - 150, at_start[1] + 150])  # the user drags it
    dragged = window.splitter.sizes()
    for tab in (0, TAB_GRAPHQL, 1, TAB_GRAPHQL):
        window.detail.setCurrentIndex(tab)
        qtbot.wait(10)
        assert window.splitter.sizes() == dragged, tab
    window.followup.focus_graphql()  # Ctrl+G on the tab already shown
    assert window.splitter.sizes() == dragged
