"""The embedded listener: start, stop, restart with new settings, and its test webhook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core import demo
from inspector.core.errors import InspectorError
from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig, ListenerHandle, ListenerState, ListenerStatus
from inspector.core.secrets import LISTENER_SECRETS
from inspector.core.store import Store
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.icons import icon
from inspector.gui.widgets.empty_state import EmptyState
from inspector.gui.widgets.listener_settings import ListenerSettingsDialog
from inspector.gui.widgets.status_panel import StatusPanel
from inspector.gui.workers import Worker, run_in_background

__all__ = ["RULES_FILENAME", "ListenerController", "ListenerFactory", "rules_path"]

RULES_FILENAME = "rules.json"


def rules_path(ctx: AppContext) -> Path:
    """Where the window keeps its response rules (the data dir)."""
    return ctx.data_dir / RULES_FILENAME


ListenerFactory = Callable[[Store, KeyRing, ListenerConfig], ListenerHandle]
"""Builds the window's listener: :class:`~inspector.core.listener.ListenerProcess` by
default (ingest in a child process, so it never competes with the GUI thread for the GIL);
the in-process :class:`inspector.core.listener.Listener` has the same signature."""


class ListenerController(QObject):
    status_changed = Signal(object)
    """The listener's new :class:`ListenerStatus` (the window shows its URL in the title)."""

    def __init__(
        self,
        ctx: AppContext,
        config: ListenerConfig,
        factory: ListenerFactory,
        status_panel: StatusPanel,
        empty_state: EmptyState,
    ) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        if config.rules_file is None:
            # The rules editor's file: followed by the listener, so saving applies live;
            # until it is first saved there are no rules.
            config = replace(config, rules_file=rules_path(ctx), rules_must_exist=False)
        if config.path_prefix is None:
            # A secret, so in the OS keyring rather than the settings file.
            config = replace(config, path_prefix=ctx.secrets.get(LISTENER_SECRETS, "path_prefix"))
        self.config = config
        self.factory = factory
        self.handle: ListenerHandle | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._status_panel = status_panel
        self._empty_state = empty_state
        self._sending = False
        ctx.commands.register(
            Command(
                "listener.toggle",
                "Stop listening",
                self.toggle,
                icon="stop",
                tip="Start or stop the embedded listener (Ctrl+L)",
            ),
            Command(
                "listener.send",
                "Send test webhook",
                self.send_test_webhook,
                icon="send",
                tip="POST a sample event signed with the demo key to the listener",
                enabled=lambda: self.url() is not None and not self._sending,
            ),
            Command(
                "listener.copy_url",
                "Copy listening URL",
                status_panel.copy_url,
                icon="copy",
                enabled=lambda: self.url() is not None,
            ),
            Command(
                "listener.settings",
                "Listener settings…",
                self.open_settings,
                icon="settings",
                tip="Host, port, body limit, TLS and forwarding to your handler",
            ),
        )
        ctx.bridge.listener_status.connect(self.show_status)
        # The refused count is a number the listener keeps: read once a second, never
        # pushed per request (a scanner's flood of 404s would flood the GUI thread).
        self._refused_timer = QTimer(self)
        self._refused_timer.setInterval(1000)
        self._refused_timer.timeout.connect(self.show_refused)
        self._refused_timer.start()

    def start(self, *, wait: bool = True) -> bool:
        """Start (or restart) the listener with ``config``; False with the reason shown in
        the status area when it cannot start.

        ``wait=False`` (launch, the Start button, new settings) returns at once when the
        listener can start in the background: the status area shows "Starting…" and then
        listening or the failure, so the window never waits on a child process. True then
        means "starting"."""
        if self.handle is None:
            self.handle = self.factory(self.ctx.store, self.ctx.keyring, self.config)
            self._unsubscribe = [
                self.handle.subscribe(self.ctx.bridge.capture_callback),
                self.handle.on_status(self.ctx.bridge.status_callback),
            ]
        if not wait:
            started = self.handle.start_async()
            self.show_status(started)
            return started.state is not ListenerState.FAILED
        try:
            status = self.handle.start()
        except InspectorError as exc:  # ListenerError included
            self.show_status(ListenerStatus(ListenerState.FAILED, error=str(exc)))
            return False
        self.show_status(status)
        return True

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.show_status(self.handle.status)

    def toggle(self) -> None:
        if self.handle is not None and self.handle.status.state in (
            ListenerState.LISTENING,
            ListenerState.STARTING,
        ):
            self.stop()
        else:
            self.start(wait=False)

    def restart(self, config: ListenerConfig, *, wait: bool = True) -> bool:
        """Apply a new configuration: stop the current listener, start a new one
        (``wait`` as in :meth:`start`)."""
        self.drop()
        self.config = config
        return self.start(wait=wait)

    def drop(self) -> None:
        """Stop the listener and forget it (shutdown, or before a restart)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self.handle is not None:
            self.handle.stop()
            self.handle = None

    def url(self) -> str | None:
        if self.handle is not None and self.handle.status.state is ListenerState.LISTENING:
            return self.handle.status.url
        return None

    def health_text(self) -> str:
        """What the status area says about the listener (why it is not listening)."""
        return self._status_panel.health_text()

    def base_url(self) -> str:
        """Where the listener is, or would be with the current settings: scheme, host and
        port only (a capture's target already holds the path prefix, if any)."""
        url = self.url()
        if url is None:
            return f"http://{self.config.host}:{self.config.port}/"
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}/"

    def reload_rules(self) -> str | None:
        """Apply the saved rules file now: None once the running listener uses it, else
        why not (not running: it applies when the listener starts)."""
        if self.handle is None or self.handle.status.state is not ListenerState.LISTENING:
            return None
        return self.handle.reload_rules()

    def reload_keys(self) -> None:
        # A listener process reads the key file by itself within a second; the next
        # webhook (the demo's first, seconds from now) must already verify with the new key.
        if self.handle is not None:
            self.handle.reload_keys()

    def show_refused(self) -> None:
        handle = self.handle
        self._status_panel.set_refused(handle.refused_outside_prefix if handle else 0)

    def show_status(self, status: object) -> None:
        if not isinstance(status, ListenerStatus):
            return
        self._status_panel.set_status(status)
        listening = status.state is ListenerState.LISTENING
        self._empty_state.set_url(status.url if listening else None, status.error)
        running = listening or status.state is ListenerState.STARTING
        toggle = self.ctx.commands["listener.toggle"]
        toggle.setText("Stop listener" if running else "Start listener")
        toggle.setIcon(icon("stop" if running else "play"))
        self.ctx.commands.refresh()
        self.status_changed.emit(status)

    def open_settings(self) -> None:
        secrets = self.ctx.secrets
        dialog = ListenerSettingsDialog(
            self.config,
            self.ctx.window,
            has_keys=lambda: bool(self.ctx.keyring.keys()),
            public_base=self.ctx.settings.public_base,
            prefix_note="" if secrets.persistent else f"Path prefix: {secrets.reason}",
        )
        if dialog.exec() != ListenerSettingsDialog.DialogCode.Accepted:
            return
        config = dialog.config()
        if config.path_prefix:
            secrets.set(LISTENER_SECRETS, "path_prefix", config.path_prefix)
        else:
            secrets.delete(LISTENER_SECRETS, "path_prefix")
        s = self.ctx.settings
        s.require_signature = config.require_signature
        s.public_base = dialog.gates.public_base.text().strip()
        s.listener_host = config.host
        if config.port:
            s.listener_port = config.port
        s.body_limit_mb = max(1, config.body_limit // (1024 * 1024))
        s.tls_cert = str(config.tls_cert or "")
        s.tls_key = str(config.tls_key or "")
        s.forward_to = config.forward_to or ""
        s.set_forward_targets(config.forward_paths)
        s.forward_timeout = config.forward_timeout
        s.forward_fallback = config.forward_fallback
        s.sync()
        self.restart(config, wait=False)

    def send_test_webhook(self) -> Worker[int] | None:
        url = self.url()
        empty = self._empty_state
        if url is None:
            empty.set_note("Start the listener first (Ctrl+L).", error=True)
            return None
        self._set_sending(True)
        empty.set_note("Sending a signed sample event…")
        # The test webhook checks the keys as they are now, even one added a moment ago.
        self.reload_keys()

        def done(status: int) -> None:
            empty.set_note(f"Test webhook answered HTTP {status}.")
            self.ctx.notify(f"Test webhook sent: HTTP {status}", 4000)

        def failed(exc: BaseException) -> None:
            empty.set_note(str(exc), error=True)
            self.ctx.show_error("Send test webhook", exc)

        worker = run_in_background(
            demo.send_test_webhook,
            url,
            on_result=done,
            on_error=failed,
            on_finished=lambda: self._set_sending(False),
        )
        return self.ctx.track(worker)

    def _set_sending(self, sending: bool) -> None:
        self._sending = sending
        self.ctx.commands.refresh()
        self._empty_state.set_send_enabled(not sending and self.url() is not None)
