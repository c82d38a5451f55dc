"""The lazy JSON tree model, the parse helper and the JSON view widget."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt, QThreadPool
from PySide6.QtGui import QGuiApplication

from inspector.gui.jsondoc import parse_json_body
from inspector.gui.models.json_tree import CHUNK, JsonTreeModel
from inspector.gui.widgets.json_view import OFF_THREAD_BYTES, JsonView

EVENT = {
    "id": "5f1c2e0a",
    "name": "OrderCreated",
    "entityType": "ORDER",
    "attributes": {"weird key": "a\nb", "total": 12.5, "express": True, "note": None},
    "items": [{"sku": "A-1", "attributes": {"weird key": [1, 2]}}, {"sku": "B-2"}],
    "": "empty key",
    'quote"key': 0,
    "meta": {"mode": "SYNC", "models": []},
}


@pytest.fixture(autouse=True)
def _drain_pool() -> Iterator[None]:
    yield
    # Background parses must not outlive the test that started them.
    QThreadPool.globalInstance().waitForDone()


def child(model: JsonTreeModel, parent: QModelIndex, key: str) -> QModelIndex:
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        if model.data(index) == key:
            return index
    raise AssertionError(f"no child {key!r}")


def walk(model: JsonTreeModel, *keys: str) -> QModelIndex:
    index = QModelIndex()
    for key in keys:
        index = child(model, index, key)
    return index


# -- parse helper ---------------------------------------------------------------------------


def test_parse_valid_body() -> None:
    result = parse_json_body(json.dumps(EVENT).encode())
    assert result.ok and result.error is None
    assert result.value == EVENT


def test_parse_reports_invalid_utf8() -> None:
    result = parse_json_body(b'{"a": "\xff\xfe"}')
    assert result.value is None
    assert result.error is not None and "not UTF-8" in result.error and "offset 7" in result.error


def test_parse_reports_non_json_with_position() -> None:
    result = parse_json_body(b'{"a": 1,\n  oops}')
    assert result.error is not None
    assert "not JSON" in result.error and "line 2, column 3" in result.error


@pytest.mark.parametrize("body", [b"", b"  \r\n"])
def test_parse_reports_empty_body(body: bytes) -> None:
    result = parse_json_body(body)
    assert result.error is not None and "empty" in result.error


def test_parse_survives_10000_levels_of_nesting() -> None:
    result = parse_json_body(b"[" * 10_000 + b"]" * 10_000)
    assert result.value is None
    assert result.error is not None and "nested deeper" in result.error


def test_parse_accepts_a_bom_and_scalars() -> None:
    assert parse_json_body(b"\xef\xbb\xbf[1]").value == [1]
    assert parse_json_body(b' "text" ').value == "text"


# -- model ------------------------------------------------------------------------------------


def test_model_passes_model_tester_on_small_document(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = JsonTreeModel()
    model.set_document(EVENT)
    qtmodeltester.check(model)
    model.set_document([1, "two", None, {"three": [3]}])
    model.set_document("just a string")
    model.clear()


def test_model_columns_and_previews() -> None:
    model = JsonTreeModel()
    model.set_document(EVENT)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == [
        "Key",
        "Value",
        "Type",
    ]
    attributes = walk(model, "attributes")
    assert model.data(attributes.siblingAtColumn(1)) == "{4 keys}"
    assert model.data(attributes.siblingAtColumn(2)) == "object"
    items = walk(model, "items")
    assert model.data(items.siblingAtColumn(1)) == "[2 items]"
    models = walk(model, "meta", "models")
    assert model.data(models.siblingAtColumn(1)) == "[0 items]"
    assert not model.hasChildren(models)
    total = walk(model, "attributes", "total")
    assert model.data(total.siblingAtColumn(1)) == "12.5"
    assert model.data(total.siblingAtColumn(2)) == "number"
    name = walk(model, "name")
    # Strings show raw (no quotes); the Type column says it is a string.
    assert model.data(name.siblingAtColumn(1)) == "OrderCreated"
    assert model.data(name.siblingAtColumn(2)) == "string"
    note = walk(model, "attributes", "note")
    assert model.data(note.siblingAtColumn(1)) == "null"
    assert model.data(walk(model, "attributes", "express").siblingAtColumn(1)) == "true"


def test_json_path_handles_odd_keys() -> None:
    model = JsonTreeModel()
    model.set_document(EVENT)
    assert model.json_path(walk(model, "name")) == "$.name"
    assert model.json_path(walk(model, "attributes", "weird key")) == '$.attributes["weird key"]'
    assert (
        model.json_path(walk(model, "items", "[0]", "attributes", "weird key", "[1]"))
        == '$.items[0].attributes["weird key"][1]'
    )
    assert model.json_path(walk(model, '""')) == '$[""]'
    assert model.json_path(walk(model, 'quote"key')) == '$["quote\\"key"]'
    assert model.json_path(QModelIndex()) == "$"


def test_value_at_and_value_text() -> None:
    model = JsonTreeModel()
    model.set_document(EVENT)
    weird = walk(model, "attributes", "weird key")
    assert model.value_at(weird) == "a\nb"
    assert model.value_text(weird) == "a\nb"  # scalars as plain text, not quoted
    assert model.value_text(walk(model, "attributes", "note")) == "null"
    first = walk(model, "items", "[0]")
    assert model.value_text(first) == '{"sku":"A-1","attributes":{"weird key":[1,2]}}'
    assert model.value_at(QModelIndex()) is model.document


def test_scalar_document_has_one_row() -> None:
    model = JsonTreeModel()
    model.set_document(42)
    assert model.rowCount() == 1
    index = model.index(0, 0)
    assert model.data(index.siblingAtColumn(1)) == "42"
    assert model.json_path(index) == "$"


def test_large_array_is_fetched_in_chunks(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = JsonTreeModel()
    model.set_document([{"n": n} for n in range(50_000)])
    qtmodeltester.check(model)
    # The tester itself may fetch one chunk; never the whole array.
    assert CHUNK <= model.rowCount() <= 5 * CHUNK
    assert model.rowCount() % CHUNK == 0
    assert model.canFetchMore(QModelIndex())
    before = model.rowCount()
    model.fetchMore(QModelIndex())
    assert model.rowCount() == before + CHUNK


def test_whole_large_array_can_be_fetched() -> None:
    model = JsonTreeModel()
    model.set_document(list(range(50_000)))
    assert model.rowCount() == CHUNK
    fetches = 0
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        fetches += 1
    assert fetches == 49
    assert model.rowCount() == 50_000
    assert model.data(model.index(49_999, 1)) == "49999"


def test_find_across_nested_data_fetches_path() -> None:
    model = JsonTreeModel()
    model.set_document(EVENT)
    paths = [model.json_path(index) for index in model.find("WEIRD")]
    assert paths == [
        '$.attributes["weird key"]',
        '$.items[0].attributes["weird key"]',
    ]
    assert [model.json_path(i) for i in model.find("b-2")] == ["$.items[1].sku"]
    assert [model.json_path(i) for i in model.find("12.5")] == ["$.attributes.total"]
    assert model.find("") == []
    assert model.find("nothing like this") == []


def test_find_is_bounded_and_materializes_deep_rows() -> None:
    model = JsonTreeModel()
    model.set_document({"rows": [{"v": f"row-{n}"} for n in range(20_000)]})
    hits = model.find("row-1999")
    assert [model.json_path(i) for i in hits] == [
        "$.rows[1999].v",
        "$.rows[19990].v",
        "$.rows[19991].v",
        "$.rows[19992].v",
        "$.rows[19993].v",
        "$.rows[19994].v",
        "$.rows[19995].v",
        "$.rows[19996].v",
        "$.rows[19997].v",
        "$.rows[19998].v",
        "$.rows[19999].v",
    ]
    assert all(index.isValid() for index in hits)
    assert model.rowCount(walk(model, "rows")) == 20_000
    assert len(model.find("row-", limit=500)) == 500


def test_find_walks_deep_nesting_without_recursion() -> None:
    deep: object = "needle"
    for _ in range(900):
        deep = [deep]
    model = JsonTreeModel()
    model.set_document(deep)
    [hit] = model.find("needle")
    assert model.json_path(hit) == "$" + "[0]" * 900


# -- view -------------------------------------------------------------------------------------


def test_view_shows_event_and_copies(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    view.set_body(json.dumps(EVENT).encode())
    assert view.note.isHidden()
    assert view.model.rowCount() == len(EVENT)
    view.tree.setCurrentIndex(walk(view.model, "attributes", "weird key"))
    view.copy_path()
    assert QGuiApplication.clipboard().text() == '$.attributes["weird key"]'
    view.copy_value()
    assert QGuiApplication.clipboard().text() == "a\nb"


def test_view_find_steps_through_matches(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    view.set_body(json.dumps(EVENT).encode())
    qtbot.keyClicks(view.find_edit, "sku")
    qtbot.keyClick(view.find_edit, Qt.Key.Key_Return)
    assert view.model.json_path(view.tree.currentIndex()) == "$.items[0].sku"
    assert view.match_label.text() == "1 of 2"
    view.find_next()
    assert view.model.json_path(view.tree.currentIndex()) == "$.items[1].sku"
    view.find_next()
    assert view.model.json_path(view.tree.currentIndex()) == "$.items[0].sku"
    view.find_previous()
    assert view.match_label.text() == "2 of 2"


def test_view_notes_non_json_and_keeps_empty_tree(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    view.set_body(b"hello=world")
    assert not view.note.isHidden()
    assert "not JSON" in view.note.text() and "line 1, column 1" in view.note.text()
    assert view.model.rowCount() == 0
    view.set_body(b"[" * 10_000 + b"]" * 10_000)
    assert "nested deeper" in view.note.text()
    assert view.model.rowCount() == 0


def test_view_parses_5mb_body_off_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    items = [{"id": n, "name": f"item {n}", "tags": ["a", "b"]} for n in range(100_000)]
    body = json.dumps({"items": items}).encode()
    assert len(body) > 5_000_000
    view = JsonView()
    qtbot.addWidget(view)
    view.set_body(body)
    assert view.parsing
    assert "Parsing" in view.note.text()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=30_000)
    assert view.note.isHidden()
    items_index = walk(view.model, "items")
    # Only what the view asked for exists, in whole chunks; never the 100k items up front.
    loaded = view.model.rowCount(items_index)
    assert CHUNK <= loaded < 100_000 and loaded % CHUNK == 0


def test_newer_body_wins_over_slow_parse(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    big = json.dumps(list(range(200_000))).encode()
    assert len(big) > OFF_THREAD_BYTES
    view.set_body(big)
    view.set_body(b'{"small": true}')
    QThreadPool.globalInstance().waitForDone()
    qtbot.wait(50)  # let the stale result's queued delivery run, and be ignored
    assert view.model.rowCount() == 1
    assert view.model.data(view.model.index(0, 0)) == "small"


def test_expand_all_is_bounded(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    view.set_value([{"a": {"b": n}} for n in range(3000)])
    expanded = view.expand_all(limit=100)
    assert expanded == 100
    assert "first 100 nodes" in view.note.text()
    assert view.tree.isExpanded(view.model.index(0, 0))
    view.set_value(EVENT)
    # attributes, items, items[0], its attributes, its "weird key", items[1], meta
    assert view.expand_all() == 7
    assert view.note.isHidden()


def test_screenshot(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    view.resize(800, 420)
    view.set_body(json.dumps(EVENT).encode())
    view.find_edit.setText("sku")
    view.find_next()
    assert view.grab().save("/tmp/gui_detail_json.png")


def test_ctrl_c_in_tree_copies_value(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = JsonView()
    qtbot.addWidget(view)
    view.set_body(json.dumps(EVENT).encode())
    view.tree.setCurrentIndex(walk(view.model, "items", "[1]"))
    qtbot.keyClick(view.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == '{"sku":"B-2"}'
