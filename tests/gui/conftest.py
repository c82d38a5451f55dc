"""Fixtures for the main-window tests: a real store, key ring, settings file and window."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from PySide6.QtCore import QSettings

from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig
from inspector.core.store import Store
from inspector.gui.settings import Settings
from tests.support.crypto import make_rsa_key, spki_b64

TEST_KEY_NAME = "test-sandbox"


@pytest.fixture
def rsa_key() -> RSAPrivateKey:
    return make_rsa_key(1024)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "captures.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def keyring(tmp_path: Path, rsa_key: RSAPrivateKey) -> KeyRing:
    ring = KeyRing(tmp_path / "keys.json")
    ring.add(TEST_KEY_NAME, spki_b64(rsa_key))
    return ring


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def gui_settings(settings_path: Path) -> Settings:
    return Settings(QSettings(str(settings_path), QSettings.Format.IniFormat))


LISTENER_START_MS = 30_000
"""Upper bound for the listener process to come up (~0.5 s normally; CI can be slow)."""


def wait_listening(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Wait until the window's listener (a child process by default) listens or failed."""
    from inspector.core.listener import ListenerState

    qtbot.waitUntil(
        lambda: window.status_panel.status.state in (ListenerState.LISTENING, ListenerState.FAILED),
        timeout=LISTENER_START_MS,
    )


@pytest.fixture
def main_window(qtbot, store: Store, keyring: KeyRing, gui_settings: Settings):  # type: ignore[no-untyped-def]
    """The real window with its real listener - the app's default, a child process - on an
    ephemeral loopback port."""
    from inspector.gui.app import build_main_window

    window = build_main_window(store, keyring, gui_settings, ListenerConfig(port=0))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    wait_listening(qtbot, window)
    assert window.listener.url(), window.status_panel.health_text()
    yield window
    window.shutdown()


def post(
    window,  # type: ignore[no-untyped-def]
    body: bytes,
    headers: Sequence[tuple[str, str]] = (),
    path: str = "/hooks/fluent",
) -> httpx.Response:
    """POST over real loopback HTTP to the window's listener (from the test thread)."""
    url = window.listener.url()
    assert url
    return httpx.post(
        url.rstrip("/") + path,
        content=body,
        headers=[("Content-Type", "application/json"), *headers],
        timeout=10,
    )
