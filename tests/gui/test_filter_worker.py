"""The text filter in the window: read by a worker (never on the GUI thread), a newer query
supersedes an older one, and the body-search toggle."""

from __future__ import annotations

import threading
from typing import Any

from inspector.core.store import CaptureQuery, Store
from inspector.gui.mainwindow import MainWindow
from inspector.gui.models.capture_table import CaptureTableModel
from tests.support.captures import make_capture


def test_typing_filters_the_table_from_a_worker_thread(
    qtbot: Any, main_window: MainWindow, store: Store, monkeypatch: Any
) -> None:
    store.add_many([make_capture(entity_ref=f"HD-{i:04d}") for i in range(30)])
    main_window.captures.refresh()
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 30)
    threads: list[threading.Thread] = []
    real_page = store.page

    def spy(*args: Any, **kwargs: Any) -> Any:  # records where the read runs, then reads
        threads.append(threading.current_thread())
        return real_page(*args, **kwargs)

    monkeypatch.setattr(store, "page", spy)
    bar = main_window.filter_bar
    qtbot.keyClicks(bar.text_edit, "hd-001")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 10)
    qtbot.waitUntil(lambda: bar.counts_text() == "10 of 30 captures")
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert {main_window.model.row_at(r).entity_ref for r in range(10)} == {
        f"HD-{i:04d}" for i in range(10, 20)
    }


def test_a_newer_query_supersedes_the_older(qtbot: Any, store: Store) -> None:
    store.add_many([make_capture(entity_ref=f"REF-{i:04d}") for i in range(500)])
    model = CaptureTableModel(store)
    applied: list[object] = []
    model.query_applied.connect(applied.append)
    older = CaptureQuery(text="zz")  # a scan: the slowest kind of read
    newer = CaptureQuery(text="ref-000")
    first = model.request_query(older)
    second = model.request_query(newer)
    assert first.is_cancelled and not second.is_cancelled
    qtbot.waitUntil(lambda: first.is_done and second.is_done and not model.counting_pending)
    assert applied == [newer]
    assert model.query == newer
    assert model.rowCount() == 10 and model.matching == 10 and model.total == 500


def test_the_body_search_toggle(qtbot: Any, main_window: MainWindow, store: Store) -> None:
    store.add(make_capture(body=b'{"note": "only-in-the-body"}'))
    store.add(make_capture(target="/hooks/only-in-the-body"))
    store.add(make_capture())
    main_window.captures.refresh()
    bar = main_window.filter_bar
    bar.set_text("only-in-the-body")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    assert not bar.body_search.isChecked()
    bar.body_search.click()
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 2)
    assert main_window.model.query.bodies
    qtbot.waitUntil(lambda: bar.counts_text() == "2 of 3 captures")
    bar.body_search.click()
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
