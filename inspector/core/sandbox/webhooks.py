"""Webhooks as the sandbox sends them: Fluent-shaped events, signed by the demo key, posted.

Both signature headers (``flex.signature`` and ``fluent-signature``) come from
:func:`~inspector.core.signatures.sign_headers`, so the verifier sees what a real account
would send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from inspector.core.resources import resource_path
from inspector.core.sandbox.data import timestamp
from inspector.core.sandbox.errors import SandboxError
from inspector.core.signatures import sign_headers

__all__ = ["Delivery", "fluent_event", "load_demo_private_key", "post_event"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook the sandbox posted."""

    event_id: str
    name: str
    entity_type: str
    entity_id: str
    attempt: int
    status: int | None
    """HTTP status of the answer; None when the request failed (see ``error``)."""
    error: str | None = None
    body: bytes = field(default=b"", repr=False)
    """The exact signed bytes."""


def load_demo_private_key(path: Path | None = None) -> RSAPrivateKey:
    """The demo private key (PKCS#8 PEM) the sandbox signs webhooks with."""
    try:
        key_path = path if path is not None else resource_path("demo", "demo-private.pem")
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (FileNotFoundError, OSError, ValueError, TypeError) as exc:
        raise SandboxError(
            f"The demo signing key could not be loaded ({exc}); reinstall the inspector or "
            "pass a key to the sandbox."
        ) from exc
    if not isinstance(key, RSAPrivateKey):
        raise SandboxError("The demo signing key is not an RSA key; replace it with an RSA key.")
    return key


def fluent_event(
    account: str,
    retailer_id: str,
    name: str,
    entity: Mapping[str, Any],
    entity_type: str,
    *,
    root: Mapping[str, Any] | None = None,
    root_type: str = "ORDER",
    lightweight: bool = False,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A Fluent event for ``entity`` as the orchestration engine would send it.

    ``lightweight`` events carry ids and refs only, as Fluent sends to WMS and carriers.
    """
    root = root if root is not None else entity
    event: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "name": name,
        "accountId": account,
        "retailerId": retailer_id,
        "entityId": str(entity["id"]),
        "entityRef": str(entity.get("ref") or ""),
        "entityType": entity_type,
    }
    if lightweight:
        return event
    event.update(
        {
            "entitySubtype": str(entity.get("type") or ""),
            "entityStatus": str(entity.get("status") or ""),
            "type": "NORMAL",
            "rootEntityId": str(root["id"]),
            "rootEntityRef": str(root.get("ref") or ""),
            "rootEntityType": root_type,
            "source": "sandbox",
            "scheduledOn": timestamp(),
            "attributes": {},
            "meta": {"mode": "SYNC", "simulation": False, "models": []},
        }
    )
    return event


async def post_event(
    session: aiohttp.ClientSession,
    key: RSAPrivateKey,
    url: str,
    event: Mapping[str, Any],
    attempt: int,
) -> Delivery:
    """Sign and post one event; a failed request is a Delivery with ``error``, not an exception."""
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json", **dict(sign_headers(key, body))}
    status: int | None = None
    error: str | None = None
    try:
        async with session.post(url, data=body, headers=headers) as response:
            status = response.status
            await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return Delivery(
        str(event["id"]),
        str(event["name"]),
        str(event["entityType"]),
        str(event["entityId"]),
        attempt,
        status,
        error,
        body,
    )
