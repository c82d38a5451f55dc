"""Shared by the GraphQL tests: a real offline Sandbox, an in-memory keyring, and the real
window with a profile on that Sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

# The offscreen platform cannot raise windows or grab the keyboard, which a completion popup
# asks for; that is the test platform, not us.
OFFSCREEN_POPUP = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing the keyboard"
)
SECRET = "panel-secret-5Hq"
PASSWORD = "panel-pass-9Zw"
SANDBOX_PROFILE = "sb"

WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(password=PASSWORD, client_secret=SECRET) as sb:
        yield sb


@pytest.fixture
def secrets() -> Iterator[SecretStore]:
    store = SecretStore(service="test-graphql-panel", backend=MemoryKeyring())
    yield store
    store.forget_session()


def add_sandbox_profile(
    data_dir: Path, secrets: SecretStore, sandbox: Sandbox, name: str = SANDBOX_PROFILE
) -> None:
    profile = Profile(name, sandbox.base_url, client_id="sandbox", username="demo")
    ProfileStore(data_dir).add(profile)
    secrets.set(name, "client_secret", SECRET)
    secrets.set(name, "password", PASSWORD)


@pytest.fixture
def open_window(  # type: ignore[no-untyped-def]
    qtbot,
    store: Store,
    keyring: KeyRing,
    gui_settings: Settings,
    data_dir: Path,
    secrets: SecretStore,
) -> Iterator[WindowFactory]:
    """Opens the real window (real listener child process) at a size, shut down afterwards."""
    opened: list[MainWindow] = []

    def open_at(size: tuple[int, int] = (1280, 800)) -> MainWindow:
        window = build_main_window(
            store, keyring, gui_settings, ListenerConfig(port=0), data_dir=data_dir, secrets=secrets
        )
        opened.append(window)
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        wait_listening(qtbot, window)
        return window

    yield open_at
    for window in opened:
        window.shutdown()


@pytest.fixture
def sandbox_window(
    open_window: WindowFactory, data_dir: Path, secrets: SecretStore, sandbox: Sandbox
) -> MainWindow:
    """The window at 1280×800 with one profile, ``sb``, on a running Sandbox."""
    add_sandbox_profile(data_dir, secrets, sandbox)
    return open_window()
