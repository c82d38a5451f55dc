"""Entity now is the entity's state now: template follow-ups set it, nothing else does, and
auto follow-up pauses (saying so once) for a profile that does not answer - all in the real
window, against a real offline Sandbox, over loopback HTTP and real connection refusals."""

from __future__ import annotations

from pathlib import Path

from inspector.core.followup_history import FollowupHistory, RunStatus
from inspector.core.sandbox import Sandbox
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui.mainwindow import MainWindow
from inspector.gui.models.capture_table import COL_ENTITY_NOW
from inspector.gui.settings import Settings
from tests.gui.conftest import post
from tests.gui.graphql.conftest import (
    PASSWORD,
    SANDBOX_PROFILE,
    SECRET,
    WindowFactory,
    add_sandbox_profile,
)
from tests.support.captures import event_body, make_capture

RUN_MS = 15_000


def entity_now(window: MainWindow, capture_id: str) -> object:
    row = window.model.row_of(capture_id)
    assert row is not None
    return window.model.index(row, COL_ENTITY_NOW).data()


def run(qtbot, window: MainWindow) -> object:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.graphql.run_finished, timeout=RUN_MS) as blocker:
        assert window.graphql.run()
    return blocker.args[0]


def post_order(window: MainWindow, order_id: str) -> None:
    response = post(window, event_body(entityType="ORDER", entityId=order_id))
    assert response.status_code == 200


def test_only_the_template_follow_up_sets_entity_now(  # type: ignore[no-untyped-def]
    qtbot, sandbox_window: MainWindow, sandbox: Sandbox, store: Store
) -> None:
    window, panel = sandbox_window, sandbox_window.graphql
    order_id, order = next(iter(sandbox.data.orders.items()))
    capture = store.add(make_capture(entity_type="ORDER", entity_id=order_id))
    window.captures.refresh()
    window.selection.select_row(0)
    window.followup.focus_graphql()
    qtbot.waitUntil(lambda: panel.capture is not None and panel.capture.id == capture.id)
    qtbot.waitUntil(lambda: panel.schema_source.answered(SANDBOX_PROFILE), timeout=RUN_MS)

    # The prefilled template, unchanged: this is the entity's state now.
    assert run(qtbot, window).status is RunStatus.OK  # type: ignore[attr-defined]
    assert entity_now(window, capture.id) == order["status"]

    # A hand-written query that fails (errors only) says nothing about the entity.
    template = panel.editor.toPlainText()
    panel.query.set_query('{ orderById(id: "1") { bogusField } }', {})
    assert run(qtbot, window).status is RunStatus.ERRORS  # type: ignore[attr-defined]
    assert entity_now(window, capture.id) == order["status"]
    # Nor does the template asked about another entity, nor a failed run (the API is gone).
    panel.query.set_query(template, {"id": "999999"})  # "not found" - of another order
    assert run(qtbot, window).status is RunStatus.OK  # type: ignore[attr-defined]
    assert entity_now(window, capture.id) == order["status"]
    sandbox.stop()
    panel.query.set_query(template, {"id": order_id})
    assert run(qtbot, window).status is RunStatus.FAILED  # type: ignore[attr-defined]
    assert entity_now(window, capture.id) == order["status"]

    # Read back from the history (as after a restart): the newest answered template run.
    window.captures.refresh()
    qtbot.waitUntil(lambda: window.model.row_of(capture.id) is not None)
    assert entity_now(window, capture.id) == order["status"]


def test_auto_follow_up_pauses_once_when_its_profile_stops_answering(  # type: ignore[no-untyped-def]
    qtbot, sandbox_window: MainWindow, sandbox: Sandbox, data_dir: Path
) -> None:
    window, panel = sandbox_window, sandbox_window.graphql
    assert not panel.auto_button.resume_action.isVisible()
    reasons: list[str] = []
    panel.auto.paused_changed.connect(lambda _name, reason: reasons.append(reason))
    order_id = next(iter(sandbox.data.orders))
    with qtbot.waitSignal(panel.entity_status_fetched, timeout=RUN_MS):
        panel.set_auto_follow_up(["ORDER"])
        post_order(window, order_id)
    assert not reasons  # the profile answered the check and the follow-up

    sandbox.stop()  # now every connection is refused
    with qtbot.waitSignal(panel.auto.paused_changed, timeout=RUN_MS):
        post_order(window, order_id)
    qtbot.waitUntil(lambda: panel.auto.in_flight == 0)
    for _ in range(3):  # more webhooks while paused: not followed up, nothing said again
        post_order(window, order_id)
    qtbot.waitUntil(lambda: window.model.total == 5, timeout=RUN_MS)
    qtbot.wait(300)
    assert len(reasons) == 1 and SANDBOX_PROFILE in reasons[0]
    assert "cannot be reached" in reasons[0]
    assert SANDBOX_PROFILE in panel.auto.paused
    assert panel.auto.pending == 0 and panel.auto.in_flight == 0
    assert panel.auto_button.text() == "Auto follow-up: paused"
    assert panel.auto_button.resume_action.isVisible()
    assert "paused" in panel.status_text
    assert "paused" in window.statusBar().currentMessage()
    newest = [window.model.row_at(r).id for r in range(4)]
    assert all(entity_now(window, cid) in (None, "") for cid in newest)  # never "error"
    history = FollowupHistory.in_data_dir(data_dir)
    try:
        # Only the follow-up that found the profile gone was tried (and saved, failed).
        tried = [run for cid in newest for run in history.list_for(cid)]
        assert [run.status for run in tried] == [RunStatus.FAILED]
    finally:
        history.close()


def test_after_a_restart_auto_follow_up_does_not_stay_on_for_a_dead_profile(  # type: ignore[no-untyped-def]
    qtbot,
    open_window: WindowFactory,
    gui_settings: Settings,
    data_dir: Path,
    secrets: SecretStore,
) -> None:
    # Last session's sandbox (the demo's, say): it has stopped, its port refuses.
    gone = Sandbox(password=PASSWORD, client_secret=SECRET).start()
    port = gone.port
    add_sandbox_profile(data_dir, secrets, gone)
    gone.stop()
    gui_settings.graphql_profile = SANDBOX_PROFILE
    gui_settings.graphql_auto_follow_up = ("ORDER",)

    window = open_window()
    panel = window.graphql
    # Found out at start-up, before any webhook arrives, and said.
    qtbot.waitUntil(lambda: SANDBOX_PROFILE in panel.auto.paused, timeout=RUN_MS)
    assert panel.auto_button.text() == "Auto follow-up: paused"
    assert "cannot be reached" in panel.auto_button.toolTip()
    assert "paused" in window.statusBar().currentMessage()
    assert panel.auto_follow_up_types() == ("ORDER",)  # the choice itself is kept

    # The sandbox is back on its port: Resume checks again and follows up again.
    with Sandbox(port=port, password=PASSWORD, client_secret=SECRET) as back:
        with qtbot.waitSignal(panel.auto.paused_changed, timeout=RUN_MS) as resumed:
            panel.auto_button.resume_action.trigger()
        assert resumed.args == [SANDBOX_PROFILE, ""]
        qtbot.wait(300)  # the check answers; it must not pause again
        assert not panel.auto.paused
        assert panel.auto_button.text() == "Auto follow-up: ORDER"
        order_id, order = next(iter(back.data.orders.items()))
        with qtbot.waitSignal(panel.entity_status_fetched, timeout=RUN_MS) as fetched:
            post_order(window, order_id)
        assert fetched.args[1] == order["status"]
