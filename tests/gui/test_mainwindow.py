"""The real main window with its real listener: signed HTTP in, badges, filters, shortcuts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.core import demo
from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.curl import curl_command
from inspector.core.keys import KeyRing
from inspector.core.listener import Listener, ListenerConfig, ListenerProcess, ListenerState
from inspector.core.store import Store
from inspector.gui.app import build_main_window
from inspector.gui.delegates.verdict_badge import VERDICT_ROLE
from inspector.gui.mainwindow import MainWindow
from inspector.gui.models.capture_table import COL_FLEX, COL_FLUENT
from inspector.gui.settings import Settings
from tests.core.listener.test_process import process_gone
from tests.gui.conftest import TEST_KEY_NAME, post, wait_listening
from tests.support.captures import event_body, make_capture
from tests.support.crypto import signed_headers


def _badges(window: MainWindow, path: str) -> tuple[Verdict, Verdict]:
    model = window.model
    for row in range(model.rowCount()):
        if model.row_at(row).path == path:
            return (
                model.index(row, COL_FLEX).data(VERDICT_ROLE),
                model.index(row, COL_FLUENT).data(VERDICT_ROLE),
            )
    raise AssertionError(f"no row for {path}")


def _yes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def _activate(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.table)


def test_signed_tampered_and_partial_requests_get_per_header_badges(
    qtbot,
    main_window: MainWindow,
    rsa_key,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    body = event_body(name="ORDER_CREATED")
    openssl_headers = signed_headers(rsa_key, body, tmp_dir=tmp_path)  # independent signer
    assert post(main_window, body, openssl_headers, "/valid").status_code == 200
    assert post(main_window, body + b" ", openssl_headers, "/tampered").status_code == 200
    fluent_only = [h for h in openssl_headers if h[0] == "fluent-signature"]
    assert post(main_window, body, fluent_only, "/fluent-only").status_code == 200
    assert post(main_window, b"not json at all", [], "/unsigned").status_code == 200
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 4)

    assert _badges(main_window, "/valid") == (Verdict.VALID, Verdict.VALID)
    assert _badges(main_window, "/tampered") == (Verdict.INVALID, Verdict.INVALID)
    assert _badges(main_window, "/fluent-only") == (Verdict.MISSING, Verdict.VALID)
    assert _badges(main_window, "/unsigned") == (Verdict.MISSING, Verdict.MISSING)
    row = next(r for r in range(4) if main_window.model.row_at(r).path == "/valid")
    tip = main_window.model.index(row, COL_FLUENT).data(Qt.ItemDataRole.ToolTipRole)
    assert TEST_KEY_NAME in tip
    qtbot.waitUntil(lambda: main_window.filter_bar.counts_text() == "4 captures")
    assert main_window.stack.currentWidget() is main_window.table


def test_model_stays_consistent_while_rows_arrive(
    qtbot,
    qtmodeltester,
    main_window: MainWindow,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    qtmodeltester.check(main_window.model)
    for i in range(12):
        body = event_body(entityRef=f"LIVE-{i}")
        post(main_window, body, signed_headers(rsa_key, body), f"/live/{i}")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 12)
    assert main_window.model.row_at(0).path == "/live/11"


def test_detail_pane_shows_the_selected_capture(
    qtbot,
    main_window: MainWindow,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    body = event_body(name="FULFILMENT_READY", entityType="FULFILMENT", entityRef="FF-77")
    headers = [*signed_headers(rsa_key, body), ("X-Trace", "abc")]
    post(main_window, body, headers, "/detail?x=1")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    main_window.selection.select_row(0)
    qtbot.waitUntil(lambda: main_window.detail.capture is not None)
    summary = main_window.detail.summary
    assert "FULFILMENT_READY" in summary.fields["name"].text()
    assert "FF-77" in summary.fields["entity"].text()
    assert "valid" in summary.cards[SignatureHeader.FLUENT].pill.text()
    assert summary.cards[SignatureHeader.FLEX].key.text() == TEST_KEY_NAME
    names = [name for name, _ in main_window.detail.headers.model.headers]
    assert names.index("flex.signature") < names.index("fluent-signature") < names.index("X-Trace")
    assert main_window.detail.raw.body == body
    assert "HTTP 200" in main_window.detail.response.status.text()


def test_invalid_signature_card_says_the_likely_cause(
    qtbot,
    main_window: MainWindow,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    body = event_body()
    post(main_window, body + b"\n", signed_headers(rsa_key, body), "/changed")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    main_window.selection.select_row(0)
    qtbot.waitUntil(lambda: main_window.detail.capture is not None)
    cause = main_window.detail.summary.cards[SignatureHeader.FLUENT].cause.text()
    assert "key" in cause.lower()


def test_text_and_quick_filters(qtbot, main_window: MainWindow, store: Store) -> None:  # type: ignore[no-untyped-def]
    store.add(make_capture(entity_type="ORDER", entity_ref="HD_1", event_name="CREATE"))
    store.add(make_capture(entity_type="FULFILMENT", entity_ref="FF_2", event_name="PICK"))
    store.add(make_capture(entity_type="ORDER", entity_ref="HD_3", fluent=Verdict.INVALID))
    main_window.captures.refresh()
    assert main_window.model.rowCount() == 3

    bar = main_window.filter_bar
    qtbot.keyClicks(bar.text_edit, "ff_2")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    assert main_window.model.row_at(0).entity_ref == "FF_2"
    # Rows land first, the counts from their own worker just after ("counting…" meanwhile).
    qtbot.waitUntil(lambda: bar.counts_text() == "1 of 3 captures")
    bar.text_edit.clear()
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 3)

    # Every filter change is read by a worker; the table changes when its result lands.
    bar.select_value(bar.entity_type, "ORDER")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 2)
    bar.signature.setCurrentIndex(
        bar.signature.findText("fluent-signature not valid", Qt.MatchFlag.MatchStartsWith)
    )
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    assert main_window.model.row_at(0).entity_ref == "HD_3"
    bar.signature.setCurrentIndex(0)
    bar.entity_type.setCurrentIndex(0)
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 3)


def test_keyboard_navigation_copy_and_delete(
    qtbot,
    main_window: MainWindow,
    store: Store,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    bodies = [f'{{"n": {i}, "quote": "it\'s"}}'.encode() for i in range(3)]
    for body in bodies:
        store.add(make_capture(body=body))
    main_window.commands["captures.follow"].setChecked(False)
    main_window.captures.refresh()
    main_window.selection.select_row(0)
    _activate(qtbot, main_window)
    table = main_window.table
    assert table.currentIndex().row() == 0
    qtbot.keyClick(table, Qt.Key.Key_J)
    assert table.currentIndex().row() == 1
    qtbot.keyClick(table, Qt.Key.Key_J)
    qtbot.keyClick(table, Qt.Key.Key_J)  # stops at the last row
    assert table.currentIndex().row() == 2
    qtbot.keyClick(table, Qt.Key.Key_K)
    assert table.currentIndex().row() == 1
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 2

    qtbot.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == bodies[0].decode()  # oldest is at the bottom

    asked = _yes(monkeypatch)
    doomed = main_window.selection.selected_ids()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert asked and "Delete this capture" in asked[0]
    assert main_window.model.rowCount() == 2
    assert store.get(doomed[0]) is None

    qtbot.keyClick(table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is main_window.filter_bar.text_edit

    _activate(qtbot, main_window)
    qtbot.keyClick(
        table,
        Qt.Key.Key_Delete,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert "Delete all 2 captures" in asked[-1]
    # The delete runs in a worker; the table empties when it is done.
    qtbot.waitUntil(lambda: main_window.stack.currentWidget() is main_window.empty_state)
    assert store.count() == 0


def test_enter_focuses_the_detail_pane(qtbot, main_window: MainWindow, store: Store) -> None:  # type: ignore[no-untyped-def]
    store.add(make_capture())
    main_window.captures.refresh()
    main_window.selection.select_row(0)
    _activate(qtbot, main_window)
    qtbot.keyClick(main_window.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main_window.detail.isAncestorOf(QApplication.focusWidget()))


def test_zoom_shortcuts_scale_the_font(qtbot, main_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.font().pointSizeF()
    main_window.activateWindow()
    target = main_window.filter_bar.text_edit
    target.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is target)
    qtbot.keyClick(target, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert main_window.settings.zoom == pytest.approx(1.1)
    assert app.font().pointSizeF() > before
    qtbot.keyClick(target, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert main_window.settings.zoom == pytest.approx(1.0)
    qtbot.keyClick(target, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(target, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert main_window.settings.zoom == pytest.approx(1.0)
    assert app.font().pointSizeF() == pytest.approx(before)


def test_new_rows_keep_the_selection(qtbot, main_window: MainWindow, rsa_key) -> None:  # type: ignore[no-untyped-def]
    main_window.commands["captures.follow"].setChecked(False)
    for i in range(3):
        body = event_body(entityRef=f"OLD-{i}")
        post(main_window, body, signed_headers(rsa_key, body), f"/old/{i}")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 3)
    main_window.selection.select_row(1)
    chosen = main_window.selection.selected_ids()
    for i in range(2):
        body = event_body(entityRef=f"NEW-{i}")
        post(main_window, body, signed_headers(rsa_key, body), f"/new/{i}")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 5)
    assert main_window.selection.selected_ids() == chosen
    assert main_window.table.currentIndex().row() == 3
    assert not main_window.commands["captures.follow"].isChecked()


def test_follow_newest_selects_each_arrival(qtbot, main_window: MainWindow, rsa_key) -> None:  # type: ignore[no-untyped-def]
    main_window.commands["captures.follow"].setChecked(True)
    for i in range(2):
        body = event_body(entityRef=f"F-{i}")
        post(main_window, body, signed_headers(rsa_key, body), f"/follow/{i}")
        qtbot.waitUntil(lambda i=i: main_window.model.rowCount() == i + 1)
        qtbot.waitUntil(
            lambda i=i: main_window.selection.selected_ids() == [main_window.model.row_at(0).id]
        )
    assert main_window.model.row_at(0).path == "/follow/1"


def test_settings_round_trip_through_a_new_window(
    qtbot,
    store: Store,
    keyring: KeyRing,
    settings_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(QSettings(str(settings_path), QSettings.Format.IniFormat))
    first = build_main_window(
        store, keyring, settings, ListenerConfig(port=0), start_listener=False
    )
    qtbot.addWidget(first)
    first.show()
    first.resize(701, 503)  # the offscreen screen is 800x600
    size = (first.width(), first.height())
    first.table.setColumnWidth(2, 333)
    header = first.table.horizontalHeader()
    header.moveSection(header.visualIndex(3), 0)
    first.detail.setCurrentIndex(3)
    first.commands["captures.follow"].setChecked(False)
    first.close()

    reread = Settings(QSettings(str(settings_path), QSettings.Format.IniFormat))
    second = build_main_window(store, keyring, reread, ListenerConfig(port=0), start_listener=False)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == size
    assert second.table.columnWidth(2) == 333
    assert second.table.horizontalHeader().logicalIndex(0) == 3
    assert second.detail.currentIndex() == 3
    assert not second.commands["captures.follow"].isChecked()
    second.shutdown()


def test_empty_state_button_sends_a_demo_signed_webhook(
    qtbot,
    main_window: MainWindow,
    keyring: KeyRing,  # type: ignore[no-untyped-def]
) -> None:
    keyring.add(demo.DEMO_KEY_NAME, demo.demo_public_b64())
    assert main_window.stack.currentWidget() is main_window.empty_state
    assert main_window.listener.url() in main_window.empty_state.url_label.text()
    qtbot.mouseClick(main_window.empty_state.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    model = main_window.model
    assert model.index(0, COL_FLEX).data(VERDICT_ROLE) is Verdict.VALID
    assert model.index(0, COL_FLUENT).data(VERDICT_ROLE) is Verdict.VALID
    assert model.row_at(0).flex_key == demo.DEMO_KEY_NAME
    assert model.row_at(0).fluent_key == demo.DEMO_KEY_NAME
    assert main_window.stack.currentWidget() is main_window.table


def test_demo_key_is_registered_once(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys.json")
    assert demo.ensure_demo_key(ring, tmp_path)
    assert [k.name for k in ring.keys()] == ["demo"]
    ring.remove("demo")
    assert not demo.ensure_demo_key(ring, tmp_path)  # the user's removal sticks
    assert ring.keys() == ()


def test_busy_port_is_reported_in_the_status_area(
    qtbot,
    store: Store,
    keyring: KeyRing,
    gui_settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        window = build_main_window(store, keyring, gui_settings, ListenerConfig(port=port))
        qtbot.addWidget(window)
        # The window does not wait for the child process: it says so, then the outcome.
        assert window.status_panel.status.state is ListenerState.STARTING
        assert window.status_panel.health_text() == "Starting…"
        wait_listening(qtbot, window)
        status = window.status_panel.status
        assert status.state is ListenerState.FAILED
        health = window.status_panel.health_text()
        assert f"Port {port}" in health and "already in use" in health
        assert (
            "--port N, or in the window: Listener → Listener settings…" in health
        )  # the child's message, with the fix
        assert not window.commands["listener.send"].isEnabled()
    # the fix works from the UI: start again once the port is free
    assert window.listener.start()
    assert window.status_panel.status.state is ListenerState.LISTENING
    window.shutdown()


def test_listener_can_be_stopped_and_restarted(qtbot, main_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    main_window.commands["listener.toggle"].trigger()
    assert main_window.listener.url() is None
    assert main_window.status_panel.status.state is ListenerState.STOPPED
    main_window.commands["listener.toggle"].trigger()
    assert main_window.status_panel.status.state is ListenerState.STARTING
    assert (
        main_window.commands["listener.toggle"].text() == "Stop listener"
    )  # a start can be cancelled too
    wait_listening(qtbot, main_window)
    assert main_window.listener.url()


def test_reverify_after_adding_a_key(
    qtbot,
    store: Store,
    gui_settings: Settings,
    rsa_key,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.crypto import spki_b64

    empty_ring = KeyRing(tmp_path / "other-keys.json")
    window = build_main_window(store, empty_ring, gui_settings, ListenerConfig(port=0))
    qtbot.addWidget(window)
    wait_listening(qtbot, window)
    body = event_body()
    post(window, body, signed_headers(rsa_key, body))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.model.index(0, COL_FLUENT).data(VERDICT_ROLE) is Verdict.NO_KEY
    empty_ring.add("late-key", spki_b64(rsa_key))
    worker = window.transfer.reverify_all()
    qtbot.waitUntil(lambda: worker.is_done)
    qtbot.waitUntil(lambda: window.model.index(0, COL_FLUENT).data(VERDICT_ROLE) is Verdict.VALID)
    assert window.model.row_at(0).fluent_key == "late-key"
    window.shutdown()


def test_copy_as_curl_replays_the_exact_bytes(
    qtbot,
    main_window: MainWindow,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    body = b'{"name":"X","id":"it\'s \\"quoted\\" $HOME `x` %s \\u00e9"}\n\t' + "é".encode()
    post(main_window, body, signed_headers(rsa_key, body), "/curl?a=1&b=2")
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    main_window.selection.select_row(0)
    capture = main_window.selection.current_capture()
    assert capture is not None
    command = curl_command(capture, main_window.listener.url() or "")
    result = subprocess.run(["bash", "-c", command + " -s -o /dev/null"], timeout=30, check=False)
    assert result.returncode == 0
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 2)
    replay = main_window.store.get(main_window.model.row_at(0).id)
    assert replay is not None
    assert replay.body == body
    assert replay.target == "/curl?a=1&b=2"
    assert {c.verdict for c in replay.signatures} == {Verdict.VALID}


def test_export_and_import_round_trip(
    qtbot,
    main_window: MainWindow,
    store: Store,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    pytest.importorskip("inspector.core.exchange")
    originals = [store.add(make_capture(event_name=f"E{i}")) for i in range(5)]
    main_window.captures.refresh()
    target = tmp_path / "out.jsonl"
    worker = main_window.transfer.export_to(target, "jsonl")
    qtbot.waitUntil(lambda: worker.is_done, timeout=10000)
    lines = target.read_bytes().splitlines()
    assert len(lines) == 5
    assert {json.loads(line)["id"] for line in lines} == {c.id for c in originals}
    store.clear()
    main_window.captures.refresh()
    assert main_window.model.rowCount() == 0
    worker = main_window.transfer.import_from(target)
    qtbot.waitUntil(lambda: worker.is_done, timeout=10000)
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 5)
    assert store.get(originals[0].id) is not None


def test_ctrl_f_finds_in_the_json_tab_and_filters_elsewhere(
    qtbot,
    main_window: MainWindow,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    store.add(make_capture())
    main_window.captures.refresh()
    main_window.selection.select_row(0)
    main_window.selection.current_capture()
    main_window.activateWindow()
    detail = main_window.detail
    detail.setCurrentWidget(detail.json)
    detail.json.tree.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is detail.json.tree)
    qtbot.keyClick(detail.json.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is detail.json.find_edit
    detail.setCurrentWidget(detail.headers)
    detail.headers.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is detail.headers.table)
    qtbot.keyClick(detail.headers.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is main_window.filter_bar.text_edit


def test_listener_settings_validate_and_restart(qtbot, main_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    from inspector.gui.widgets.listener_settings import ListenerSettingsDialog

    dialog = ListenerSettingsDialog(main_window.listener.config, main_window)
    qtbot.addWidget(dialog)
    dialog.host.setText("0.0.0.0")
    assert dialog.warning.text() and "0.0.0.0" in (dialog.validate() or "")
    dialog.allow_remote.setChecked(True)
    assert dialog.validate() is None
    dialog.host.setText("127.0.0.1")
    dialog.tls_cert.setText("/nonexistent/cert.pem")
    assert "key" in (dialog.validate() or "")
    dialog.tls_cert.clear()
    dialog.port.setValue(0)
    assert dialog.max_connections.value() == 1000
    dialog.max_connections.setValue(5)
    config = dialog.config()
    assert config.max_connections == 5
    old_url = main_window.listener.url()
    assert main_window.listener.restart(config)
    assert main_window.listener.url() and main_window.listener.url() != old_url


def test_run_opens_the_window_and_closes_cleanly(
    qtbot,
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from PySide6.QtCore import QTimer

    from inspector.gui import app as app_module

    seen: dict[str, object] = {}

    def close_window() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        window = next(w for w in windows if w.isVisible())
        seen["url"] = window.listener.url()
        seen["keys"] = [k.name for k in window.keyring.keys()]
        window.close()

    def close_when_listening() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        window = next((w for w in windows if w.isVisible()), None)
        if window is not None and window.status_panel.status.state in (
            ListenerState.LISTENING,
            ListenerState.FAILED,
        ):
            seen["pid"] = getattr(window.listener.handle, "pid", None)
            close_window()
        else:
            QTimer.singleShot(50, close_when_listening)

    QTimer.singleShot(0, close_when_listening)
    code = app_module.run("127.0.0.1", 0, tmp_path / "data")
    assert code == 0
    assert seen["url"]
    assert seen["keys"] == ["demo"]
    assert (tmp_path / "data" / "captures.sqlite3").exists()
    pid = seen["pid"]
    assert isinstance(pid, int) and process_gone(pid)  # the listener process went with it


def test_follow_newest_does_not_reload_the_detail_pane_every_batch(
    qtbot,
    main_window: MainWindow,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    main_window.commands["captures.follow"].setChecked(True)
    loads: list[str | None] = []
    main_window.detail.capture_changed.connect(lambda c: loads.append(c.id if c else None))
    first = store.add(make_capture(entity_ref="FIRST"))
    main_window.model.capture_added()
    qtbot.waitUntil(lambda: main_window.detail.capture is not None)
    assert loads == [first.id]
    # Live batches while the detail pane was loaded "just now": the selection follows every
    # batch at once, the detail pane waits for follow_detail_ms.
    main_window.selection.follow_detail_ms = 60_000
    newest = first
    for i in range(5):
        newest = store.add(make_capture(entity_ref=f"NEXT-{i}"))
        main_window.model.flush()
        assert main_window.selection.selected_ids() == [newest.id]
    qtbot.wait(100)
    assert loads == [first.id]
    # The user's own selection loads at once.
    main_window.captures.move_selection(1)
    qtbot.waitUntil(lambda: len(loads) == 2)
    assert main_window.commands["captures.follow"].isChecked() is False
    main_window.selection.follow_detail_ms = 0
    main_window.commands["captures.follow"].setChecked(
        True
    )  # back to the top: the newest is shown again
    extra = store.add(make_capture(entity_ref="LAST"))
    main_window.model.flush()
    qtbot.waitUntil(lambda: loads[-1] == extra.id)
    assert main_window.detail.capture is not None and main_window.detail.capture.id == extra.id
    assert newest.id != extra.id
    assert main_window.model.total == store.count() == 7


def test_the_default_listener_is_a_child_process_that_closing_stops(
    qtbot,
    main_window: MainWindow,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    listener = main_window.listener.handle
    assert isinstance(listener, ListenerProcess)
    pid = listener.pid
    assert pid is not None and pid != os.getpid()
    body = event_body()
    assert post(main_window, body, signed_headers(rsa_key, body)).status_code == 200
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    assert main_window.status_panel.rate() >= 0  # the capture reached the status area too
    main_window.close()
    assert process_gone(pid)
    assert main_window.listener.handle is None


def test_the_in_process_listener_can_still_be_injected(
    qtbot,
    store: Store,
    keyring: KeyRing,
    gui_settings: Settings,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    window = build_main_window(
        store, keyring, gui_settings, ListenerConfig(port=0), listener_factory=Listener
    )
    qtbot.addWidget(window)
    try:
        assert isinstance(window.listener.handle, Listener)  # no start_async: started at once
        assert window.listener.url()
        body = event_body()
        post(window, body, signed_headers(rsa_key, body))
        qtbot.waitUntil(lambda: window.model.rowCount() == 1)
        assert window.model.index(0, COL_FLUENT).data(VERDICT_ROLE) is Verdict.VALID
    finally:
        window.shutdown()


def test_a_listener_process_that_dies_is_reported_and_can_be_restarted(
    qtbot,
    main_window: MainWindow,  # type: ignore[no-untyped-def]
) -> None:
    import signal

    listener = main_window.listener.handle
    assert isinstance(listener, ListenerProcess) and listener.pid is not None
    os.kill(listener.pid, signal.SIGKILL)
    qtbot.waitUntil(
        lambda: main_window.status_panel.status.state is ListenerState.FAILED, timeout=20_000
    )
    assert "ended unexpectedly" in main_window.status_panel.health_text()
    assert main_window.commands["listener.toggle"].text() == "Start listener"
    main_window.commands["listener.toggle"].trigger()  # Ctrl+L, as the message says
    wait_listening(qtbot, main_window)
    assert main_window.listener.url()
