"""The window's forward settings, Replay dialog and rules editor, with pytest-qt over a real
store, a real local target server and (for rules) the window's real child listener."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, Qt

from inspector.core.capture import Capture, Verdict
from inspector.core.demo import demo_private_key, demo_public_b64, sign_headers
from inspector.core.keys import load_public_key
from inspector.core.listener import ListenerConfig
from inspector.core.signatures import verify_headers
from inspector.core.store import Store
from inspector.gui.app import listener_config_from
from inspector.gui.models.capture_table import COL_RULE
from inspector.gui.settings import Settings
from inspector.gui.widgets.listener_settings import ListenerSettingsDialog
from inspector.gui.widgets.replay_dialog import KEY_DEMO, KEY_NONE, ReplayDialog
from tests.gui.conftest import post
from tests.support.captures import event_body, make_capture
from tests.support.target import target


def _signed(store: Store) -> Capture:
    body = event_body(name="OrderCreated")
    headers = (
        ("Host", "x"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *sign_headers(demo_private_key(), body),
    )
    return store.add(make_capture(body=body, headers=headers, target="/hooks/a"))


# --------------------------------------------------------------------------- forward settings


def test_forward_settings_make_the_listener_config_and_are_remembered(
    qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dialog = ListenerSettingsDialog(ListenerConfig(rules_file=tmp_path / "rules.json"))
    qtbot.addWidget(dialog)
    forward = dialog.forward
    forward.forward_to.setText("http://127.0.0.1:3000/int")
    forward.add_path("/wms/*", "http://127.0.0.1:4000")
    forward.timeout.setValue(2.5)
    forward.fallback.setValue(504)
    config = dialog.config()
    assert config.forward_to == "http://127.0.0.1:3000/int"
    assert config.forward_paths == (("/wms/*", "http://127.0.0.1:4000"),)
    assert (config.forward_timeout, config.forward_fallback) == (2.5, 504)
    assert config.rules_file == tmp_path / "rules.json"  # carried over, not edited here
    assert dialog.validate() is None
    forward.forward_to.setText("localhost:3000")
    problem = dialog.validate()
    assert problem is not None and "http://" in problem
    dialog.accept()
    assert dialog.error.text() == problem  # refused: the dialog stays open and says why
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    settings.forward_to = "http://127.0.0.1:3000"
    settings.set_forward_targets([("/wms/*", "http://127.0.0.1:4000")])
    settings.forward_fallback = 503
    again = listener_config_from(settings)
    assert again.forward_to == "http://127.0.0.1:3000"
    assert again.forward_paths == (("/wms/*", "http://127.0.0.1:4000"),)
    assert again.forward_fallback == 503


# --------------------------------------------------------------------------- replay dialog


def test_the_replay_dialog_re_signs_an_edited_body_with_the_demo_key(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    capture = _signed(store)
    with target("ok") as handler:
        dialog = ReplayDialog(store, [capture], handler.url)
        qtbot.addWidget(dialog)
        edited = dialog.body.toPlainText().replace("OrderCreated", "OrderCancelled")
        dialog.body.setPlainText(edited)
        assert "will not verify" in dialog.warning.text()
        dialog.key.setCurrentIndex(KEY_DEMO)
        with qtbot.waitSignal(dialog.replayed, timeout=10_000):
            qtbot.mouseClick(dialog.send, Qt.MouseButton.LeftButton)
        assert "HTTP 201" in dialog.outcome.toPlainText()
        assert "re-signed (test key demo)" in dialog.outcome.toPlainText()
    [got] = handler.received
    assert got.body == edited.encode()
    checks = verify_headers(tuple(got.headers), got.body, (load_public_key(demo_public_b64()),))
    assert [c.verdict for c in checks] == [Verdict.VALID, Verdict.VALID]
    [record] = store.replays(capture.id)
    assert record.edited and record.signed_with == "demo" and record.status == 201


def test_the_replay_dialog_refuses_a_bad_target_and_records_failures(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    capture = _signed(store)
    dialog = ReplayDialog(store, [capture], "not a url")
    qtbot.addWidget(dialog)
    assert dialog.start() is None and "http://" in dialog.outcome.toPlainText()
    with target("500") as handler:
        dialog.target.setText(handler.url)
        dialog.key.setCurrentIndex(KEY_NONE)
        with qtbot.waitSignal(dialog.replayed, timeout=10_000):
            dialog.start()
    assert "HTTP 500" in dialog.outcome.toPlainText()
    assert "byte-exact" in dialog.outcome.toPlainText()
    assert [r.status for r in store.replays(capture.id)] == [500]


# --------------------------------------------------------------------------- rules editor


def test_the_rules_editor_refuses_bad_rules_and_applies_good_ones_live(qtbot, main_window) -> None:  # type: ignore[no-untyped-def]
    window = main_window
    editor = window.act.open_rules()
    qtbot.addWidget(editor)
    editor.text.setPlainText('{"rules": [\n  {"name": "x", "respond": {"status": 42}}\n]}')
    assert not editor.save_button.isEnabled()
    assert "line 2" in editor.status.text()
    assert editor.save() is False
    path = window.data_dir / "rules.json"
    assert not path.exists()
    rules = {
        "rules": [{"name": "teapot", "match": {"path": "/hooks/*"}, "respond": {"status": 418}}]
    }
    editor.text.setPlainText(json.dumps(rules))
    assert editor.save_button.isEnabled()
    assert editor.save() is True
    assert "answers by these rules now" in editor.status.text(), editor.status.text()
    assert json.loads(path.read_text()) == rules
    # The running child listener answers by them, without a restart.
    assert post(window, b"{}").status_code == 418
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    assert window.model.index(0, COL_RULE).data() == "teapot"
    window.selection.select_row(0)
    capture = window.selection.current_capture()
    assert capture is not None and capture.rule == "teapot"
    assert "teapot" in window.detail.response.act.summary.text()


def test_the_replay_command_opens_on_the_selection_and_shows_replays_in_the_detail_pane(
    qtbot, main_window
) -> None:  # type: ignore[no-untyped-def]
    window = main_window
    assert post(window, b'{"a":1}').status_code == 200
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    window.selection.select_row(0)
    with target("ok") as handler:
        dialog = window.act.open_replay()
        assert dialog is not None
        qtbot.addWidget(dialog)
        dialog.target.setText(handler.url)
        with qtbot.waitSignal(dialog.replayed, timeout=10_000):
            dialog.start()
    assert handler.received[0].body == b'{"a":1}'
    qtbot.waitUntil(lambda: window.detail.response.act.replays.topLevelItemCount() == 1)
    item = window.detail.response.act.replays.topLevelItem(0)
    assert "HTTP 201" in item.text(2) and item.text(3) == "original"


def _answer_next_box(qtbot, button) -> list[str]:  # type: ignore[no-untyped-def]
    """Click ``button`` on the next message box the app opens, as a user would; returns
    its text once it has been seen."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(20, click)
    return seen


def test_closing_the_rules_editor_asks_before_dropping_unsaved_rules(qtbot, main_window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    editor = main_window.act.open_rules()
    editor.example.click()
    assert editor.unsaved
    seen = _answer_next_box(qtbot, QMessageBox.StandardButton.Cancel)
    editor.reject()
    assert seen and "not saved" in seen[0]
    assert editor.isVisible()  # Cancel keeps the editor and its text
    seen = _answer_next_box(qtbot, QMessageBox.StandardButton.Save)
    editor.reject()
    assert seen and not editor.isVisible()
    assert "fail twice" in editor.path.read_text(encoding="utf-8")  # saved and applied
    reopened = main_window.act.open_rules()
    assert not reopened.unsaved
    reopened.reject()  # nothing changed: closes without asking
    assert not reopened.isVisible()
