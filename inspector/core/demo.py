"""The offline demo: the demo key pair, "Send test webhook" and a demo session.

* :func:`send_test_webhook` posts a demo-signed sample event to our listener.
* :func:`start_demo` starts the offline sandbox, points a ``demo`` profile at it and plays
  the order lifecycle into the app's own listener; :class:`DemoSession` describes it.

The demo key pair in ``resources/demo`` is public knowledge: it exists so a new user can see
two valid badges before configuring anything, and must never be trusted for real traffic.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import secrets as secrets_module
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from inspector.core.errors import DemoError, KeyRingError
from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.keys import KeyRing
from inspector.core.resources import resource_path
from inspector.core.signatures import sign_headers

if TYPE_CHECKING:
    # Imported where used: the window imports this module for the demo key at start, and the
    # sandbox (aiohttp, graphql-core), httpx and keyring would cost ~0.5 s of its cold start.
    from inspector.core.sandbox import Delivery, Sandbox
    from inspector.core.secrets import SecretStore

DEMO_KEY_NAME = "demo"
DEMO_MARKER = ".demo-key-registered"
SAMPLE = ("samples", "order-created.json")
TEST_PATH = "webhooks/test"
DEMO_PROFILE = "demo"
DEMO_SCENARIO = "order-lifecycle"
DEMO_PATH = "/hooks/demo"
"""Where the demo's webhooks go on our listener (so its rows are easy to tell apart)."""
DEMO_AUTO_TYPES = ("ORDER", "FULFILMENT")
"""Followed up automatically during a demo when the user chose nothing, so the Entity now
column fills as the order moves; the user's own choice is put back when the demo stops."""


@lru_cache(maxsize=1)
def demo_private_key() -> RSAPrivateKey:
    pem = resource_path("demo", "demo-private.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, RSAPrivateKey):
        raise DemoError("The shipped demo key is not an RSA key: reinstall the application.")
    return key


def demo_public_b64() -> str:
    return resource_path("demo", "demo-public.b64").read_text(encoding="ascii").strip()


def register_demo_key(keyring: KeyRing) -> bool:
    """Add the demo public key as ``demo`` unless a key of that name exists; True if added.

    Unlike :func:`ensure_demo_key` this ignores the marker: the user asked for the demo now,
    and its signatures must verify. Raises KeyRingError."""
    if DEMO_KEY_NAME in {key.name for key in keyring.keys()}:
        return False
    keyring.add(DEMO_KEY_NAME, demo_public_b64())
    return True


def ensure_demo_key(keyring: KeyRing, data_dir: Path) -> bool:
    """Register the demo public key as ``demo`` the first time only; True if added.

    A marker file remembers it was offered, so a user who removed the key keeps it removed.
    """
    marker = data_dir / DEMO_MARKER
    if marker.exists():
        return False
    added = False
    if DEMO_KEY_NAME not in {key.name for key in keyring.keys()}:
        try:
            keyring.add(DEMO_KEY_NAME, demo_public_b64())
            added = True
        except KeyRingError:
            return False
    # Worst case (read-only dir) the key is offered again next launch.
    with contextlib.suppress(OSError):
        marker.write_text("the demo key was registered once; remove it in the Keys dialog\n")
    return added


def sample_body(event_id: str | None = None, **overrides: object) -> bytes:
    """The shipped sample Fluent event with a fresh id (so each test is its own delivery)."""
    data = json.loads(resource_path(*SAMPLE).read_text(encoding="utf-8"))
    data["id"] = event_id or str(uuid.uuid4())
    if "createdOn" in data or "scheduledOn" in data:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        data["scheduledOn" if "scheduledOn" in data else "createdOn"] = stamp
    data.update(overrides)
    return json.dumps(data, indent=2).encode("utf-8")


def signed_request(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), *sign_headers(demo_private_key(), body)]


def send_test_webhook(
    url: str, *, body: bytes | None = None, path: str = TEST_PATH, timeout: float = 10.0
) -> int:
    """POST a demo-signed sample event to ``url`` (the listener's base URL); the HTTP status."""
    import httpx

    payload = body if body is not None else sample_body()
    target = url.rstrip("/") + "/" + path.lstrip("/")
    try:
        # verify=False: the listener may use a self-signed certificate, and this is our own
        # loopback listener receiving public demo data.
        response = httpx.post(
            target, content=payload, headers=signed_request(payload), timeout=timeout, verify=False
        )
    except httpx.HTTPError as exc:
        raise DemoError(
            f"Could not send the test webhook to {target}: {exc}. Check that the listener is "
            "running (Ctrl+L) and that nothing blocks loopback connections."
        ) from exc
    return response.status_code


@dataclass(slots=True)
class DemoSession:
    """A running demo: the sandbox, the profile pointing at it and the scenario being played."""

    sandbox: Sandbox
    profile: Profile
    scenario: concurrent.futures.Future[list[Delivery]]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.sandbox.running

    @property
    def failed(self) -> int:
        """Deliveries our listener did not accept (or that never reached it)."""
        return sum(1 for d in self.deliveries if d.error or (d.status or 0) >= 400)

    def status_text(self) -> str:
        """One line for the status bar: where the sandbox is and how far the scenario got."""
        sent = len(self.deliveries)
        where = f"Demo: sandbox at {self.sandbox.base_url}"
        noun = "webhook" if sent == 1 else "webhooks"
        scenario = self.scenario
        if not scenario.done():
            text = f"{where}, playing {DEMO_SCENARIO}… {sent} {noun} sent"
        elif scenario.cancelled():
            text = f"{where}; {DEMO_SCENARIO} stopped after {sent} {noun}"
        elif (error := scenario.exception()) is not None:
            text = f"{where}; {DEMO_SCENARIO} failed: {error}"
        else:
            text = (
                f"{where}, {DEMO_SCENARIO} played ({sent} {noun}): select a row, Ctrl+G, Ctrl+Enter"
            )
        if self.failed:
            text += f" ({self.failed} not accepted: is the listener running?)"
        return text

    def stop(self) -> None:
        """Stop the scenario and the sandbox (the ``demo`` profile stays, pointing nowhere)."""
        self.scenario.cancel()
        self.sandbox.stop()


def start_demo(
    listener_url: str,
    *,
    profiles: ProfileStore,
    secrets: SecretStore,
    scenario: str = DEMO_SCENARIO,
    step_seconds: float = 1.0,
    profile_name: str = DEMO_PROFILE,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> DemoSession:
    """Start the offline sandbox on loopback, point profile ``demo`` at it, play a scenario.

    ``listener_url`` is where the webhooks go (the app's own listener, full URL). The sandbox's
    client secret and password go to ``secrets`` only. Blocks for the sandbox to bind (a few
    ms); ``on_delivery`` is called from the sandbox thread. Raises InspectorError subclasses.
    """
    from inspector.core.sandbox import Sandbox

    # Fresh credentials per demo: nothing guessable listens, and leaks would be noticed.
    sandbox = Sandbox(
        client_secret=secrets_module.token_urlsafe(18), password=secrets_module.token_urlsafe(18)
    ).start()
    try:
        profile = profiles.add(
            Profile(
                name=profile_name,
                base_url=sandbox.base_url,
                client_id=sandbox.client_id,
                username=sandbox.username,
                retailer_id=sandbox.retailer_id,
            ),
            replace_existing=True,
        )
        secrets.delete(profile.name, "token")
        secrets.set(profile.name, "client_secret", sandbox.client_secret)
        secrets.set(profile.name, "password", sandbox.password)
        deliveries: list[Delivery] = []

        def delivered(delivery: Delivery) -> None:
            deliveries.append(delivery)
            if on_delivery is not None:
                on_delivery(delivery)

        future = sandbox.play(
            scenario, listener_url, step_seconds=step_seconds, on_delivery=delivered
        )
    except BaseException:
        sandbox.stop()
        raise
    session = DemoSession(sandbox, profile, future, deliveries)
    return session
