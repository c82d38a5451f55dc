"""The demo key pair and "Send test webhook": a signed sample event posted to our listener.

The demo key pair in ``resources/demo`` is public knowledge: it exists so a new user can see
two valid badges before configuring anything, and must never be trusted for real traffic.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from inspector.core.errors import InspectorError, KeyRingError
from inspector.core.keys import KeyRing
from inspector.core.resources import resource_path
from inspector.core.signatures import sign_headers

DEMO_KEY_NAME = "demo"
DEMO_MARKER = ".demo-key-registered"
SAMPLE = ("samples", "order-created.json")
TEST_PATH = "webhooks/test"


class DemoError(InspectorError):
    """The test webhook could not be sent."""


@lru_cache(maxsize=1)
def demo_private_key() -> RSAPrivateKey:
    pem = resource_path("demo", "demo-private.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, RSAPrivateKey):
        raise DemoError("The shipped demo key is not an RSA key: reinstall the application.")
    return key


def demo_public_b64() -> str:
    return resource_path("demo", "demo-public.b64").read_text(encoding="ascii").strip()


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
