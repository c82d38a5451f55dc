"""Completion while typing a word: the popup's rows for a typed prefix, on Fluent's schema."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema
from PySide6.QtCore import Qt

from inspector.core.fluent.schema import bundled_schema
from inspector.gui.widgets.graphql.editor import GraphQLEditor
from inspector.gui.widgets.graphql.language import completion_context
from tests.gui.graphql.conftest import OFFSCREEN_POPUP


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return bundled_schema()


@pytest.fixture
def editor(qtbot, schema: GraphQLSchema) -> GraphQLEditor:  # type: ignore[no-untyped-def]
    widget = GraphQLEditor()
    qtbot.addWidget(widget)
    widget.set_schema(schema)
    widget.resize(700, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def type_then_complete(qtbot, editor: GraphQLEditor, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Type ``text`` key by key, press Ctrl+Space, and return the popup's rows."""
    editor.setFocus()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    return editor.completion_rows() if editor.completer.popup().isVisible() else []


@OFFSCREEN_POPUP
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{ orderById(id: 1) { cust", ["customer", "customerLink"]),
        ("{ orderById(id: 1) { st", ["status"]),
        ("{ orderById(id: 1) { ID", ["id"]),  # case-insensitive
        ("{ orderById(i", ["id"]),  # an argument
        ('{ inventoryPosition(ref: "X", catalogue: { r', ["ref"]),  # an input-object field
        ("mutation { createFulfilmentOption(executionMode: aw", ["AWAIT_ORCHESTRATION"]),
        ("{ orderById(id: 1) @include(if: t", ["true"]),
    ],
)
def test_ctrl_space_after_a_prefix_shows_the_matching_rows(
    qtbot,  # type: ignore[no-untyped-def]
    editor: GraphQLEditor,
    text: str,
    expected: list[str],
) -> None:
    assert type_then_complete(qtbot, editor, text) == expected


@OFFSCREEN_POPUP
def test_typing_with_the_popup_open_keeps_filtering(qtbot, editor: GraphQLEditor) -> None:  # type: ignore[no-untyped-def]
    rows = type_then_complete(qtbot, editor, "{ orderById(id: 1) { ")
    # Everything, __typename included (it comes last and must not break the matching).
    assert rows[-1] == "__typename" and "status" in rows and len(rows) > 10
    popup = editor.completer.popup()
    qtbot.keyClicks(editor, "c")
    assert popup.isVisible()
    assert editor.completion_rows() == ["createdOn", "customer", "customerLink"]
    qtbot.keyClicks(editor, "u")
    assert editor.completion_rows() == ["customer", "customerLink"]
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    assert editor.completion_rows() == ["createdOn", "customer", "customerLink"]
    qtbot.keyClicks(editor, "__t")  # no field starts with "c__t": nothing left to offer
    assert not popup.isVisible()


@OFFSCREEN_POPUP
def test_typing_underscores_finds_typename_and_enter_inserts_it(
    qtbot, editor: GraphQLEditor
) -> None:  # type: ignore[no-untyped-def]
    assert type_then_complete(qtbot, editor, "{ orderById(id: 1) { __") == ["__typename"]
    qtbot.keyClick(editor.completer.popup(), Qt.Key.Key_Return)
    assert editor.toPlainText() == "{ orderById(id: 1) { __typename"


@OFFSCREEN_POPUP
def test_a_character_that_ends_the_word_closes_the_popup(qtbot, editor: GraphQLEditor) -> None:  # type: ignore[no-untyped-def]
    assert type_then_complete(qtbot, editor, "{ orderById") == ["orderById"]
    qtbot.keyClicks(editor, "(")
    assert not editor.completer.popup().isVisible()
    assert editor.toPlainText() == "{ orderById("


def test_items_come_in_case_insensitive_order(schema: GraphQLSchema) -> None:
    context = completion_context(schema, "{ orderById(id: 1) { ")
    names = list(context.items[:-1])
    assert names == sorted(names, key=str.casefold)
    assert context.items[-1] == "__typename"


def test_input_fields_and_values_nest_through_objects_and_lists(schema: GraphQLSchema) -> None:
    after_a_value = completion_context(
        schema, '{ inventoryPosition(ref: "X", catalogue: { ref: "c", '
    )
    assert after_a_value.kind == "input field"
    assert after_a_value.parent_type == "InventoryCatalogueKey"
    assert after_a_value.items == ("ref",)
    # Back out of the object: the field's arguments again.
    back = completion_context(schema, '{ inventoryPosition(catalogue: { ref: "c" }, ')
    assert back.kind == "argument" and set(back.items) == {"ref", "catalogue"}
    # A string argument has no literal values to offer.
    assert completion_context(schema, "{ orders(status: [").items == ()
