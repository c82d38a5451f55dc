"""Secrets never reach disk: configure a profile through the dialog, run queries through the
panel (manual, auto follow-up, a failing one, cURL copy), then scan every file of the data
dir, the QSettings file and the log dir for the client secret, the password and the tokens.

Run once with an in-memory keyring backend (a test double of the third-party backend,
installed with ``keyring.set_keyring``) and once with keyring's ``fail`` backend, where the
secrets are kept for the session only and the dialog must say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from inspector.core.fluent.profiles import ProfileStore
from inspector.core.fluent.runner import ApiRunner
from inspector.core.fluent.transport import RetryPolicy
from inspector.core.followup_history import FollowupHistory
from inspector.core.sandbox import Sandbox
from inspector.core.secrets import NO_KEYRING_REASON, SecretStore
from inspector.gui.errors import setup_file_logging
from inspector.gui.followup import FollowupRunner
from inspector.gui.settings import Settings
from inspector.gui.widgets.graphql.panel import GraphQLPanel
from inspector.gui.widgets.profile_dialog import ProfileDialog
from tests.support.captures import make_capture
from tests.support.keyring_double import MemoryKeyring

CLIENT_SECRET = "cs-Leak-Canary-7f3a9d"
PASSWORD = "pw-Leak-Canary-91bc2e"


@pytest.fixture(params=["memory-keyring", "no-keyring"])
def backend(request: pytest.FixtureRequest) -> Iterator[keyring.backend.KeyringBackend]:
    previous = keyring.get_keyring()
    chosen: keyring.backend.KeyringBackend = (
        MemoryKeyring() if request.param == "memory-keyring" else keyring.backends.fail.Keyring()
    )
    keyring.set_keyring(chosen)
    yield chosen
    keyring.set_keyring(previous)


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs" / "inspector.log"
    handler = setup_file_logging(path)
    assert handler is not None
    # Everything, third-party libraries included, at DEBUG: a stricter net than the app's.
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    inspector_logger = logging.getLogger("inspector")
    inspector_logger.removeHandler(handler)  # root has it; avoid double lines
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def scan(paths: list[Path], needles: dict[str, str]) -> list[str]:
    found = []
    for base in paths:
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        for file in files:
            data = file.read_bytes()
            for label, needle in needles.items():
                if needle.encode() in data:
                    found.append(f"{label} in {file}")
    return found


def test_no_secret_or_token_reaches_disk(
    qtbot,
    backend: keyring.backend.KeyringBackend,
    tmp_path: Path,
    settings_path: Path,
    gui_settings: Settings,
    log_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    secrets = SecretStore(service="test-leak")
    persistent = not isinstance(backend, keyring.backends.fail.Keyring)
    assert secrets.persistent is persistent
    runner = ApiRunner()
    history = FollowupHistory.in_data_dir(data_dir)
    profiles = ProfileStore(data_dir)
    with Sandbox(client_secret=CLIENT_SECRET, password=PASSWORD) as sandbox:
        try:
            # Configure the profile through the dialog, as a user would.
            dialog = ProfileDialog(profiles, secrets)
            qtbot.addWidget(dialog)
            if persistent:
                assert "OS keyring" in dialog.storage_note.text()
            else:
                assert NO_KEYRING_REASON in dialog.storage_note.text()
            dialog.name_edit.setText("leaky")
            dialog.base_url_edit.setText(sandbox.base_url)
            dialog.client_id_edit.setText(sandbox.client_id)
            dialog.username_edit.setText(sandbox.username)
            dialog.retailer_edit.setText("1")
            dialog.client_secret_edit.setText(CLIENT_SECRET)
            dialog.password_edit.setText(PASSWORD)
            assert dialog.save(), dialog.message.text()
            assert dialog.client_secret_edit.text() == ""  # never read back into the form
            assert "stored" in dialog.password_edit.placeholderText()
            assert secrets.get("leaky", "password") == PASSWORD
            if persistent:
                assert isinstance(backend, MemoryKeyring)
                assert backend.values[("test-leak", "leaky:password")] == PASSWORD
            dialog.close()

            api = FollowupRunner(
                runner, secrets, data_dir, retry=RetryPolicy(max_retries=1, base_delay=0.01)
            )
            panel = GraphQLPanel(profiles, secrets, history, runner, gui_settings, api=api)
            qtbot.addWidget(panel)
            qtbot.waitUntil(lambda: panel.schema_source.answered("leaky"), timeout=10_000)
            assert panel.editor.schema is not None

            order_id = next(iter(sandbox.data.orders))
            capture = make_capture(entity_type="ORDER", entity_id=order_id)
            panel.set_capture(capture)
            with qtbot.waitSignal(panel.run_finished, timeout=15_000):
                assert panel.run()
            assert "HTTP 200" in panel.status_text

            # Every token ever issued is a needle: snapshot before expiry forgets them.
            issued = set(sandbox._access) | set(sandbox._refresh)
            sandbox.expire_tokens()  # the next run refreshes: a refresh token is issued too
            with qtbot.waitSignal(panel.run_finished, timeout=15_000):
                assert panel.run()
            assert "HTTP 200" in panel.status_text
            assert "refresh_token" in sandbox.grants

            sandbox.fail_next(401, times=2)
            with qtbot.waitSignal(panel.run_finished, timeout=15_000):
                assert panel.run()
            assert "HTTP 401" in panel.status_text

            panel.set_auto_follow_up(["ORDER"])
            with qtbot.waitSignal(panel.entity_status_fetched, timeout=15_000):
                panel.on_capture_added(make_capture(entity_type="ORDER", entity_id=order_id))
            command = panel.copy_curl()
            assert command is not None

            issued |= set(sandbox._access) | set(sandbox._refresh)
            tokens = sorted(issued)
            assert len(tokens) >= 4  # access + refresh, before and after the refresh
            panel.shutdown()
        finally:
            history.close()
            runner.close()
            gui_settings.sync()
            secrets.forget_session()

    needles = {"client secret": CLIENT_SECRET, "password": PASSWORD}
    needles.update({f"token {i}": token for i, token in enumerate(tokens)})
    assert (data_dir / "profiles.json").exists() and (data_dir / "followups.sqlite3").exists()
    assert (data_dir / "schemas" / "leaky.json").exists()
    assert settings_path.exists() and log_path.exists()
    assert log_path.stat().st_size > 0
    for name in needles.values():
        assert name not in (command or "")
    assert scan([data_dir, settings_path, log_path.parent], needles) == []
