"""Signed-only mode and the secret path prefix in the window: the Listener settings dialog
(Generate, Copy, the switch, its refusal with no key), the prefix kept in the keyring (not
the settings file), the full URL in the title and the refused count in the status bar.
The real window, its real child-process listener and real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig, ListenerState
from inspector.core.secrets import LISTENER_SECRETS, SecretStore
from inspector.core.store import Store
from inspector.gui.settings import Settings
from inspector.gui.widgets.gate_settings import NO_KEY_FOR_SIGNED_ONLY
from inspector.gui.widgets.listener_settings import ListenerSettingsDialog
from tests.gui.conftest import LISTENER_START_MS, wait_listening
from tests.support.keyring_double import MemoryKeyring


def _dialog(qtbot, has_keys: bool = True, **config: object) -> ListenerSettingsDialog:  # type: ignore[no-untyped-def]
    dialog = ListenerSettingsDialog(
        ListenerConfig(port=8765, **config),  # type: ignore[arg-type]
        has_keys=lambda: has_keys,
    )
    qtbot.addWidget(dialog)
    return dialog


def test_generate_makes_a_fresh_unguessable_prefix_and_copy_gives_the_url(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot)
    gates = dialog.gates
    assert gates.prefix.text() == "" and gates.url.text() == "http://127.0.0.1:8765/"
    gates.generate.click()
    first = gates.prefix.text()
    assert re.fullmatch(r"/h/[A-Za-z0-9_-]{22}", first), first
    gates.generate.click()
    assert gates.prefix.text() != first
    prefix = gates.prefix.text()
    assert gates.url.text() == f"http://127.0.0.1:8765{prefix}"
    dialog.port.setValue(9000)
    assert gates.url.text() == f"http://127.0.0.1:9000{prefix}"
    gates.public_base.setText("https://abc.trycloudflare.com/")
    assert gates.url.text() == f"https://abc.trycloudflare.com{prefix}"
    gates.copy.click()
    assert QGuiApplication.clipboard().text() == f"https://abc.trycloudflare.com{prefix}"
    assert dialog.validate() is None
    assert dialog.config().path_prefix == prefix


def test_a_bad_prefix_is_explained_and_not_accepted(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot)
    dialog.gates.prefix.setText("/h/../x")
    assert "'..'" in dialog.gates.problem.text() and not dialog.gates.copy.isEnabled()
    dialog.accept()
    assert dialog.result() != ListenerSettingsDialog.DialogCode.Accepted
    assert "'..'" in dialog.error.text()
    dialog.gates.prefix.setText("/h/fine/")
    assert dialog.validate() is None and dialog.config().path_prefix == "/h/fine"
    dialog.gates.public_base.setText("abc.trycloudflare.com")
    assert "https://" in (dialog.validate() or "")


def test_signed_only_cannot_be_switched_on_without_a_key(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, has_keys=False)
    dialog.gates.signed_only.click()
    assert not dialog.gates.signed_only.isChecked()
    assert dialog.gates.problem.text() == NO_KEY_FOR_SIGNED_ONLY
    assert "Keys" in NO_KEY_FOR_SIGNED_ONLY
    # Saved on from an earlier session, with the keys gone since: Apply explains it.
    stale = _dialog(qtbot, has_keys=False, require_signature=True)
    assert stale.validate() == NO_KEY_FOR_SIGNED_ONLY
    keyed = _dialog(qtbot, has_keys=True)
    keyed.gates.signed_only.click()
    assert keyed.gates.signed_only.isChecked() and keyed.config().require_signature


@pytest.fixture
def secrets() -> SecretStore:
    return SecretStore(service="test-gates", backend=MemoryKeyring())


def _apply_in_next_dialog(prefix: str, signed_only: bool) -> list[str]:
    """Fill in the Listener settings dialog the app opens next and press Apply."""
    seen: list[str] = []

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ListenerSettingsDialog):
            QTimer.singleShot(20, fill)
            return
        dialog.port.setValue(0)
        dialog.gates.prefix.setText(prefix)
        dialog.gates.signed_only.setChecked(signed_only)
        seen.append(dialog.gates.url.text())
        dialog.accept()

    QTimer.singleShot(20, fill)
    return seen


def test_the_window_applies_keeps_and_shows_both(  # type: ignore[no-untyped-def]
    qtbot,
    store: Store,
    keyring: KeyRing,
    gui_settings: Settings,
    settings_path: Path,
    secrets: SecretStore,
) -> None:
    from inspector.gui.app import build_main_window, listener_config_from

    window = build_main_window(
        store, keyring, gui_settings, ListenerConfig(port=0), secrets=secrets
    )
    qtbot.addWidget(window)
    try:
        wait_listening(qtbot, window)
        prefix = "/h/window-Secret_0123456789"
        seen = _apply_in_next_dialog(prefix, signed_only=True)
        window.listener.open_settings()
        assert seen
        qtbot.waitUntil(
            lambda: (
                window.status_panel.status.state is ListenerState.LISTENING
                and prefix in (window.listener.url() or "")
            ),
            timeout=LISTENER_START_MS,
        )
        url = window.listener.url()
        assert url is not None and url.endswith(prefix)
        assert window.windowTitle().endswith(url)

        # Kept: the prefix in the keyring, never in the settings file; the switch in it.
        assert secrets.get(LISTENER_SECRETS, "path_prefix") == prefix
        gui_settings.sync()
        assert prefix not in settings_path.read_text()
        assert gui_settings.require_signature is True
        assert listener_config_from(gui_settings).require_signature is True

        base = url[: -len(prefix)]
        # Copy as cURL joins this with a capture's target, which holds the prefix already.
        assert window.listener.base_url() == base + "/"
        for path in ("/", "/h/", "/wp-login.php"):
            assert httpx.post(base + path, content=b"{}", timeout=10).status_code == 404
        assert httpx.post(url, content=b"{}", timeout=10).status_code == 401  # unsigned
        qtbot.waitUntil(
            lambda: window.status_panel.refused_text() == "3 refused outside the prefix",
            timeout=LISTENER_START_MS,
        )
        qtbot.waitUntil(lambda: store.count() == 1, timeout=LISTENER_START_MS)
    finally:
        window.shutdown()

    # A new window (a restart of the app) finds the prefix in the keyring again.
    again = build_main_window(
        store,
        keyring,
        gui_settings,
        listener_config_from(gui_settings),
        secrets=secrets,
        start_listener=False,
    )
    qtbot.addWidget(again)
    try:
        assert again.listener.config.path_prefix == prefix
        assert again.listener.config.require_signature is True
    finally:
        again.shutdown()
