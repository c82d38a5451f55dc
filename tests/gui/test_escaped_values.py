"""Values that came from a request never reach the window raw: an ESC, CR/LF or a bidi
override in an event's fields shows as a visible escape in every label, cell, tooltip and
window title (issue 12, item 3), while the body views keep the body's own bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLabel, QWidget

from inspector.gui.mainwindow import MainWindow
from tests.gui.conftest import post
from tests.gui.test_understand import _select_rows
from tests.support.captures import make_capture
from tests.support.crypto import signed_headers

NAME = "\x1b]0;pwned\x07CREATE\x1b[2J"
REF = "HD_1\r\n12:00:00 POST /hooks  flex \u2713 valid"
TYPE = "ORD\u202eREDRO"
# What must never appear in anything shown outside the body views.
FORBIDDEN = ("\x1b", "\x07", "\r", "\u202e", "\n12:00:00")


def _hostile_body() -> bytes:
    event = {
        "id": "e-1",
        "name": NAME,
        "accountId": "ACME",
        "retailerId": "1",
        "entityId": "1",
        "entityRef": REF,
        "entityType": TYPE,
        "entityStatus": "CREATED\x1b[31m",
        "rootEntityType": TYPE,
        "rootEntityRef": REF,
        "type": "NORMAL",
        "attributes": {},
    }
    return json.dumps(event).encode()


def _model_texts(model: QAbstractItemModel, parent: QModelIndex) -> Iterator[str]:
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    for row in range(min(model.rowCount(parent), 50)):
        for column in range(model.columnCount(parent)):
            index = model.index(row, column, parent)
            for role in roles:
                value = model.data(index, role)
                if isinstance(value, str):
                    yield value
            yield from _model_texts(model, index)


def _shown_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    yield "window title", root.windowTitle()
    for widget in root.findChildren(QWidget):
        name = f"{type(widget).__name__} {widget.objectName()}"
        if isinstance(widget, QLabel):
            yield name, widget.text()
        if widget.toolTip():
            yield name + " tooltip", widget.toolTip()
        if widget.isWindow():
            yield name + " title", widget.windowTitle()
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            for text in _model_texts(widget.model(), QModelIndex()):
                yield name + " cell", text


def _raw(texts: Iterator[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(where, text) for where, text in texts if any(bad in text for bad in FORBIDDEN)]


def test_request_values_are_escaped_everywhere_in_the_window(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    body = _hostile_body()
    answer = post(main_window, body, signed_headers(rsa_key, body), "/hooks/%1b%5B2J?q=%0d%0a")
    assert answer.status_code == 200, answer.text
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    main_window.selection.select_row(0)
    qtbot.waitUntil(lambda: main_window.detail.capture is not None)

    assert _raw(_shown_texts(main_window)) == []
    # The escapes are visible, not dropped: the user can still read what was sent.
    cells = [main_window.model.index(0, c).data() for c in range(main_window.model.columnCount())]
    assert any("\\x1b]0;pwned\\x07CREATE" in str(cell) for cell in cells), cells
    assert any("HD_1\\r\\n12:00:00" in str(cell) for cell in cells), cells
    # The body views show the body as it came (its JSON escapes are text, not controls).
    assert main_window.detail.raw.body == body

    # The windows that show a capture's entity: the timeline (and its title).
    main_window.commands["timeline.show"].trigger()
    qtbot.waitUntil(lambda: main_window.timeline.dialog is not None)
    dialog = main_window.timeline.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.isVisible())
    qtbot.wait(200)
    assert _raw(_shown_texts(dialog)) == []

    # Retries folded: the grouped view quotes the event name and entity too.
    main_window.groups.set_grouped(True)
    qtbot.waitUntil(lambda: main_window.groups.grouped)
    qtbot.wait(300)
    assert _raw(_shown_texts(main_window)) == []

    main_window.groups.set_grouped(False)

    # An imported capture can hold header bytes no HTTP parser lets through; compare the two.
    second = json.loads(body)
    second["entityStatus"] = "BOOKED\x1b[0m"
    main_window.store.add(
        make_capture(body=json.dumps(second).encode(), headers=(("X-Note", "a\x1b[2Jb\r\n"),))
    )
    main_window.captures.refresh()
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 2)
    main_window.selection.select_row(0)
    qtbot.waitUntil(lambda: "X-Note" in str(main_window.detail.headers.model.headers))
    assert _raw(_shown_texts(main_window)) == []
    _select_rows(main_window, 0, 1)
    main_window.commands["diff.compare"].trigger()
    qtbot.waitUntil(lambda: main_window.diff.dialog is not None)
    compare = main_window.diff.dialog
    assert compare is not None
    qtbot.waitUntil(lambda: compare.isVisible())
    assert _raw(_shown_texts(compare)) == []

    for window in QApplication.topLevelWidgets():
        if window.isVisible():
            assert _raw(_shown_texts(window)) == [], type(window).__name__
