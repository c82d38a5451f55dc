"""The GraphQL follow-up panel against a real offline Sandbox over loopback HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from graphql import GraphQLSchema
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.core.demo import start_demo
from inspector.core.events import parse_event
from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.fluent.runner import ApiRunner
from inspector.core.fluent.schema import BUNDLED_SCHEMA_LABEL, bundled_schema
from inspector.core.fluent.transport import RetryPolicy
from inspector.core.followup_history import FollowupHistory, RunStatus
from inspector.core.sandbox import Sandbox
from inspector.core.secrets import SecretStore
from inspector.gui import followup as followup_module
from inspector.gui.followup import FollowupRunner
from inspector.gui.settings import Settings
from inspector.gui.widgets.graphql.panel import GraphQLPanel
from inspector.gui.widgets.graphql.schema import BUNDLED_SOURCE, LOADING_SOURCE
from tests.gui.graphql.conftest import OFFSCREEN_POPUP, PASSWORD, SECRET
from tests.support.captures import make_capture

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def profiles(data_dir: Path, sandbox: Sandbox, secrets: SecretStore) -> ProfileStore:
    store = ProfileStore(data_dir)
    store.add(Profile("sb", sandbox.base_url, client_id="sandbox", username="demo"))
    secrets.set("sb", "client_secret", SECRET)
    secrets.set("sb", "password", PASSWORD)
    return store


@pytest.fixture
def history(data_dir: Path) -> Iterator[FollowupHistory]:
    opened = FollowupHistory.in_data_dir(data_dir)
    yield opened
    opened.close()


@pytest.fixture
def runner() -> Iterator[ApiRunner]:
    api_runner = ApiRunner()
    yield api_runner
    api_runner.close()


def make_panel(qtbot, profiles, secrets, history, runner, settings, *, wait_schema=True):  # type: ignore[no-untyped-def]
    api = FollowupRunner(runner, secrets, profiles.data_dir, retry=FAST)
    panel = GraphQLPanel(profiles, secrets, history, runner, settings, api=api)
    qtbot.addWidget(panel)
    panel.resize(1280, 760)
    panel.show()
    qtbot.waitExposed(panel)
    if wait_schema:
        # Introspection goes to /graphql too: let it finish before tests provoke faults there.
        qtbot.waitUntil(lambda: panel.schema_source.answered("sb"), timeout=10_000)
    return panel


@pytest.fixture
def panel(qtbot, profiles, secrets, history, runner, gui_settings: Settings):  # type: ignore[no-untyped-def]
    widget = make_panel(qtbot, profiles, secrets, history, runner, gui_settings)
    yield widget
    widget.shutdown()


def first_order_id(sandbox: Sandbox) -> str:
    return next(iter(sandbox.data.orders))


def run_and_wait(qtbot, panel: GraphQLPanel):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as blocker:
        assert panel.run()
    return blocker.args[0]


def no_message_boxes() -> bool:
    return not any(
        isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()
    )


# ------------------------------------------------------------------------------ prefill


def test_prefill_from_an_order_capture(panel: GraphQLPanel) -> None:
    capture = make_capture(entity_type="ORDER", entity_id="777", entity_ref="HD_777")
    panel.set_capture(capture)
    assert "orderById" in panel.editor.toPlainText()
    assert json.loads(panel.query.variables_edit.toPlainText()) == {"id": "777"}
    assert "OrderFollowUp" in panel.context_note.text()
    assert panel.query.variables_note.property("valid") is True


def test_prefill_catalogue_scoped_entity(panel: GraphQLPanel) -> None:
    capture = make_capture(
        entity_type="INVENTORY_POSITION",
        entity_ref="TEE-BLK-M:DC_MELBOURNE",
        root_entity_type="INVENTORY_CATALOGUE",
        root_entity_ref="DEFAULT:1",
    )
    panel.set_capture(capture)
    assert "inventoryPosition" in panel.editor.toPlainText()
    assert json.loads(panel.query.variables_edit.toPlainText()) == {
        "ref": "TEE-BLK-M:DC_MELBOURNE",
        "catalogueRef": "DEFAULT:1",
    }


def test_capture_without_event_asks_for_a_handwritten_query(panel: GraphQLPanel) -> None:
    capture = make_capture(body=b"plain text, not an event")
    assert capture.event is None
    panel.set_capture(capture)
    assert "not a Fluent event: write a query yourself" in panel.context_note.text()


def test_invalid_variables_are_flagged_and_block_the_run(panel: GraphQLPanel) -> None:
    panel.set_capture(make_capture(entity_type="ORDER"))
    panel.query.variables_edit.setPlainText('{"id": ')
    assert panel.query.variables_note.property("valid") is False
    assert not panel.run()
    assert "not valid JSON" in panel.status_text
    assert not panel.busy


# ------------------------------------------------------------------------------ running


def test_run_against_the_sandbox_saves_history_and_reruns(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox, history: FollowupHistory
) -> None:
    capture = make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox))
    panel.set_capture(capture)
    run = run_and_wait(qtbot, panel)

    assert run is not None and run.status is RunStatus.OK
    document = panel.results.result_view.model.document
    assert isinstance(document, dict)
    assert document["data"]["orderById"]["status"] == "COMPLETE"
    assert panel.results.result_view.model.rowCount() > 0
    assert "HTTP 200" in panel.status_text and " ms" in panel.status_text
    assert "COMPLETE" in panel.results.raw_view.shown_text
    assert [r.id for r in history.list_for(capture.id)] == [run.id]
    assert panel.history_view.tree.topLevelItemCount() == 1
    assert panel.results.tabs.tabText(2) == "History (1)"

    panel.resize(1280, 760)
    qtbot.wait(50)
    panel.grab().save("/tmp/graphql_panel.png")

    # Re-run from history: edit the query first, then load the saved one back and run it.
    panel.editor.setPlainText("{ me { id } }")
    item = panel.history_view.tree.topLevelItem(0)
    panel.history_view.tree.setCurrentItem(item)
    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as blocker:
        assert panel.run_again()
    assert "orderById" in panel.editor.toPlainText()
    assert blocker.args[0].status is RunStatus.OK
    assert len(history.list_for(capture.id)) == 2
    assert panel.history_view.tree.topLevelItemCount() == 2


def test_ctrl_enter_runs(qtbot, panel: GraphQLPanel, sandbox: Sandbox) -> None:
    panel.set_capture(make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox)))
    panel.activateWindow()
    panel.editor.setFocus()
    with qtbot.waitSignal(panel.run_finished, timeout=15_000):
        qtbot.keyClick(panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "HTTP 200" in panel.status_text


def test_selecting_a_capture_shows_its_last_saved_run(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox
) -> None:
    capture = make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox))
    panel.set_capture(capture)
    run_and_wait(qtbot, panel)
    panel.set_capture(make_capture(entity_type="ORDER", entity_id="0"))
    assert panel.results.result_view.model.document is None
    panel.set_capture(capture)
    assert panel.results.result_view.model.document["data"]["orderById"]["status"] == "COMPLETE"
    assert "Last saved run" in panel.status_text


def test_cancel_returns_to_idle_without_result(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox, history: FollowupHistory
) -> None:
    capture = make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox))
    panel.set_capture(capture)
    sandbox.delay_next(5)
    arrived = sandbox.arrived.get("/graphql", 0)
    assert panel.run()
    controls = panel.controls
    assert panel.busy and controls.cancel_button.isEnabled() and not controls.run_button.isEnabled()
    assert panel.controls.busy_bar.isVisible()
    qtbot.waitUntil(lambda: sandbox.arrived.get("/graphql", 0) > arrived, timeout=10_000)
    with qtbot.waitSignal(panel.run_finished, timeout=5_000) as blocker:
        panel.controls.cancel_button.click()
    assert blocker.args == [None]
    assert not panel.busy
    assert panel.controls.run_button.isEnabled() and not panel.controls.cancel_button.isEnabled()
    assert not panel.controls.busy_bar.isVisible()
    assert "Cancelled" in panel.status_text
    assert panel.results.result_view.model.document is None
    assert history.list_for(capture.id) == []


def test_permission_error_shows_partial_data_and_explains_c0020e(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox
) -> None:
    sandbox.deny_field("Order.customer", "CUSTOMER_VIEW")
    panel.set_capture(make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox)))
    run = run_and_wait(qtbot, panel)
    assert run.status is RunStatus.PARTIAL
    data = panel.results.result_view.model.document
    assert data["data"]["orderById"]["status"] == "COMPLETE"
    assert data["data"]["orderById"]["customer"] is None
    assert "CUSTOMER_VIEW" in json.dumps(data["errors"])
    assert "partial data" in panel.status_text and "HTTP 200" in panel.status_text
    explanations = panel.results.errors_label.text()
    panel.grab().save("/tmp/graphql_panel_errors.png")
    assert panel.results.errors_label.isVisible()
    assert "C0020E" in explanations and "permission" in explanations
    assert no_message_boxes()


def test_unauthorized_is_shown_in_words(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox, history: FollowupHistory
) -> None:
    capture = make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox))
    panel.set_capture(capture)
    sandbox.fail_next(401, times=2)
    run = run_and_wait(qtbot, panel)
    assert run.status is RunStatus.FAILED
    assert "rejected" in panel.status_text and "HTTP 401" in panel.status_text
    assert "Traceback" not in panel.status_text
    assert panel.results.result_view.model.document is None
    assert history.list_for(capture.id)[0].message == panel.status_text
    assert no_message_boxes()
    assert not panel.busy


def test_server_error_is_shown_in_words(qtbot, panel: GraphQLPanel, sandbox: Sandbox) -> None:
    panel.set_capture(make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox)))
    sandbox.fail_next(500, times=5)
    run = run_and_wait(qtbot, panel)
    assert run.status is RunStatus.FAILED and run.http_status == 500
    assert "server error (HTTP 500)" in panel.status_text
    assert "try again" in panel.status_text
    assert no_message_boxes()


@pytest.fixture
def panel_without_profiles(qtbot, data_dir: Path, secrets, history, runner, gui_settings):  # type: ignore[no-untyped-def]
    empty = ProfileStore(data_dir / "empty")
    widget = make_panel(qtbot, empty, secrets, history, runner, gui_settings, wait_schema=False)
    yield widget
    widget.shutdown()


def test_missing_profile_is_explained(panel_without_profiles: GraphQLPanel) -> None:
    panel = panel_without_profiles
    panel.set_capture(make_capture(entity_type="ORDER"))
    assert not panel.run()
    assert "Add a connection profile" in panel.status_text
    assert "No connection profile" in panel.schema_banner.note_label.text()


def test_copy_as_curl_leaves_the_token_out(panel: GraphQLPanel, sandbox: Sandbox) -> None:
    panel.set_capture(make_capture(entity_type="ORDER", entity_id="42"))
    command = panel.copy_curl()
    assert command is not None
    assert command == QGuiApplication.clipboard().text()
    assert "$FLUENT_TOKEN" in command and f"{sandbox.base_url}/graphql" in command
    assert SECRET not in command and PASSWORD not in command
    assert '\\"id\\": \\"42\\"' in command or '"id": "42"' in command


# ------------------------------------------------------------------------------ editor


@OFFSCREEN_POPUP
def test_completion_offers_fields_of_the_type_at_the_cursor(panel: GraphQLPanel) -> None:
    editor = panel.editor
    assert editor.schema is not None
    text = "query Q($id: ID!) {\n  orderById(id: $id) {\n    \n  }\n}\n"
    editor.setPlainText(text)
    cursor = editor.textCursor()
    cursor.setPosition(text.index("{\n    ") + len("{\n    "))
    editor.setTextCursor(cursor)
    context = editor.request_completion()
    assert context.kind == "field" and context.parent_type == "Order"
    assert {"status", "ref", "fulfilments"} <= set(context.items)
    assert editor.completer.popup().isVisible()
    editor.completer.popup().hide()


@OFFSCREEN_POPUP
def test_completion_with_ctrl_space_and_prefix_insertion(qtbot, panel: GraphQLPanel) -> None:
    editor = panel.editor
    editor.setPlainText("{ orderById(id: 1) { sta")
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    with qtbot.waitSignal(editor.completion_shown) as blocker:
        qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert "status" in blocker.args[0]
    assert editor.completer.completionPrefix() == "sta"
    editor.insert_completion("status")
    editor.completer.popup().hide()
    assert editor.toPlainText() == "{ orderById(id: 1) { status"


def test_completion_offers_argument_names_inside_parentheses(panel: GraphQLPanel) -> None:
    editor = panel.editor
    editor.setPlainText('{ inventoryPosition(ref: "X", ')
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    context = editor.completion_items()
    assert context.kind == "argument"
    assert "catalogue" in context.items


def test_validation_marks_an_unknown_field(qtbot, panel: GraphQLPanel) -> None:
    editor = panel.editor
    text = "query Q($id: ID!) {\n  orderById(id: $id) {\n    status\n    bogusField\n  }\n}\n"
    with qtbot.waitSignal(editor.diagnostics_changed, timeout=3_000) as blocker:
        editor.setPlainText(text)  # validation is debounced; the signal comes after the pause
    diagnostics = blocker.args[0]
    assert len(diagnostics) == 1
    assert diagnostics[0].line == 4 and diagnostics[0].column == 5
    assert "bogusField" in diagnostics[0].message
    start = text.index("bogusField")
    assert editor.marked_ranges() == [(start, start + len("bogusField"))]
    assert panel.query.diagnostics_list.isVisible()
    assert panel.query.diagnostics_list.item(0).text().startswith("4:5 ")
    editor.setPlainText(text.replace("bogusField", "ref"))
    assert editor.validate_now() == []
    assert editor.marked_ranges() == []
    assert not panel.query.diagnostics_list.isVisible()


def test_syntax_errors_are_marked_without_a_schema(panel: GraphQLPanel) -> None:
    panel.editor.set_schema(None)
    panel.editor.setPlainText("{ orderById(id: 1) { id ")
    diagnostics = panel.editor.validate_now()
    assert diagnostics and "Syntax Error" in diagnostics[0].message


def test_refused_introspection_falls_back_to_the_bundled_schema_and_runs_work(
    qtbot, sandbox: Sandbox, profiles, secrets, history, runner, gui_settings: Settings
) -> None:
    sandbox.refuse_introspection = True
    panel = make_panel(qtbot, profiles, secrets, history, runner, gui_settings)
    try:
        qtbot.waitUntil(lambda: panel.schema_source.label == BUNDLED_SOURCE, timeout=10_000)
        assert panel.editor.schema is bundled_schema()
        assert panel.schema_banner.source_label.text() == BUNDLED_SOURCE
        note = panel.schema_banner.note_label.text()
        assert "refuses schema introspection" in note and BUNDLED_SCHEMA_LABEL in note
        panel.editor.setPlainText("{ carr")
        panel.editor.moveCursor(QTextCursor.MoveOperation.End)
        assert "carriers" in panel.editor.completion_items().items
        panel.set_capture(make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox)))
        run = run_and_wait(qtbot, panel)
        assert run.status is RunStatus.OK
    finally:
        panel.shutdown()


# ------------------------------------------------------------------------------ bundled schema


def test_without_a_profile_the_bundled_schema_completes_and_validates(
    qtbot, panel_without_profiles: GraphQLPanel
) -> None:
    panel = panel_without_profiles
    banner = panel.schema_banner.source_label
    qtbot.waitUntil(lambda: banner.text() != LOADING_SOURCE, timeout=10_000)
    assert banner.text() == "schema: Fluent 23.10.1 (bundled) — your account may differ"
    assert banner.isVisible()
    editor = panel.editor
    editor.setPlainText("{ ord")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    context = editor.completion_items()
    assert context.kind == "field" and context.parent_type == "Query"
    assert "orders" in context.items
    editor.setPlainText("{ orders { edges { node { status bogusField } } } }")
    diagnostics = editor.validate_now()
    assert len(diagnostics) == 1 and "bogusField" in diagnostics[0].message
    assert panel.query.diagnostics_list.isVisible()


def test_the_live_schema_replaces_the_bundled_one_when_it_arrives(
    qtbot, sandbox: Sandbox, profiles, secrets, history, runner, gui_settings: Settings
) -> None:
    sandbox.delay_next(4)  # holds the introspection answer back
    changes: list[str] = []
    panel = make_panel(qtbot, profiles, secrets, history, runner, gui_settings, wait_schema=False)
    panel.schema_changed.connect(changes.append)
    try:
        banner = panel.schema_banner.source_label
        qtbot.waitUntil(lambda: banner.text() == BUNDLED_SOURCE, timeout=10_000)
        assert not panel.schema_source.answered("sb")
        assert "Loading the schema of sb" in panel.schema_banner.note_label.text()
        query = "{ carriers(first: 1) { edges { node { id } } } }"
        panel.editor.setPlainText(query)
        assert panel.editor.validate_now() == []  # a real Fluent field: fine by the bundled schema

        qtbot.waitUntil(lambda: panel.schema_source.answered("sb"), timeout=15_000)
        assert banner.text() == "schema: live from sb"
        assert changes[-1] == "schema: live from sb"
        live = panel.editor.schema
        assert live is not None and live is not bundled_schema()
        # The sandbox account has no 'carriers': the live schema, not the bundled one, decides.
        assert "carriers" in panel.editor.validate_now()[0].message
        panel.editor.setPlainText("{ carr")
        panel.editor.moveCursor(QTextCursor.MoveOperation.End)
        offered = panel.editor.completion_items().items
        assert "carrierById" in offered and "carriers" not in offered
    finally:
        panel.shutdown()


def test_the_bundled_schema_is_built_off_the_gui_thread(
    qtbot, data_dir: Path, secrets, runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_on: list[threading.Thread] = []
    real = followup_module.bundled_schema

    def recording() -> GraphQLSchema:
        built_on.append(threading.current_thread())
        return real()

    monkeypatch.setattr(followup_module, "bundled_schema", recording)
    api = FollowupRunner(runner, secrets, data_dir)
    try:
        with qtbot.waitSignal(api.schema_ready, timeout=10_000) as blocker:
            ticket = api.load_bundled_schema()
        assert blocker.args[:2] == [ticket, BUNDLED_SCHEMA_LABEL]
        assert blocker.args[2] is real()
        assert built_on and built_on[0] is not threading.main_thread()
    finally:
        api.close()


# ------------------------------------------------------------------------------ auto follow-up


def test_auto_follow_up_fetches_the_entity_status(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox, history: FollowupHistory, gui_settings: Settings
) -> None:
    panel.set_auto_follow_up(["ORDER"])
    assert panel.auto_button.text() == "Auto follow-up: ORDER"
    assert gui_settings.qsettings.value("graphql/auto_follow_up") == "ORDER"
    assert not panel.on_capture_added(make_capture(entity_type="FULFILMENT"))

    capture = make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox))
    with qtbot.waitSignal(panel.entity_status_fetched, timeout=15_000) as blocker:
        assert panel.on_capture_added(capture)
    assert blocker.args == [capture.id, "COMPLETE"]
    runs = history.list_for(capture.id)
    assert len(runs) == 1 and runs[0].status is RunStatus.OK


def test_auto_follow_up_is_bounded(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox, history: FollowupHistory
) -> None:
    panel.set_auto_follow_up(["ORDER"])
    order_id = first_order_id(sandbox)
    captures = [make_capture(entity_type="ORDER", entity_id=order_id) for _ in range(5)]
    seen: list[tuple[str, str]] = []
    in_flight: list[int] = []
    panel.entity_status_fetched.connect(lambda cid, status: seen.append((cid, status)))
    panel.auto.run_saved.connect(lambda *_: in_flight.append(panel.auto.in_flight))
    for capture in captures:
        assert panel.on_capture_added(capture)
        assert panel.auto.in_flight <= 2
    # The rate limit queues the rest instead of starting them all at once.
    assert panel.auto.pending >= 3
    qtbot.waitUntil(lambda: len(seen) == 5, timeout=20_000)
    assert all(status == "COMPLETE" for _, status in seen)
    assert max(in_flight) <= 2
    assert all(len(history.list_for(c.id)) == 1 for c in captures)


def test_auto_follow_up_of_the_selected_capture_refreshes_history(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox
) -> None:
    panel.set_auto_follow_up(["ORDER"])
    capture = make_capture(entity_type="ORDER", entity_id=first_order_id(sandbox))
    panel.set_capture(capture)
    with qtbot.waitSignal(panel.auto.run_saved, timeout=15_000):
        panel.on_capture_added(capture)
    assert panel.history_view.tree.topLevelItemCount() == 1


# ------------------------------------------------------------------------------ demo


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    bodies: ClassVar[list[bytes]] = []
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/fluent", bodies
    server.shutdown()
    server.server_close()


def test_start_demo_plays_into_the_listener_and_the_panel_queries_it(
    qtbot,
    receiver: tuple[str, list[bytes]],
    data_dir: Path,
    secrets: SecretStore,
    history,
    runner,
    gui_settings: Settings,
) -> None:
    url, bodies = receiver
    profiles = ProfileStore(data_dir)
    session = start_demo(url, profiles=profiles, secrets=secrets, step_seconds=0.01)
    try:
        deliveries = session.scenario.result(timeout=20)
        assert len(deliveries) >= 6 and all(d.status == 200 for d in deliveries)
        assert len(bodies) == len(deliveries)
        demo = profiles.get("demo")
        assert demo.base_url == session.sandbox.base_url
        assert secrets.get("demo", "password") == session.sandbox.password
        assert secrets.get("demo", "client_secret") == session.sandbox.client_secret
        saved = (data_dir / "profiles.json").read_text()
        assert session.sandbox.password not in saved
        assert session.sandbox.client_secret not in saved

        panel = make_panel(
            qtbot, profiles, secrets, history, runner, gui_settings, wait_schema=False
        )
        try:
            panel.reload_profiles("demo")
            qtbot.waitUntil(lambda: panel.schema_source.answered("demo"), timeout=10_000)
            event = parse_event(bodies[-1])
            assert event is not None
            capture = make_capture(body=bodies[-1])
            panel.set_capture(capture)
            run = run_and_wait(qtbot, panel)
            assert run.status is RunStatus.OK
            assert "HTTP 200" in panel.status_text
        finally:
            panel.shutdown()
    finally:
        session.stop()
    assert not session.running


# ------------------------------------------------------------------------------ profiles


def test_manage_profiles_adds_a_profile_and_the_combo_follows(
    qtbot, panel: GraphQLPanel, sandbox: Sandbox, secrets: SecretStore
) -> None:
    dialog = panel.manage_profiles()
    assert dialog.isVisible()
    dialog.new_profile()
    dialog.name_edit.setText("second")
    dialog.base_url_edit.setText(sandbox.base_url + "/graphql")  # pasted GraphQL URL
    dialog.client_id_edit.setText("sandbox")
    dialog.username_edit.setText("demo")
    dialog.client_secret_edit.setText(SECRET)
    dialog.password_edit.setText(PASSWORD)
    assert dialog.save(), dialog.message.text()
    assert panel.profile_bar.combo.currentText() == "second"
    assert panel.profiles.get("second").base_url == sandbox.base_url
    assert secrets.get("second", "password") == PASSWORD
    qtbot.waitUntil(lambda: panel.schema_source.answered("second"), timeout=10_000)
    assert panel.editor.schema is not None
    dialog.close()


def test_profile_dialog_reports_problems_inline(
    qtbot, profiles: ProfileStore, secrets: SecretStore
) -> None:
    from inspector.gui.widgets.profile_dialog import ProfileDialog

    dialog = ProfileDialog(profiles, secrets)
    qtbot.addWidget(dialog)
    dialog.new_profile()
    dialog.name_edit.setText("bad")
    dialog.base_url_edit.setText("http://example.com")
    dialog.client_id_edit.setText("c")
    dialog.username_edit.setText("u")
    assert not dialog.save()
    assert "plain http" in dialog.message.text()
    assert no_message_boxes()


def test_profile_dialog_rename_token_mode_and_remove(
    qtbot, profiles: ProfileStore, secrets: SecretStore, sandbox: Sandbox
) -> None:
    from inspector.gui.widgets.profile_dialog import ProfileDialog

    dialog = ProfileDialog(profiles, secrets, select="sb")
    qtbot.addWidget(dialog)
    changed: list[str] = []
    dialog.profiles_changed.connect(changed.append)
    assert dialog.name_edit.text() == "sb"
    assert dialog.password_edit.text() == ""  # stored secrets are never shown
    assert "stored" in dialog.password_edit.placeholderText()

    dialog.name_edit.setText("renamed")
    assert dialog.save(), dialog.message.text()
    assert [p.name for p in profiles.list()] == ["renamed"]
    assert secrets.get("renamed", "password") == PASSWORD
    assert secrets.get("sb", "password") is None
    assert changed == ["sb", "renamed"]

    dialog.mode_combo.setCurrentIndex(1)
    assert not dialog.password_edit.isEnabled() and dialog.token_edit.isEnabled()
    dialog.token_edit.setText("pasted-token")
    assert dialog.save(), dialog.message.text()
    assert profiles.get("renamed").bearer_token_mode
    assert secrets.get("renamed", "token") == "pasted-token"

    assert dialog.remove_profile("renamed")
    assert profiles.list() == []
    assert secrets.get("renamed", "token") is None
    assert secrets.get("renamed", "password") is None
