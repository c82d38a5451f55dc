"""CaptureTableModel over a real SQLite store: paging, filters, live batches, selection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from inspector.core.capture import Verdict
from inspector.core.errors import InspectorError
from inspector.core.store import CaptureQuery, Store
from inspector.gui.delegates.verdict_badge import VERDICT_ROLE
from inspector.gui.models.capture_table import (
    COL_ATTEMPT,
    COL_ENTITY_NOW,
    COL_EVENT,
    COL_FLEX,
    COL_FLUENT,
    COL_SIZE,
    ID_ROLE,
    PAGE_SIZE,
    CaptureTableModel,
    row_cells,
)
from inspector.gui.widgets.filter_bar import FilterBar
from tests.support.captures import make_capture


@pytest.fixture
def filled(store: Store) -> Store:
    captures = [
        make_capture(event_name=f"EV{i % 3}", entity_ref=f"REF-{i:04d}") for i in range(450)
    ]
    assert store.add_many(captures) == 450
    return store


@pytest.fixture
def model(qtbot, filled: Store) -> Iterator[CaptureTableModel]:  # type: ignore[no-untyped-def]
    table = CaptureTableModel(filled, batch_interval_ms=10)
    yield table
    table.deleteLater()


def test_pages_lazily_newest_first(qtmodeltester, model: CaptureTableModel) -> None:
    assert model.rowCount() == PAGE_SIZE
    assert model.total == 450
    seqs = [model.row_at(i).seq for i in range(model.rowCount())]
    assert seqs == sorted(seqs, reverse=True)
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE_SIZE
    qtmodeltester.check(model)  # the C++ tester fetches the rest itself
    assert model.rowCount() == 450
    assert not model.canFetchMore(QModelIndex())
    all_seqs = [model.row_at(i).seq for i in range(450)]
    assert len(set(all_seqs)) == 450
    assert all_seqs == sorted(all_seqs, reverse=True)


def test_cells_are_cached_and_badges_expose_verdicts(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    stored = store.add(make_capture(flex=Verdict.MISSING, fluent=Verdict.VALID, key="prod"))
    model = CaptureTableModel(store)
    index = model.index(0, COL_FLUENT)
    assert index.data(VERDICT_ROLE) is Verdict.VALID
    assert "prod" in index.data(Qt.ItemDataRole.ToolTipRole)
    flex = model.index(0, COL_FLEX)
    assert flex.data(VERDICT_ROLE) is Verdict.MISSING
    assert "proxy" in flex.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, COL_EVENT).data() == "CREATE"
    assert model.index(0, COL_SIZE).data().endswith(("B", "KB"))
    assert model.index(0, 0).data(ID_ROLE) == stored.id
    assert model.index(0, COL_ATTEMPT).data() == "1/1"
    # data() answers from the tuple built once at load time (Entity now: from a dict)
    cells = row_cells(model.row_at(0))
    assert tuple(text for c, text in enumerate(cells) if c != COL_ENTITY_NOW) == tuple(
        model.index(0, c).data() for c in range(model.columnCount()) if c != COL_ENTITY_NOW
    )
    assert model.index(0, COL_ENTITY_NOW).data() == ""


def test_live_batches_insert_at_top_with_modeltester(
    qtbot,
    qtmodeltester,
    model: CaptureTableModel,
    filled: Store,  # type: ignore[no-untyped-def]
) -> None:
    qtmodeltester.check(model)  # stays connected: checks every insert below
    before = model.rowCount()
    inserted: list[int] = []
    model.rows_inserted_at_top.connect(inserted.append)
    new = [filled.add(make_capture(event_name="LIVE")) for _ in range(5)]
    for capture in new:
        model.capture_added(capture)
    qtbot.waitUntil(lambda: model.rowCount() == before + 5)
    assert inserted == [5]  # one batch, not five inserts
    assert [model.row_at(i).id for i in range(5)] == [c.id for c in reversed(new)]
    assert model.total == 455
    # another batch while the tester watches
    more = [filled.add(make_capture()) for _ in range(3)]
    for capture in more:
        model.capture_added(capture)
    qtbot.waitUntil(lambda: model.rowCount() == before + 8)
    assert model.row_at(0).id == more[-1].id


def test_live_rows_respect_the_filter(qtbot, model: CaptureTableModel, filled: Store) -> None:  # type: ignore[no-untyped-def]
    model.set_query(CaptureQuery(event_names=frozenset({"WANTED"})))
    assert model.rowCount() == 0
    kept = filled.add(make_capture(event_name="WANTED"))
    dropped = filled.add(make_capture(event_name="OTHER"))
    model.capture_added(kept)
    model.capture_added(dropped)
    qtbot.waitUntil(lambda: model.total == 452)
    assert [model.row_at(i).id for i in range(model.rowCount())] == [kept.id]
    assert model.matching == 1


def test_retry_updates_attempt_totals(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    first = store.add(make_capture(event_id="evt-1"))
    model = CaptureTableModel(store, batch_interval_ms=5)
    assert model.index(0, COL_ATTEMPT).data() == "1/1"
    second = store.add(make_capture(event_id="evt-1"))
    model.capture_added(second)
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert model.index(0, COL_ATTEMPT).data() == "2/2"
    assert model.row_at(1).id == first.id
    assert model.index(1, COL_ATTEMPT).data() == "1/2"


def test_filter_text_and_counts(qtbot, model: CaptureTableModel) -> None:  # type: ignore[no-untyped-def]
    counts: list[tuple[int, int]] = []
    model.counts_changed.connect(lambda m, t: counts.append((m, t)))
    model.set_query(CaptureQuery(text="ref-0007"))
    assert model.rowCount() == 1
    assert counts[-1] == (1, 450)
    model.set_query(CaptureQuery(event_names=frozenset({"EV1"})))
    assert counts[-1] == (150, 450)
    assert model.rowCount() == PAGE_SIZE or model.rowCount() == 150
    model.set_query(CaptureQuery())
    assert counts[-1] == (450, 450)


def test_filter_bar_debounces_and_builds_query(qtbot, filled: Store) -> None:  # type: ignore[no-untyped-def]
    bar = FilterBar(filled)
    qtbot.addWidget(bar)
    queries: list[CaptureQuery] = []
    bar.query_changed.connect(queries.append)
    qtbot.keyClicks(bar.text_edit, "REF-01")
    assert queries == []  # nothing until the typing pauses
    with qtbot.waitSignal(bar.counts_updated, timeout=5000):
        qtbot.waitUntil(lambda: len(queries) == 1)
    assert queries[0].text == "REF-01"
    # Counts follow the text filter: REF-0100..REF-0199, a third of them EV2.
    index = bar.event_name.findData("EV2")
    assert index > 0 and bar.event_name.itemText(index) == "EV2  (33)"
    bar.event_name.setCurrentIndex(index)
    assert queries[-1].event_names == frozenset({"EV2"})
    bar.signature.setCurrentIndex(
        bar.signature.findText("fluent-signature not valid", Qt.MatchFlag.MatchStartsWith)
    )
    assert Verdict.VALID not in queries[-1].fluent and queries[-1].fluent
    assert queries[-1].flex == frozenset()
    bar.set_counts(3, 450)
    assert bar.counts_text() == "3 of 450 captures"


def test_remove_ids_and_clear(qtbot, model: CaptureTableModel, filled: Store) -> None:  # type: ignore[no-untyped-def]
    ids = [model.row_at(i).id for i in (0, 1, 5)]
    assert model.remove_ids(ids) == 3
    assert model.rowCount() == PAGE_SIZE - 3
    assert model.total == 447
    assert all(filled.get(i) is None for i in ids)
    model.clear_all()
    assert model.rowCount() == 0 and model.total == 0


def test_selection_and_viewport_survive_live_rows(
    qtbot, model: CaptureTableModel, filled: Store
) -> None:  # type: ignore[no-untyped-def]
    from inspector.gui.mainwindow import CaptureTableView

    view = CaptureTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(800, 300)
    view.show()
    qtbot.waitExposed(view)
    model.rowsAboutToBeInserted.connect(lambda *_: view.note_before_insert())
    model.rows_inserted_at_top.connect(view.keep_viewport)
    view.selectionModel().setCurrentIndex(
        model.index(40, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    view.scrollTo(model.index(40, 0), QTableView.ScrollHint.PositionAtTop)
    selected_id = model.row_at(40).id
    top_id = model.row_at(view.rowAt(0)).id
    new = [filled.add(make_capture()) for _ in range(4)]
    for capture in new:
        model.capture_added(capture)
    qtbot.waitUntil(lambda: model.rowCount() == PAGE_SIZE + 4)
    rows = view.selectionModel().selectedRows()
    assert [model.row_at(i.row()).id for i in rows] == [selected_id]
    assert view.currentIndex().row() == 44
    assert model.row_at(view.rowAt(0)).id == top_id  # the viewport did not jump


def test_store_errors_become_signals_not_exceptions(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = Store(tmp_path / "broken.sqlite3")
    model = CaptureTableModel(broken)
    errors: list[object] = []
    model.error.connect(errors.append)
    broken.close()
    model.reload()  # a closed store raises StoreError; the model reports it instead
    assert model.rowCount() == 0
    assert errors and all(isinstance(e, InspectorError) for e in errors)


def test_entity_now_column_from_follow_ups_and_saved_runs(
    qtbot, qtmodeltester, store: Store
) -> None:  # type: ignore[no-untyped-def]
    first = store.add(make_capture(entity_type="ORDER", entity_ref="HD_1"))
    second = store.add(make_capture(entity_type="ORDER", entity_ref="HD_2"))
    saved = {first.id: "BOOKED"}
    asked: list[str] = []

    calls: list[int] = []

    def lookup(rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        asked.extend(row.id for row in rows)
        return {row.id: saved[row.id] for row in rows if row.id in saved}

    model = CaptureTableModel(store, status_lookup=lookup, batch_interval_ms=10)
    qtmodeltester.check(model)
    assert model.headerData(COL_ENTITY_NOW, Qt.Orientation.Horizontal) == "Entity now"
    row_of = {model.row_at(r).id: r for r in range(model.rowCount())}
    assert model.index(row_of[first.id], COL_ENTITY_NOW).data() == "BOOKED"
    assert model.index(row_of[second.id], COL_ENTITY_NOW).data() == ""
    assert sorted(asked) == sorted([first.id, second.id])
    assert calls == [2]  # one lookup for the whole page, not one per row

    cell = model.index(row_of[second.id], COL_ENTITY_NOW)
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.set_entity_status(second.id, "COMPLETE")
    assert changed.args[0] == cell and changed.args[1] == cell
    assert cell.data() == "COMPLETE"
    assert "COMPLETE" in cell.data(Qt.ItemDataRole.ToolTipRole)
    model.set_entity_status(first.id, "error")
    assert model.index(row_of[first.id], COL_ENTITY_NOW).data(Qt.ItemDataRole.ForegroundRole)

    # a status for a row not loaded yet shows once the row arrives; rows are asked only once
    third = make_capture(entity_type="FULFILMENT", entity_ref="FF_3")
    model.set_entity_status(third.id, "PICKED")
    store.add(third)
    model.capture_added(third)
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    assert model.index(0, COL_ENTITY_NOW).data() == "PICKED"
    asked.clear()
    model.reload()
    assert third.id not in asked and not asked
    qtmodeltester.check(model)

    model.remove_ids([second.id])
    assert model.entity_status(second.id) is None


def test_total_is_exact_when_since_sees_a_row_before_its_notification(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    """The listener commits, then notifies; a tick in between reads the row with since()
    before its notification arrives. The late notification must not count it again."""
    model = CaptureTableModel(store, batch_interval_ms=5)
    first = store.add(make_capture())
    second = store.add(make_capture())  # committed, its notification still on its way
    model.capture_added(first)
    model.flush()  # since() returns both rows
    assert model.rowCount() == 2
    assert (model.total, model.matching) == (2, 2)
    model.capture_added(second)  # the late notification
    model.flush()
    qtbot.wait(20)  # any tick the notification scheduled has run
    assert (model.total, model.matching) == (2, 2) == (store.count(), model.rowCount())
    for _ in range(3):  # and again under a filter, where the total has its own mark
        store.add(make_capture(event_name="OTHER"))
    model.set_query(CaptureQuery(event_names=frozenset({"WANTED"})))
    wanted = store.add(make_capture(event_name="WANTED"))
    other = store.add(make_capture(event_name="OTHER"))
    model.flush()
    model.capture_added(wanted)
    model.capture_added(other)
    model.flush()
    qtbot.wait(20)
    assert model.total == store.count() == 7
    assert model.matching == 1 and model.row_at(0).id == wanted.id


def test_rows_written_without_notifications_are_counted_by_a_poll(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    """Another process writing the same store: no notifications, flush() on a timer."""
    model = CaptureTableModel(store)
    for i in range(4):
        store.add(make_capture(event_name="A" if i % 2 else "B"))
    model.flush()
    assert (model.total, model.matching, model.rowCount()) == (4, 4, 4)
    model.set_query(CaptureQuery(event_names=frozenset({"A"})))
    store.add_many([make_capture(event_name="A"), make_capture(event_name="B")])
    model.flush()
    assert (model.total, model.matching, model.rowCount()) == (6, 3, 3)
    model.remove_ids([model.row_at(0).id])
    assert (model.total, model.matching) == (5, 2) == (store.count(), model.rowCount())


def test_repaint_asks_each_cell_once_through_multidata(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    """Qt's delegate wants seven roles per cell: one Python call (multiData) answers them all,
    with the same values data() gives, and flags() stays in C++."""
    store.add_many(
        [make_capture(method="PUT" if i % 2 else "POST", entity_ref=f"R-{i}") for i in range(30)]
    )
    calls: dict[str, int] = {"multi": 0, "data": 0}

    class Counting(CaptureTableModel):
        def multiData(self, index, span) -> None:  # type: ignore[no-untyped-def]
            calls["multi"] += 1
            super().multiData(index, span)

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
            calls["data"] += 1
            return super().data(index, role)

    model = Counting(store)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(1400, 400)
    view.show()
    qtbot.waitExposed(view)
    calls.update(multi=0, data=0)
    view.viewport().grab()  # paints every visible cell
    assert calls["multi"] >= 13 * 5  # every visible cell
    assert calls["data"] == 0  # none of the seven roles fell back to data()
    assert "flags" not in vars(CaptureTableModel)

    from PySide6.QtCore import QModelRoleData

    roles = [
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ToolTipRole,
        VERDICT_ROLE,
        ID_ROLE,
    ]
    for row in (0, 1):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            for role in roles:
                item = QModelRoleData(role)
                model.multiData(index, item)
                assert item.data() == model.data(index, role), (row, column, role)


def test_batches_grow_longer_while_captures_pour_in(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    from inspector.gui.models.capture_table import BUSY_BATCH_ROWS

    model = CaptureTableModel(store, batch_interval_ms=10)
    model.set_batch_interval(10, 120)
    store.add_many([make_capture() for _ in range(BUSY_BATCH_ROWS)])
    model.flush()
    assert model._timer.interval() == 120  # a burst: fewer, larger inserts
    assert model._timer.isActive()  # and it looks again without waiting for a notification
    qtbot.waitUntil(lambda: not model._timer.isActive(), timeout=5000)  # a quiet tick
    assert model._timer.interval() == 10
    store.add(make_capture())
    model.capture_added()
    qtbot.waitUntil(lambda: model.rowCount() == BUSY_BATCH_ROWS + 1)
    assert model.total == store.count() == BUSY_BATCH_ROWS + 1


def test_a_backlog_is_inserted_a_bounded_chunk_per_tick_in_order(  # type: ignore[no-untyped-def]
    qtbot, qtmodeltester, store: Store
) -> None:
    """A tick reads and inserts at most ``max_rows_per_tick`` rows (bounded GUI-thread work);
    the rest follow on the next ticks, oldest first, with exact counts, filtered or not."""
    old = store.add(make_capture(event_name="WANTED"))
    model = CaptureTableModel(store, batch_interval_ms=10, max_rows_per_tick=7)
    qtmodeltester.check(model)
    inserted: list[int] = []
    model.rows_inserted_at_top.connect(inserted.append)
    new = [store.add(make_capture(event_name="WANTED" if i % 2 else "OTHER")) for i in range(20)]
    model.flush()
    assert inserted == [7] and model.rowCount() == 8
    assert (model.total, model.matching) == (8, 8)  # counted as far as read, never ahead
    assert [model.row_at(i).id for i in range(7)] == [c.id for c in reversed(new[:7])]
    assert model._timer.isActive()  # the rest comes without a notification
    qtbot.waitUntil(lambda: model.rowCount() == 21)
    assert inserted == [7, 7, 6]
    assert [model.row_at(i).id for i in range(21)] == [c.id for c in reversed([old, *new])]
    assert (model.total, model.matching) == (21, 21) == (store.count(), model.rowCount())

    model.set_query(CaptureQuery(event_names=frozenset({"WANTED"})))
    assert (model.total, model.matching) == (21, 11)
    more = [store.add(make_capture(event_name="WANTED" if i % 3 else "OTHER")) for i in range(30)]
    model.flush()
    assert model.rowCount() == 11 + 7  # the filtered read is capped too
    qtbot.waitUntil(lambda: model.total == 51 and not model._timer.isActive(), timeout=5000)
    wanted = [c.id for c in more if c.event is not None and c.event.name == "WANTED"]
    assert len(wanted) == 20
    assert [model.row_at(i).id for i in range(20)] == list(reversed(wanted))
    assert model.matching == model.rowCount() == 31 == store.count(model.query)


def test_new_captures_recount_a_costly_store_less_often(  # type: ignore[no-untyped-def]
    qtbot, filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.gui.widgets import filter_bar

    # As if every count were very costly: new captures alone never recount within the test.
    monkeypatch.setattr(filter_bar, "RECOUNT_COST_FACTOR", 1e9)
    bar = FilterBar(filled)
    qtbot.addWidget(bar)
    with qtbot.waitSignal(bar.counts_updated, timeout=5000):
        bar.refresh_values()
    ev1 = bar.event_name.findData("EV1")
    assert bar.event_name.itemText(ev1) == "EV1  (150)"
    filled.add(make_capture(event_name="EV1"))
    bar.refresh_values()  # what a live batch does
    with qtbot.assertNotEmitted(bar.counts_updated, wait=1000):
        pass
    assert bar.event_name.itemText(ev1) == "EV1  (150)"
    # A clear or a reload counts at once; so does a new filter.
    with qtbot.waitSignal(bar.counts_updated, timeout=5000):
        bar.refresh_values(soon=True)
    assert bar.event_name.itemText(bar.event_name.findData("EV1")) == "EV1  (151)"
    with qtbot.waitSignal(bar.counts_updated, timeout=5000):
        bar.set_text("REF-01")
    assert bar.event_name.itemText(bar.event_name.findData("EV2")) == "EV2  (33)"
