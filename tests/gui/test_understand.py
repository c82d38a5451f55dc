"""Understanding a flow in the window: compare two captures, an entity's timeline, payload
problems, and retries folded by event id (real window, real listener, real store)."""

from __future__ import annotations

import json

from PySide6.QtCore import QItemSelection, QItemSelectionModel

from inspector.core.store import Store
from inspector.gui.controllers.groups import format_span
from inspector.gui.mainwindow import MainWindow
from tests.core.test_diff import AFTER, BEFORE
from tests.support.captures import make_capture


def _select_rows(window: MainWindow, *rows: int) -> None:
    selection = QItemSelection()
    for row in rows:
        index = window.model.index(row, 0)
        selection.select(index, index)
    window.table.selectionModel().select(
        selection,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def _compare(qtbot, window: MainWindow, a: bytes, b: bytes):  # type: ignore[no-untyped-def]
    window.store.add(make_capture(body=a))
    window.store.add(make_capture(body=b))
    window.captures.refresh()
    assert window.model.rowCount() == 2
    action = window.commands["diff.compare"]
    _select_rows(window, 0)
    assert not action.isEnabled()
    _select_rows(window, 0, 1)
    assert action.isEnabled()
    window.diff.dialog = None
    action.trigger()
    qtbot.waitUntil(lambda: window.diff.dialog is not None)
    dialog = window.diff.dialog
    assert dialog is not None
    return dialog.view


def test_compare_key_reordered_bodies_shows_no_body_difference(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
) -> None:
    reordered = dict(reversed(list(BEFORE.items())))
    view = _compare(
        qtbot,
        main_window,
        json.dumps(BEFORE, separators=(",", ":")).encode(),
        json.dumps(reordered, indent=4).encode(),
    )
    assert view.summary.text().startswith("No differences in the body")
    assert view.changed_paths() == []
    assert not view.left.highlighted and not view.right.highlighted


def test_compare_the_issues_bodies_shows_exactly_the_expected_paths(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
) -> None:
    view = _compare(qtbot, main_window, json.dumps(BEFORE).encode(), json.dumps(AFTER).encode())
    assert view.changed_paths() == [
        "$.id",
        "$.entityStatus",
        "$.attributes.TrackingNumber",
        "$.items[2].ref",
        "$.meta",
    ]
    assert view.summary.text().startswith("5 differences in the body")
    # A is the older capture; its side highlights the removed $.meta, B's the new number.
    a_text = view.left.toPlainText().splitlines()
    b_text = view.right.toPlainText().splitlines()
    assert any('"meta"' in a_text[line] for line in view.left.highlighted)
    assert any('"TrackingNumber"' in b_text[line] for line in view.right.highlighted)
    # Both captures' verdicts are shown.
    assert "flex.signature" in view.a_label.text() and "fluent-signature" in view.b_label.text()
    # Header differences (Content-Length, the signatures) are listed.
    assert view.headers.rowCount() >= 1


def test_compare_falls_back_to_a_text_diff(qtbot, main_window: MainWindow, store: Store) -> None:  # type: ignore[no-untyped-def]
    view = _compare(qtbot, main_window, b"line one\nline two\n", b"line one\nline 2\n")
    assert "compared as text" in view.summary.text()
    assert list(view.left.highlighted) == [1] and list(view.right.highlighted) == [1]


def test_timeline_of_the_selected_rows_root_in_time_order_with_an_anomaly(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
) -> None:
    from tests.core.test_timeline import _capture

    store.add_many(
        [
            _capture(30, "FULFILMENT", "F-1", "CREATED", root="R-9"),
            _capture(10, "ORDER", "R-9", "CREATED", root="R-9"),
            _capture(15, "ORDER", "R-2", "CREATED", root="R-2"),
            _capture(20, "ORDER", "R-9", "BOOKED", root="R-9"),
            _capture(25, "FULFILMENT", "F-2", "CREATED", root="R-2"),
            _capture(40, "ORDER", "R-9", "CREATED", root="R-9"),  # backwards
            _capture(50, "ARTICLE", "A-1", "CREATED", root="R-9"),
        ]
    )
    main_window.captures.refresh()
    window = main_window
    row = next(
        r for r in range(window.model.rowCount()) if window.model.row_at(r).entity_ref == "F-1"
    )
    window.selection.select_by_user(row)
    action = window.commands["timeline.show"]
    assert action.text() == "Timeline of R-9" and action.isEnabled()
    menu_titles = [a.text() for a in window.commands.context_menu(window).actions()]
    assert "Timeline of R-9" in menu_titles
    action.trigger()
    qtbot.waitUntil(lambda: window.timeline.dialog is not None)
    dialog = window.timeline.dialog
    assert dialog is not None
    view = dialog.view
    entities = [view.table.item(r, 4).text() for r in range(view.table.rowCount())]  # type: ignore[union-attr]
    assert entities == ["ORDER R-9", "ORDER R-9", "FULFILMENT F-1", "ORDER R-9", "ARTICLE A-1"]
    assert view.timeline is not None
    times = [e.row.received_at for e in view.timeline.entries]
    assert times == sorted(times)
    assert [view.table.item(r, 2).text() for r in range(2)] == ["", "+10.0 s"]  # type: ignore[union-attr]
    # The order going back from BOOKED to CREATED is marked on its row.
    assert view.flagged_rows() == [3]
    assert "BOOKED to CREATED" in view.table.item(3, view.table.columnCount() - 1).text()  # type: ignore[union-attr]
    assert view.anomalies.count() == 1
    assert "Timeline of R-9" in view.title.text()
    # Double-click goes to the capture in the main table.
    view.activated.emit(view.timeline.entries[0].row.id)
    current = window.model.row_at(window.table.currentIndex().row())
    assert current.entity_ref == "R-9" and current.entity_status == "CREATED"


def test_payload_problems_badge_quick_filter_and_summary_line(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
) -> None:
    from inspector.gui.models.capture_table import COL_EVENT
    from tests.support.captures import event_body

    good = json.loads(event_body())
    no_retailer = {k: v for k, v in good.items() if k != "retailerId"}
    window = main_window
    store.add(make_capture(body=json.dumps(good).encode()))
    bad = store.add(make_capture(body=json.dumps(no_retailer).encode()))
    store.add(make_capture(body=b"plain text"))
    window.captures.refresh()
    assert window.model.rowCount() == 3
    row = window.model.row_of(bad.id)
    assert row is not None
    index = window.model.index(row, COL_EVENT)
    assert str(index.data()).startswith("⚠ ")
    assert "retailerId" in str(index.data(0x03))  # ToolTipRole

    bar = window.filter_bar
    bar.payload_problems.setChecked(True)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.model.row_at(0).id == bad.id
    qtbot.waitUntil(lambda: bar.counts_text() == "1 of 3 captures")  # counted after the rows

    window.selection.select_by_user(0)
    # The detail pane follows the selection on a timer: wait for this capture, not any.
    qtbot.waitUntil(
        lambda: window.detail.capture is not None and window.detail.capture.id == bad.id
    )
    line = window.detail.summary.payload
    assert line.isVisibleTo(window.detail.summary)
    assert "Payload:" in line.text() and "retailerId" in line.text()
    bar.payload_problems.setChecked(False)
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)
    good_row = next(r for r in range(3) if not window.model.row_at(r).payload_problems and r != row)
    window.selection.select_by_user(good_row)
    qtbot.waitUntil(
        lambda: window.detail.capture is not None and window.detail.capture.id != bad.id
    )
    captured = window.detail.capture
    assert captured is not None
    if captured.body.startswith(b"{"):
        assert "follows Fluent's Event model" in line.text()
    else:
        assert not line.isVisibleTo(window.detail.summary)


def test_a_retry_storm_over_http_folds_into_one_group_row(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
) -> None:
    import time

    from tests.gui.conftest import post
    from tests.support.captures import event_body

    window = main_window
    storm = event_body(id="STORM-1")
    other = event_body(id="CALM-1")
    assert post(window, other).status_code == 200
    for pause in (0.0, 0.2, 0.4, 0.0):
        time.sleep(pause)
        assert post(window, storm).status_code == 200
    qtbot.waitUntil(lambda: window.model.total == 5, timeout=10_000)
    box = window.filter_bar.group_retries
    box.setChecked(True)
    assert window.commands["captures.group_retries"].isChecked()
    assert window.settings.group_retries
    groups = window.groups
    qtbot.waitUntil(lambda: groups.model.rowCount() == 2, timeout=10_000)
    assert window.stack.currentWidget() is groups.view
    top = groups.row_texts(0)
    assert top[3] == "4×"
    group = groups.groups[0]
    assert group.event_id == "STORM-1"
    assert len(group.gaps) == 3
    assert group.gaps[0].total_seconds() >= 0.19 and group.gaps[1].total_seconds() >= 0.39
    assert top[5] == ", ".join(format_span(g) for g in group.gaps)
    assert top[6] == "200, 200, 200, 200"
    assert top[7] == "✓ all verified" or "not verified" in top[7]
    # Expandable: one child per attempt with its answer.
    parent = groups.model.index(0, 0)
    assert groups.model.rowCount(parent) == 4
    assert groups.row_texts(3, parent)[1] == "attempt 4"
    assert groups.row_texts(3, parent)[6] == "200"
    assert groups.row_texts(1)[3] == "1×"
    # A retry arriving later refreshes the group.
    assert post(window, storm).status_code == 200
    qtbot.waitUntil(lambda: groups.row_texts(0)[3] == "5×", timeout=10_000)
    # Off again: the capture table with its Attempts column is back.
    box.setChecked(False)
    assert window.stack.currentWidget() is window.table
    assert not window.settings.group_retries
