"""Start demo: the offline sandbox plays an order's lifecycle into our own listener, with a
``demo`` profile (and auto follow-up) to query it; Stop demo puts the user's choices back."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel

from inspector.core import demo
from inspector.core.demo import (
    DEMO_AUTO_TYPES,
    DEMO_PATH,
    DEMO_PROFILE,
    DEMO_SCENARIO,
    DemoSession,
)
from inspector.core.errors import InspectorError
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.controllers.followup import FollowupController
from inspector.gui.controllers.listener import ListenerController
from inspector.gui.icons import icon

__all__ = ["DemoController"]

START_TIP = (
    "Play an order's lifecycle from an offline Fluent sandbox into this listener, with a "
    "'demo' profile to query it (Ctrl+Shift+D)"
)
# After a demo the tooltip is shorter than at start, as it always was.
STOPPED_TIP = (
    "Play an order's lifecycle from an offline Fluent sandbox into this listener (Ctrl+Shift+D)"
)


class DemoController(QObject):
    _progress = Signal()
    """Emitted from the sandbox thread after each demo delivery and when the scenario ends."""

    def __init__(
        self,
        ctx: AppContext,
        listener: ListenerController,
        followup: FollowupController,
        label: QLabel,
    ) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self._listener = listener
        self._followup = followup
        self._label = label
        self.session: DemoSession | None = None
        self.step_seconds = 1.0
        """Pause between the demo scenario's webhooks (tests make it small)."""
        self._restore: tuple[str, tuple[str, ...] | None] | None = None
        ctx.commands.register(
            Command("demo.toggle", "Start demo", self.toggle, icon="play", tip=START_TIP)
        )
        self._action = ctx.commands["demo.toggle"]
        self._progress.connect(self._update_status, Qt.ConnectionType.QueuedConnection)

    def toggle(self) -> None:
        if self.session is not None:
            self.stop()
        else:
            self.start()

    def start(self) -> DemoSession | None:
        """Start the offline sandbox, point the 'demo' profile at it and play an order's
        lifecycle into our own listener (started if needed); None with the reason shown."""
        if self.session is not None:
            return self.session
        listener = self._listener
        if listener.url() is None:
            listener.start()
        url = listener.url()
        if url is None:
            self.ctx.show_error(
                "Start demo",
                "The demo needs the listener, and it could not start: "
                f"{listener.health_text()} Fix it in Listener settings, then try again.",
            )
            return None
        added_key = self._ensure_key()
        if added_key:
            listener.reload_keys()
        followup = self._followup
        previous_profile = followup.profile_name()
        chosen = followup.auto_types()
        try:
            session = demo.start_demo(
                url.rstrip("/") + DEMO_PATH,
                profiles=self.ctx.profiles,
                secrets=self.ctx.secrets,
                scenario=DEMO_SCENARIO,
                step_seconds=self.step_seconds,
                on_delivery=lambda _delivery: self._emit_progress(),
            )
        except InspectorError as exc:
            self.ctx.show_error("Start demo", exc)
            return None
        self.session = session
        session.scenario.add_done_callback(lambda _future: self._emit_progress())
        self._restore = (previous_profile, None if chosen else chosen)
        # A new sandbox listens on a new port with new credentials: drop the old client.
        followup.use_profile(DEMO_PROFILE, fresh=True)
        if not chosen:
            followup.set_auto_types(DEMO_AUTO_TYPES)
        self._action.setText("Stop demo")
        self._action.setIcon(icon("stop"))
        self._action.setToolTip("Stop the demo sandbox and its scenario (Ctrl+Shift+D)")
        self._label.show()
        self._update_status()
        if added_key:
            self.ctx.notify(
                "Registered the demo public key as 'demo' so the demo's signatures verify", 6000
            )
        return session

    def stop(self) -> None:
        """Stop the demo's scenario and sandbox; put back the profile and auto follow-up."""
        session, self.session = self.session, None
        if session is None:
            return
        session.stop()
        restore, self._restore = self._restore, None
        profile, auto = restore if restore is not None else ("", None)
        if self.ctx.closed:
            # The panel is shut down: only the saved preferences are put back.
            if profile:
                self.ctx.settings.graphql_profile = profile
            if auto is not None:
                self.ctx.settings.graphql_auto_follow_up = auto
        else:
            self._followup.forget_client(DEMO_PROFILE)
            if auto is not None:
                self._followup.set_auto_types(auto)
            if profile and profile != DEMO_PROFILE:
                self._followup.use_profile(profile)
            self._action.setText("Start demo")
            self._action.setIcon(icon("play"))
            self._action.setToolTip(STOPPED_TIP)
            self.ctx.notify("Demo stopped", 4000)
        self._label.hide()
        self._label.clear()

    def _emit_progress(self) -> None:
        # Called from the sandbox thread: a queued signal hands over to the GUI thread.
        with contextlib.suppress(RuntimeError):
            self._progress.emit()

    def _ensure_key(self) -> bool:
        try:
            return demo.register_demo_key(self.ctx.keyring)
        except InspectorError as exc:
            self.ctx.show_error("Demo key", exc)
            return False

    def _update_status(self) -> None:
        if self.session is not None:
            text = self.session.status_text()
            self._label.setText(text)
            self._label.setToolTip(text)
