"""The headers table: received order and case, duplicates, bold signatures, copying."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QFont, QGuiApplication

from inspector.gui.widgets.headers_view import HeadersModel, HeadersView, format_headers

HEADERS = [
    ("Host", "hooks.example.ngrok.app"),
    ("content-type", "application/json"),
    ("Flex.Signature", "bWQ1c2ln"),
    ("fluent-signature", "c2hhNTEyc2ln"),
    ("X-Forwarded-For", "203.0.113.7"),
    ("x-forwarded-for", "10.0.0.1"),
    ("X-Multi", "line1\nline2"),
]


def test_model_passes_model_tester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = HeadersModel()
    model.set_headers(HEADERS)
    qtmodeltester.check(model)
    model.set_headers([])
    model.set_headers(HEADERS[:2])


def test_order_case_and_duplicates_are_kept(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = HeadersView()
    qtbot.addWidget(view)
    view.set_headers(HEADERS)
    model = view.model
    assert model.rowCount() == len(HEADERS)
    shown = [
        (model.data(model.index(row, 0)), model.data(model.index(row, 1)))
        for row in range(model.rowCount())
    ]
    assert shown == [(str(n + 1), name) for n, (name, _) in enumerate(HEADERS)]
    assert model.data(model.index(4, 2)) == "203.0.113.7"
    assert model.data(model.index(5, 2)) == "10.0.0.1"
    assert model.data(model.index(6, 2)) == "line1\\nline2"  # one line in the cell
    assert model.data(model.index(6, 2), Qt.ItemDataRole.ToolTipRole) == "line1\\nline2"
    assert view.count_label.text() == "7 headers"


def test_signature_headers_are_bold(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = HeadersModel()
    model.set_headers(HEADERS)

    def bold(row: int) -> bool:
        font = model.data(model.index(row, 1), Qt.ItemDataRole.FontRole)
        return isinstance(font, QFont) and font.bold()

    assert [bold(row) for row in range(len(HEADERS))] == [
        False,
        False,
        True,
        True,
        False,
        False,
        False,
    ]
    tip = model.data(model.index(2, 1), Qt.ItemDataRole.ToolTipRole)
    assert "MD5" in tip


def test_copy_selected_and_all(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = HeadersView()
    qtbot.addWidget(view)
    view.set_headers(HEADERS)
    selection = view.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    selection.select(view.model.index(5, 0), flags)
    selection.select(view.model.index(2, 0), flags)
    assert view.copy_selected_button.isEnabled()
    view.copy_selected()
    # Received order, not selection order.
    assert QGuiApplication.clipboard().text() == (
        "Flex.Signature: bWQ1c2ln\nx-forwarded-for: 10.0.0.1"
    )
    view.copy_all()
    assert QGuiApplication.clipboard().text() == format_headers(HEADERS)
    assert QGuiApplication.clipboard().text().splitlines()[0] == "Host: hooks.example.ngrok.app"


def test_ctrl_c_copies_selection(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = HeadersView()
    qtbot.addWidget(view)
    view.set_headers(HEADERS)
    view.table.selectRow(0)
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "Host: hooks.example.ngrok.app"


def test_empty_headers(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = HeadersView()
    qtbot.addWidget(view)
    view.set_headers([])
    assert view.count_label.text() == "No headers"
    assert not view.copy_all_button.isEnabled()
    view.copy_all()  # nothing to copy: no error


def test_screenshot(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = HeadersView()
    qtbot.addWidget(view)
    view.resize(800, 260)
    view.set_headers(HEADERS)
    view.table.selectRow(2)
    assert view.grab().save("/tmp/gui_detail_headers.png")
