"""Issue 9, items 4-9 in the real window: sorting from the store, column menu, counts,
the empty detail pane, focus, tab arrows, zoom, the title and export feedback."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton

from inspector.core.capture import Verdict
from inspector.core.store import Store
from inspector.gui.mainwindow import MainWindow
from inspector.gui.models.capture_table import (
    COL_EVENT,
    COL_PATH,
    COL_RESPONSE,
    COL_SIZE,
    COL_TIME,
)
from inspector.gui.widgets.detail_pane import TAB_JSON, TAB_RAW, TAB_SUMMARY
from tests.support.captures import event_body, make_capture


def _fill(store: Store) -> None:
    for i, size in enumerate((300, 10, 5000, 42)):
        store.add(
            make_capture(
                body=event_body(entityRef=f"HD_{i}", attributes={"pad": "x" * size}),
                entity_type="ORDER" if i % 2 else "FULFILMENT",
            )
        )
    store.add(make_capture(body=b"plain words", fluent=Verdict.MISSING, target="/plain"))


def _refresh(qtbot, window: MainWindow, store: Store) -> None:  # type: ignore[no-untyped-def]
    _fill(store)
    window.captures.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)


def test_header_click_sorts_in_the_store_with_indicator(
    qtbot, main_window: MainWindow, store: Store
) -> None:  # type: ignore[no-untyped-def]
    _refresh(qtbot, main_window, store)
    header = main_window.table.horizontalHeader()
    assert header.isSortIndicatorShown()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        COL_TIME,
        Qt.SortOrder.DescendingOrder,
    )
    x = header.sectionViewportPosition(COL_SIZE) + 5
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert header.sortIndicatorSection() == COL_SIZE
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder  # biggest first
    sizes = [main_window.model.row_at(r).size for r in range(5)]
    assert sizes == sorted(sizes, reverse=True)
    assert main_window.model.order.key == "size"
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    sizes = [main_window.model.row_at(r).size for r in range(5)]
    assert sizes == sorted(sizes)
    # A live capture lands in its place in the sorted order.
    store.add(make_capture(body=event_body(attributes={"pad": "y" * 100})))
    main_window.model.flush()
    sizes = [main_window.model.row_at(r).size for r in range(main_window.model.rowCount())]
    assert len(sizes) == 6 and sizes == sorted(sizes)


def test_path_response_size_visible_at_1600_and_non_events_say_so(
    qtbot, main_window: MainWindow, store: Store
) -> None:  # type: ignore[no-untyped-def]
    main_window.resize(1600, 1000)
    _refresh(qtbot, main_window, store)
    qtbot.wait(50)
    table = main_window.table
    width = table.viewport().width()
    header = table.horizontalHeader()
    for column in (COL_PATH, COL_RESPONSE, COL_SIZE):
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert not header.isSectionHidden(column)
        assert right <= width, f"column {column} ends at {right} > {width}"
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle
    plain = next(r for r in range(5) if main_window.model.row_at(r).path == "/plain")
    text = main_window.model.index(plain, COL_EVENT).data()
    assert text == "— not a Fluent event (json)"
    tip = main_window.model.index(plain, COL_PATH).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "/plain"


def test_column_menu_hides_and_remembers(qtbot, main_window: MainWindow, store: Store) -> None:  # type: ignore[no-untyped-def]
    menu = main_window.table.column_menu()
    size_action = next(a for a in menu.actions() if a.text() == "Size")
    size_action.trigger()
    assert main_window.table.isColumnHidden(COL_SIZE)
    saved = main_window.settings.table_header_state
    assert saved is not None
    main_window.table.horizontalHeader().restoreState(saved)
    assert main_window.table.isColumnHidden(COL_SIZE)
    next(a for a in main_window.table.column_menu().actions() if a.text() == "Size").trigger()
    assert not main_window.table.isColumnHidden(COL_SIZE)


def test_quick_filter_counts_follow_the_other_filters(
    qtbot, main_window: MainWindow, store: Store
) -> None:  # type: ignore[no-untyped-def]
    _refresh(qtbot, main_window, store)
    bar = main_window.filter_bar
    with qtbot.waitSignal(bar.counts_updated, timeout=5000):
        bar.set_text("HD_1")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    texts = [bar.entity_type.itemText(i) for i in range(bar.entity_type.count())]
    assert "ORDER  (1)" in texts  # not the store-wide count
    assert all("FULFILMENT" not in t for t in texts)
    signature = [bar.signature.itemText(i) for i in range(bar.signature.count())]
    assert signature[0] == "All signatures  (1)"
    assert "Both valid  (1)" in signature


def test_detail_pane_empties_when_nothing_is_selected(
    qtbot, main_window: MainWindow, store: Store
) -> None:  # type: ignore[no-untyped-def]
    _refresh(qtbot, main_window, store)
    detail = main_window.detail
    main_window.selection.select_by_user(0)
    qtbot.waitUntil(lambda: detail.capture is not None)
    assert not detail.hint.isVisible()
    main_window.filter_bar.set_text("nothing-matches-this")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 0)
    qtbot.waitUntil(lambda: detail.capture is None)
    detail.setCurrentIndex(TAB_SUMMARY)
    assert detail.hint.isVisible() and "No capture selected" in detail.hint.text()
    main_window.filter_bar.set_text("")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 5)
    main_window.selection.select_by_user(1)
    qtbot.waitUntil(lambda: detail.capture is not None)
    main_window.table.clearSelection()  # what a click on empty space does
    qtbot.waitUntil(lambda: detail.capture is None)


def test_focus_is_visible_and_arrows_move_between_tabs(
    qtbot, main_window: MainWindow, store: Store
) -> None:  # type: ignore[no-untyped-def]
    _refresh(qtbot, main_window, store)
    main_window.activateWindow()
    main_window.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: main_window.focus_ring.widget() is main_window.table)
    ring = main_window.focus_ring
    assert ring.isVisible()
    # Seen on screen, over the table: the window's own pixels at the table's left edge.
    qtbot.wait(50)
    left = main_window.table.mapTo(main_window, QPoint(0, main_window.table.height() // 2))
    image = main_window.grab().toImage()
    assert image.pixelColor(left.x(), left.y()) == ring.color()
    bar = main_window.detail.tabBar()
    main_window.detail.setCurrentIndex(TAB_JSON)
    bar.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: ring.widget() is bar)
    qtbot.keyClick(bar, Qt.Key.Key_Right)
    assert main_window.detail.currentIndex() == TAB_RAW
    qtbot.keyClick(bar, Qt.Key.Key_Left)
    assert main_window.detail.currentIndex() == TAB_JSON


def test_zoom_widens_columns_and_title_names_the_url(qtbot, main_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    before = main_window.table.columnWidth(COL_EVENT)
    main_window.view.set_zoom(1.5)
    try:
        assert main_window.table.columnWidth(COL_EVENT) >= before * 1.4
    finally:
        main_window.view.set_zoom(1.0)
    title = main_window.windowTitle()
    assert title == f"Fluent Webhook Inspector — {main_window.listener.url()}"
    assert title.count("Fluent Webhook Inspector") == 1


def test_export_says_how_many_and_where_with_open_folder(
    qtbot, main_window: MainWindow, store: Store, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _refresh(qtbot, main_window, store)
    target = tmp_path / "out" / "captures.jsonl"
    target.parent.mkdir()
    worker = main_window.transfer.export_to(target, "jsonl")
    qtbot.waitUntil(lambda: worker.is_done, timeout=10_000)
    bar = main_window.statusBar()
    qtbot.waitUntil(lambda: bar.currentMessage() == f"Exported 5 captures to {target}")
    button = bar.findChild(QPushButton, "statusAction")
    assert button is not None and button.isVisible() and button.text() == "Open folder"
    bar.showMessage("something else")
    assert not button.isVisible()
