"""Launch work (the listener child, the bundled schema) waits for the window's first paint,
and without a hold it runs at once, as before (every other window test relies on that)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig, ListenerState
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui import startup
from inspector.gui.app import build_main_window
from inspector.gui.settings import Settings
from inspector.gui.widgets.graphql.schema import BUNDLED_SOURCE, LOADING_SOURCE
from tests.gui.conftest import LISTENER_START_MS, wait_listening
from tests.support.keyring_double import MemoryKeyring


def test_held_work_runs_in_order_on_release_and_discard_drops_it() -> None:
    ran: list[int] = []
    startup.hold()
    try:
        startup.after_first_paint(lambda: ran.append(1))
        startup.after_first_paint(lambda: ran.append(2))
        assert ran == []
        startup.release()
        assert ran == [1, 2]
        startup.after_first_paint(lambda: ran.append(3))  # nothing held: at once
        assert ran == [1, 2, 3]
        startup.hold()
        startup.after_first_paint(lambda: ran.append(4))
        startup.discard()
        startup.release()
        assert ran == [1, 2, 3]
    finally:
        startup.discard()


def test_the_launch_window_starts_its_listener_and_schema_after_painting(  # type: ignore[no-untyped-def]
    qtbot, store: Store, keyring: KeyRing, gui_settings: Settings, data_dir: Path
) -> None:
    secrets = SecretStore(service="test-startup", backend=MemoryKeyring())
    startup.hold()
    try:
        window = build_main_window(
            store, keyring, gui_settings, ListenerConfig(port=0), data_dir=data_dir, secrets=secrets
        )
        qtbot.addWidget(window)
        # Built, not yet painted: no child process, and the window says it is starting.
        assert window.listener.handle is None
        assert window.status_panel.status.state is ListenerState.STARTING
        assert window.graphql.schema_source.label == LOADING_SOURCE
        window.show()
        startup.release_after_first_paint(window)
        wait_listening(qtbot, window)
        assert window.status_panel.status.state is ListenerState.LISTENING
        assert window.listener.url()
        qtbot.waitUntil(
            lambda: window.graphql.schema_source.label == BUNDLED_SOURCE,
            timeout=LISTENER_START_MS,
        )
    finally:
        startup.discard()
        secrets.forget_session()
    window.shutdown()


# Not needed for the first paint, and together ~0.7 s of a cold start on a small machine.
LAUNCH_MUST_NOT_IMPORT = ("aiohttp", "graphql", "httpx", "keyring", "inspector.core.sandbox")


def test_importing_the_window_leaves_the_heavy_packages_for_later() -> None:
    code = (
        "import sys, inspector.gui.app, inspector.gui.mainwindow; "
        f"print(' '.join(m for m in {LAUNCH_MUST_NOT_IMPORT!r} if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == []
