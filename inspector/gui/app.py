"""Application entry point: builds core objects and the main window, runs the event loop."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.core import demo, paths
from inspector.core.errors import InspectorError
from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig, ListenerState, ListenerStatus
from inspector.core.secrets import SecretStore
from inspector.core.store import Store
from inspector.gui import startup, theme, workers
from inspector.gui.controllers.store_health import StoreHealthController
from inspector.gui.errors import install_excepthook
from inspector.gui.icons import icon
from inspector.gui.mainwindow import ListenerFactory, MainWindow
from inspector.gui.settings import APPLICATION, ORGANIZATION, Settings

__all__ = ["build_main_window", "listener_config_from", "run"]


def listener_config_from(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    *,
    allow_remote: bool = False,
) -> ListenerConfig:
    """The listener configuration: command-line values win over saved settings."""
    cert = settings.tls_cert
    key = settings.tls_key
    return ListenerConfig(
        host=host or settings.listener_host,
        port=settings.listener_port if port is None else port,
        body_limit=settings.body_limit_mb * 1024 * 1024,
        tls_cert=Path(cert) if cert else None,
        tls_key=Path(key) if key else None,
        allow_remote=allow_remote,
        forward_to=settings.forward_to or None,
        forward_paths=settings.forward_targets(),
        forward_timeout=settings.forward_timeout,
        forward_fallback=settings.forward_fallback,
        require_signature=settings.require_signature,
        max_connections=settings.max_connections,
    )


def build_main_window(
    store: Store,
    keyring: KeyRing,
    settings: Settings,
    listener_config: ListenerConfig,
    *,
    start_listener: bool = True,
    data_dir: Path | None = None,
    secrets: SecretStore | None = None,
    listener_factory: ListenerFactory | None = None,
) -> MainWindow:
    """The window over injected core objects; starts the listener in the background (the
    status area shows "Starting…", then listening or the failure; nothing is raised; at
    launch only once the window has painted, see :mod:`inspector.gui.startup`). Tests
    pass a temporary store and settings. ``data_dir`` (profiles, follow-up history) defaults
    to the store's folder; ``secrets`` to the OS keyring; ``listener_factory`` to a listener
    in a child process (:class:`inspector.core.listener.ListenerProcess`)."""
    window = MainWindow(
        store,
        keyring,
        settings,
        listener_config,
        data_dir=data_dir,
        secrets=secrets,
        listener_factory=listener_factory,
    )
    # The store's quick check, off the GUI thread; a dialog offers a way on when it fails.
    StoreHealthController(window.ctx).check()
    if start_listener:
        window.listener.show_status(ListenerStatus(ListenerState.STARTING))
        startup.after_first_paint(lambda: window.listener.start(wait=False))
    return window


def _application() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication(sys.argv[:1])
    # No application display name: Qt would append it to every window title, and the main
    # window's title already starts with the app's name ("… — <URL>" then "— <app>" again).
    app.setDesktopFileName("fluent-inspector")
    return app


def run(host: str | None, port: int | None, data_dir: Path, *, allow_remote: bool = False) -> int:
    """Open the inspector window with its listener; returns the process exit code.

    ``host``/``port`` None (or "") use the ones saved in Listener settings.
    """
    app = _application()
    app.setWindowIcon(icon("app"))
    settings = Settings()
    theme.apply_theme(app, settings.theme)
    theme.set_zoom(app, settings.zoom)
    window: MainWindow | None = None
    hooks = install_excepthook(lambda: window)
    try:
        data_dir = paths.ensure_data_dir(data_dir)
        # Unchecked here: the quick check runs in the background (StoreHealthController).
        store = Store.open(data_dir, check=False)
    except (InspectorError, OSError) as exc:
        QMessageBox.critical(None, "Fluent Webhook Inspector", str(exc))
        hooks.uninstall()
        return 2
    try:
        keyring = KeyRing.open(data_dir)
        demo.ensure_demo_key(keyring, data_dir)
    except InspectorError as exc:
        # A broken key ring must not keep the window from opening: verify with no keys
        # (NO_KEY badges) and tell the user how to fix the file.
        QMessageBox.warning(None, "Fluent Webhook Inspector", str(exc))
        keyring = KeyRing(None)
    config = listener_config_from(settings, host, port, allow_remote=allow_remote)
    moved_to = ""
    try:
        while True:
            # The listener child and the bundled schema wait for the first paint (cold start).
            startup.hold()
            window = build_main_window(store, keyring, settings, config, data_dir=data_dir)
            window.show()
            startup.release_after_first_paint(window)
            if moved_to:
                window.ctx.notify(f"Started a fresh store; the damaged one is {moved_to}", 30_000)
            code = app.exec()
            checked = window.findChild(StoreHealthController)
            if checked is None or not checked.moved:
                break
            # The damaged store was moved aside (and closed): a fresh one, a new window.
            moved_to = str(checked.moved[0][1])
            startup.discard()
            window.shutdown()
            window.deleteLater()
            window = None
            try:
                store = Store.open(data_dir, check=False)
            except InspectorError as exc:
                QMessageBox.critical(None, "Fluent Webhook Inspector", str(exc))
                return 2
    finally:
        startup.discard()
        if window is not None:
            window.shutdown()
        workers.shutdown()
        store.close()
        hooks.uninstall()
    return int(code)
