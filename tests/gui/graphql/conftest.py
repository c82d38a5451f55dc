"""The real window with an offline Sandbox profile, for the GraphQL tab's window-level tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig
from inspector.core.sandbox import Sandbox
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui.app import build_main_window
from inspector.gui.mainwindow import MainWindow
from inspector.gui.settings import Settings
from tests.gui.conftest import wait_listening
from tests.support.keyring_double import MemoryKeyring

SANDBOX_SECRET = "window-secret-7Rt"
SANDBOX_PASSWORD = "window-pass-3Kd"
SANDBOX_PROFILE = "sb"


@pytest.fixture
def window_sandbox() -> Iterator[Sandbox]:
    with Sandbox(password=SANDBOX_PASSWORD, client_secret=SANDBOX_SECRET) as sb:
        yield sb


@pytest.fixture
def window_secrets() -> Iterator[SecretStore]:
    store = SecretStore(service="test-graphql-window", backend=MemoryKeyring())
    yield store
    store.forget_session()


def add_sandbox_profile(
    data_dir: Path, secrets: SecretStore, sandbox: Sandbox, name: str = SANDBOX_PROFILE
) -> None:
    ProfileStore(data_dir).add(
        Profile(name, sandbox.base_url, client_id="sandbox", username="demo")
    )
    secrets.set(name, "client_secret", SANDBOX_SECRET)
    secrets.set(name, "password", SANDBOX_PASSWORD)


def open_window(  # type: ignore[no-untyped-def]
    qtbot,
    store: Store,
    keyring: KeyRing,
    settings: Settings,
    data_dir: Path,
    secrets: SecretStore,
    size: tuple[int, int] = (1280, 800),
) -> MainWindow:
    """The real window (real listener child process), shown at ``size``."""
    window = build_main_window(
        store, keyring, settings, ListenerConfig(port=0), data_dir=data_dir, secrets=secrets
    )
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    wait_listening(qtbot, window)
    return window


@pytest.fixture
def sandbox_window(  # type: ignore[no-untyped-def]
    qtbot,
    store: Store,
    keyring: KeyRing,
    gui_settings: Settings,
    data_dir: Path,
    window_secrets: SecretStore,
    window_sandbox: Sandbox,
) -> Iterator[MainWindow]:
    """The window at 1280×800 with one profile, ``sb``, on a running Sandbox."""
    add_sandbox_profile(data_dir, window_secrets, window_sandbox)
    window = open_window(qtbot, store, keyring, gui_settings, data_dir, window_secrets)
    yield window
    window.shutdown()
