"""The Raw tab: text/hex modes, pretty JSON, truncation, copy and save of the exact bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from inspector.gui.models.hex_model import HexModel, ascii_row, hex_row
from inspector.gui.widgets.highlighter import json_colours
from inspector.gui.widgets.json_view import OFF_THREAD_BYTES
from inspector.gui.widgets.raw_view import TEXT_LIMIT, RawMode, RawView

EVENT = b'{"id":"e-1","name":"OrderCreated","total":12.5,"ok":true,"note":null}'


@pytest.fixture(autouse=True)
def _drain_pool() -> Iterator[None]:
    yield
    QThreadPool.globalInstance().waitForDone()


@pytest.fixture
def view(qtbot) -> RawView:  # type: ignore[no-untyped-def]
    widget = RawView()
    qtbot.addWidget(widget)
    return widget


# -- hex model --------------------------------------------------------------------------------


def test_hex_model_passes_model_tester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = HexModel()
    model.set_body(bytes(range(256)) * 4 + b"tail")
    qtmodeltester.check(model)
    model.set_body(b"")
    model.set_body(b"x" * 17)


def test_hex_rows_format() -> None:
    model = HexModel()
    model.set_body(b"Hello, world!\x00\x01\xff" + b"AB")
    assert model.rowCount() == 2
    assert model.data(model.index(0, 0)) == "00000000"
    assert model.data(model.index(0, 1)).rstrip() == (
        "48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 ff"
    )
    assert model.data(model.index(0, 2)) == "Hello, world!..."
    assert model.data(model.index(1, 0)) == "00000010"
    assert model.data(model.index(1, 2)) == "AB"
    # A short last row is padded so its ASCII column lines up with the others.
    assert len(model.data(model.index(1, 1))) == len(model.data(model.index(0, 1)))
    assert hex_row(b"") == " " * 48
    assert ascii_row(b"\x7f\x80 ~") == ".. ~"


def test_hex_model_is_lazy_for_10mb() -> None:
    body = bytes(range(256)) * (10 * 4096)  # 10 MiB
    model = HexModel()
    model.set_body(body)
    assert model.rowCount() == len(body) // 16
    last = model.rowCount() - 1
    assert model.data(model.index(last, 0)) == f"{last * 16:08x}"
    assert model.data(model.index(last, 1)).startswith("f0 f1")


# -- modes ------------------------------------------------------------------------------------


def test_text_mode_shows_exact_text(view: RawView) -> None:
    view.set_body(EVENT, "application/json")
    assert view.mode is RawMode.TEXT
    assert view.shown_text == EVENT.decode()
    assert view.note.isHidden()
    assert view.pretty_available and view.pretty_button.isEnabled()


@pytest.mark.parametrize("body", [b"\x89PNG\r\n\x1a\n\x00\x00", b"abc\x00def", b"caf\xe9"])
def test_hex_mode_is_chosen_for_binary(view: RawView, body: bytes) -> None:
    view.set_body(body)
    assert view.mode is RawMode.HEX
    assert view.stack.currentWidget() is view.hex
    assert view.hex_model.body == body
    assert "hex" in view.note.text()
    assert not view.pretty_button.isEnabled()
    assert "binary" in view.pretty_button.toolTip()
    view.set_body(EVENT)
    assert view.mode is RawMode.TEXT


def test_invalid_utf8_in_text_mode_says_so(view: RawView) -> None:
    view.set_body(b"price: 10\xa4")
    view.set_mode(RawMode.TEXT)
    assert view.shown_text == "price: 10\ufffd"
    assert "not valid UTF-8" in view.note.text()


def test_pretty_toggle_reindents_and_restores(view: RawView) -> None:
    view.set_body(EVENT)
    view.pretty_button.setChecked(True)
    assert view.shown_text == json.dumps(json.loads(EVENT), indent=2)
    assert view.shown_text.startswith('{\n  "id": "e-1"')
    view.pretty_button.setChecked(False)
    assert view.shown_text == EVENT.decode()
    # Pretty is a view: copy keeps the exact bytes.
    view.pretty_button.setChecked(True)
    view.copy_body()
    assert QGuiApplication.clipboard().text() == EVENT.decode()


def test_pretty_disabled_with_reason_for_non_json(view: RawView) -> None:
    view.set_body(b'{"broken": ', "application/json")
    assert not view.pretty_button.isEnabled()
    assert "not JSON" in view.pretty_button.toolTip()
    view.set_body(b"plain words")
    assert not view.pretty_button.isEnabled()
    assert "does not look like JSON" in view.pretty_button.toolTip()


def test_pretty_for_large_body_is_prepared_off_thread(qtbot, view: RawView) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps([{"n": n} for n in range(40_000)]).encode()
    assert len(body) > OFF_THREAD_BYTES
    view.set_body(body, "application/json")
    view.pretty_button.setChecked(False)
    qtbot.waitUntil(lambda: view.pretty_button.isEnabled(), timeout=30_000)
    view.pretty_button.setChecked(True)
    assert view.shown_text.startswith('[\n  {\n    "n": 0\n  },')


def test_huge_text_is_truncated_with_note(view: RawView) -> None:
    body = (b"0123456789abcde\n") * (5 * 1024 * 1024 // 16)  # 5 MiB of text
    view.set_body(body, "text/plain")
    assert view.mode is RawMode.TEXT
    assert len(view.shown_text) == TEXT_LIMIT
    assert "Showing the first 1.0 MB of 5.0 MB" in view.note.text()
    assert "Copy body copies all" in view.note.text()
    view.copy_body()
    assert len(QGuiApplication.clipboard().text()) == len(body)


def test_truncation_never_splits_a_character(view: RawView) -> None:
    body = "é".encode() * TEXT_LIMIT  # two bytes each
    view.set_body(body)
    assert "\ufffd" not in view.shown_text
    assert len(view.shown_text) == TEXT_LIMIT // 2


def test_empty_body(view: RawView) -> None:
    view.set_body(b"")
    assert view.shown_text == ""
    assert "empty" in view.note.text()
    assert not view.copy_button.isEnabled() and not view.save_button.isEnabled()


# -- copy / save --------------------------------------------------------------------------------


def test_copy_body_carries_exact_bytes(view: RawView) -> None:
    body = b"\x00\x01binary\xff"
    view.set_body(body)
    view.copy_body()
    mime = QGuiApplication.clipboard().mimeData()
    assert bytes(mime.data("application/octet-stream").data()) == body
    assert mime.text() == body.decode("utf-8", errors="replace")


def test_save_body_writes_exact_bytes(view: RawView, tmp_path: Path) -> None:
    body = b'{"a": 1}\r\n\x00\xff'
    view.set_body(body)
    target = tmp_path / "body.bin"
    view.save_body(target)
    assert target.read_bytes() == body


# -- colours ------------------------------------------------------------------------------------


def test_colours_follow_palette_lightness() -> None:
    light = QPalette()
    light.setColor(QPalette.ColorRole.Base, QColor("white"))
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    for name, colour in json_colours(light).items():
        assert colour.lightness() < 140, name  # dark ink on a light background
    for name, colour in json_colours(dark).items():
        assert colour.lightness() > 110, name  # light ink on a dark background


def test_highlighting_marks_keys_and_values(qtbot, view: RawView) -> None:  # type: ignore[no-untyped-def]
    view.set_body(b'{"key": "value", "n": -1.5e3, "t": true, "emoji \xf0\x9f\x98\x80": null}')
    block = view.text.document().firstBlock()
    # Colouring runs from the event loop, after the text is in: it never blocks set_body().
    qtbot.waitUntil(lambda: bool(block.layout().formats()))
    formats = block.layout().formats()
    colours = json_colours(view.text.palette())
    by_start = {f.start: (f.length, f.format.foreground().color()) for f in formats}
    assert by_start[1] == (5, colours["key"])  # "key"
    assert by_start[8] == (7, colours["string"])  # "value"
    assert by_start[22] == (6, colours["number"])
    # Offsets after an emoji (two UTF-16 units) still land on the token.
    text = view.shown_text
    null_at = text.index("null") + 1  # UTF-16 offset: the emoji counts twice
    assert by_start[null_at] == (4, colours["keyword"])


def test_screenshots(qtbot, view: RawView) -> None:  # type: ignore[no-untyped-def]
    view.resize(800, 360)
    view.set_body(EVENT, "application/json")
    view.pretty_button.setChecked(True)
    block = view.text.document().findBlockByNumber(1)
    qtbot.waitUntil(lambda: bool(block.layout().formats()))
    assert view.grab().save("/tmp/gui_detail_raw.png")
    view.set_body(bytes(range(256)) * 4)
    assert view.grab().save("/tmp/gui_detail_raw_hex.png")
