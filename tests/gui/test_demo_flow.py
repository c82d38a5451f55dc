"""Start demo in the real window: the offline sandbox plays an order's lifecycle into the
window's own listener over loopback HTTP, and the GraphQL tab asks the sandbox for the order's
current state - what a solution architect shows on a projector, offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.core import demo
from inspector.core.capture import Verdict
from inspector.core.demo import DEMO_PROFILE
from inspector.core.followup_history import RunStatus
from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui.app import build_main_window
from inspector.gui.delegates.verdict_badge import VERDICT_ROLE
from inspector.gui.mainwindow import MainWindow
from inspector.gui.models.capture_table import COL_ENTITY_NOW, COL_FLEX, COL_FLUENT
from inspector.gui.settings import Settings
from inspector.gui.widgets.detail_pane import TAB_GRAPHQL
from tests.gui.conftest import wait_listening
from tests.support.captures import make_capture
from tests.support.keyring_double import MemoryKeyring

LIFECYCLE = [
    "OrderCreated",
    "OrderBooked",
    "FulfilmentCreated",
    "FulfilmentPicked",
    "FulfilmentShipped",
    "OrderComplete",
]
# Threads the window starts for follow-ups and the demo; none may outlive it.
OWN_THREADS = ("fluent-api", "fluent-sandbox")


@pytest.fixture
def secrets() -> Iterator[SecretStore]:
    store = SecretStore(service="test-demo-flow", backend=MemoryKeyring())
    yield store
    store.forget_session()


def _own_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.is_alive() and t.name in OWN_THREADS]


@pytest.fixture
def window(  # type: ignore[no-untyped-def]
    qtbot,
    store: Store,
    keyring: KeyRing,
    gui_settings: Settings,
    data_dir: Path,
    secrets: SecretStore,
) -> Iterator[MainWindow]:
    before = _own_threads()
    win = build_main_window(
        store, keyring, gui_settings, ListenerConfig(port=0), data_dir=data_dir, secrets=secrets
    )
    win.demo.step_seconds = 0.05
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    wait_listening(qtbot, win)
    assert win.listener.url(), win.status_panel.health_text()
    yield win
    win.shutdown()
    assert _own_threads() == before


def _press(qtbot, window: MainWindow, widget, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    window.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget)
    qtbot.keyClick(widget, key, Qt.KeyboardModifier.ControlModifier)


def _row_named(window: MainWindow, name: str) -> int:
    model = window.model
    return next(r for r in range(model.rowCount()) if model.row_at(r).event_name == name)


def _entity_now(window: MainWindow, name: str) -> str:
    return str(window.model.index(_row_named(window, name), COL_ENTITY_NOW).data())


def _start(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    button = window.toolbar.widgetForAction(window.commands["demo.toggle"])
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.demo.session is not None
    assert window.commands["demo.toggle"].text() == "Stop demo"


def test_start_demo_then_follow_up_shows_the_order_now(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert demo.DEMO_KEY_NAME not in {k.name for k in window.keyring.keys()}
    _start(qtbot, window)
    session = window.demo.session
    assert session is not None
    sandbox_url = session.sandbox.base_url
    assert f"Demo: sandbox at {sandbox_url}, playing order-lifecycle" in window.demo_label.text()
    assert window.graphql.current_profile() is not None
    assert window.graphql.current_profile().name == DEMO_PROFILE  # type: ignore[union-attr]

    model = window.model
    qtbot.waitUntil(lambda: model.rowCount() == len(LIFECYCLE), timeout=20_000)
    qtbot.waitUntil(lambda: session.scenario.done(), timeout=20_000)
    qtbot.waitUntil(lambda: "played (6 webhooks)" in window.demo_label.text())
    assert [model.row_at(r).event_name for r in range(model.rowCount())] == LIFECYCLE[::-1]
    for r in range(model.rowCount()):
        # Signed by the sandbox with the demo key pair, which Start demo registered.
        assert model.index(r, COL_FLEX).data(VERDICT_ROLE) is Verdict.VALID
        assert model.index(r, COL_FLUENT).data(VERDICT_ROLE) is Verdict.VALID
        assert model.row_at(r).fluent_key == demo.DEMO_KEY_NAME
        assert model.row_at(r).path == "/hooks/demo"

    # Auto follow-up (on for ORDER and FULFILMENT during the demo) fills the Entity now column.
    assert window.graphql.auto.entity_types == {"ORDER", "FULFILMENT"}
    qtbot.waitUntil(lambda: _entity_now(window, "OrderComplete") == "COMPLETE", timeout=20_000)
    qtbot.waitUntil(lambda: _entity_now(window, "FulfilmentShipped") != "", timeout=20_000)

    # The architect clicks the first ORDER row, Ctrl+G, Ctrl+Enter.
    created = _row_named(window, "OrderCreated")
    window.selection.select_row(created)
    assert model.row_at(created).entity_status == "CREATED"  # what the webhook said then
    wanted = model.row_at(created).id
    qtbot.waitUntil(
        lambda: window.graphql.capture is not None and window.graphql.capture.id == wanted
    )
    _press(qtbot, window, window.table, Qt.Key.Key_G)
    assert window.detail.currentIndex() == TAB_GRAPHQL
    assert window.graphql.editor.hasFocus()
    panel = window.graphql
    with qtbot.waitSignal(panel.run_finished, timeout=20_000) as blocker:
        _press(qtbot, window, panel.editor, Qt.Key.Key_Return)
    run = blocker.args[0]
    assert run is not None and run.status is RunStatus.OK
    document = panel.results.result_view.model.document
    assert document["data"]["orderById"]["status"] == "COMPLETE"
    assert document["data"]["orderById"]["ref"] == model.row_at(created).entity_ref
    assert panel.results.result_view.model.rowCount() > 0
    assert "COMPLETE" in panel.results.raw_view.shown_text
    assert "HTTP 200" in panel.status_text
    assert _entity_now(window, "OrderCreated") == "COMPLETE"

    # Deleting the capture deletes its follow-up runs too.
    capture_id = model.row_at(created).id
    assert window.history.list_for(capture_id)
    window.selection.select_row(created)
    qtbot.waitUntil(lambda: window.selection.selected_ids() == [capture_id])
    original = QMessageBox.question
    QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Yes  # type: ignore[assignment]
    try:
        assert window.captures.delete_selected() == 1
        assert window.history.list_for(capture_id) == []
        assert window.history.count() > 0  # the other captures' auto follow-ups
        # Clear all runs in a worker: the window stays responsive while the store empties.
        assert window.captures.clear_all() is not None
        qtbot.waitUntil(lambda: window.model.total == 0 and window.model.rowCount() == 0)
        qtbot.waitUntil(lambda: window.history.count() == 0)
        assert window.store.count() == 0
    finally:
        QMessageBox.question = original  # type: ignore[method-assign]

    # Stop demo: the sandbox goes, the user's own auto follow-up choice (none) comes back.
    qtbot.mouseClick(
        window.toolbar.widgetForAction(window.commands["demo.toggle"]), Qt.MouseButton.LeftButton
    )
    assert window.demo.session is None and not session.running
    assert window.commands["demo.toggle"].text() == "Start demo"
    assert window.graphql.auto.entity_types == set()
    assert window.settings.graphql_auto_follow_up == ()
    assert window.demo_label.isHidden()
    with pytest.raises(httpx.HTTPError):
        httpx.post(sandbox_url + "/oauth/token", timeout=2)


def test_demo_keeps_the_users_auto_follow_up_choice(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.graphql.set_auto_follow_up(["FULFILMENT"])
    _start(qtbot, window)
    assert window.graphql.auto.entity_types == {"FULFILMENT"}
    qtbot.waitUntil(lambda: window.model.rowCount() == len(LIFECYCLE), timeout=20_000)
    qtbot.waitUntil(lambda: _entity_now(window, "FulfilmentShipped") != "", timeout=20_000)
    assert _entity_now(window, "OrderComplete") == ""
    window.commands["demo.toggle"].trigger()
    assert window.graphql.auto.entity_types == {"FULFILMENT"}


def test_entity_now_comes_back_from_history_after_a_restart(  # type: ignore[no-untyped-def]
    qtbot,
    window: MainWindow,
    store: Store,
    keyring: KeyRing,
    settings_path: Path,
    data_dir: Path,
    secrets: SecretStore,
) -> None:
    _start(qtbot, window)
    qtbot.waitUntil(lambda: window.model.rowCount() == len(LIFECYCLE), timeout=20_000)
    qtbot.waitUntil(lambda: _entity_now(window, "OrderComplete") == "COMPLETE", timeout=20_000)
    qtbot.waitUntil(lambda: window.graphql.auto.in_flight == 0 and not window.graphql.auto.pending)
    shown = {
        window.model.row_at(r).id: window.model.index(r, COL_ENTITY_NOW).data()
        for r in range(window.model.rowCount())
    }
    window.close()

    from PySide6.QtCore import QSettings

    reread = Settings(QSettings(str(settings_path), QSettings.Format.IniFormat))
    again = build_main_window(
        store,
        keyring,
        reread,
        ListenerConfig(port=0),
        start_listener=False,
        data_dir=data_dir,
        secrets=secrets,
    )
    qtbot.addWidget(again)
    try:
        restored = {
            again.model.row_at(r).id: again.model.index(r, COL_ENTITY_NOW).data()
            for r in range(again.model.rowCount())
        }
        assert restored == shown
        assert again.graphql.auto.entity_types == set()  # the demo's choice was put back
    finally:
        again.shutdown()


def test_panel_follows_the_selection(qtbot, window: MainWindow, store: Store) -> None:  # type: ignore[no-untyped-def]
    order = store.add(make_capture(entity_type="ORDER", entity_ref="HD_42", entity_id="42"))
    fulfilment = store.add(make_capture(entity_type="FULFILMENT", entity_ref="FF_7"))
    window.captures.refresh()
    window.detail.setCurrentIndex(TAB_GRAPHQL)
    panel = window.graphql
    for capture, ref in ((order, "HD_42"), (fulfilment, "FF_7")):
        row = window.model.row_of(capture.id)
        assert row is not None
        window.selection.select_row(row)
        qtbot.waitUntil(lambda c=capture: panel.capture is not None and panel.capture.id == c.id)
        assert ref in panel.context_note.text()
        assert panel.capture is window.detail.capture  # loaded once, shared
    assert "orderById" not in panel.editor.toPlainText()  # the fulfilment's template now
    window.table.selectionModel().clearCurrentIndex()
    qtbot.waitUntil(lambda: panel.capture is None)


def test_menus_offer_profiles_auto_follow_up_and_demo(window: MainWindow) -> None:
    texts = [a.text() for a in window.graphql_menu.actions()]
    assert "Connection profiles…" in texts
    assert "Auto follow-up" in texts
    assert "Start demo" in texts
    assert window.commands["graphql.focus"].shortcut().toString() == "Ctrl+G"
    assert window.commands["demo.toggle"].shortcut().toString() == "Ctrl+Shift+D"


def test_closing_the_window_with_a_demo_running_shuts_everything_down(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow
) -> None:
    window.demo.step_seconds = 30.0  # still playing when the window closes
    _start(qtbot, window)
    session = window.demo.session
    assert session is not None
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=20_000)
    assert not session.scenario.done()
    window.close()
    assert window.demo.session is None
    assert not session.running and session.scenario.done()
    assert window.listener.url() is None
    assert not [t for t in _own_threads() if t == "fluent-sandbox"]
    assert window.settings.graphql_auto_follow_up == ()
    assert window.settings.graphql_profile in ("", DEMO_PROFILE)


def test_empty_state_button_starts_the_demo(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert window.stack.currentWidget() is window.empty_state
    button = window.empty_state.demo_button
    assert button.isVisibleTo(window)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.demo.session is not None
    assert window.commands["demo.toggle"].text() == "Stop demo"
    qtbot.waitUntil(lambda: window.model.rowCount() >= 1, timeout=20_000)
    assert window.stack.currentWidget() is window.table
