"""Replay: send a stored capture again, byte-exact or with an edited (and re-signed) body.

Fluent signs no timestamp, so a byte-exact replay carries signatures that still verify at
the target. An edited body no longer matches them: it is sent with the original headers
(and the caller is told they will not verify) unless a private key re-signs it on both
headers. Private keys are held only for the one call that signs: never stored, never
logged, never part of a record (a record names the key, nothing more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from inspector.core.capture import Capture, Headers, ReplayRecord, SignatureHeader, utc_now
from inspector.core.errors import KeyLoadError
from inspector.core.forward import join_url, send_sync
from inspector.core.signatures import sign_headers

__all__ = [
    "DEMO_KEY_NAME",
    "EDITED_WARNING",
    "REPLAY_TIMEOUT",
    "ReplayPlan",
    "SigningKey",
    "demo_signing_key",
    "load_signing_key",
    "plan",
    "replay",
]

REPLAY_TIMEOUT = 30.0
DEMO_KEY_NAME = "demo"
EDITED_WARNING = (
    "the body was edited, so the original signature headers no longer match it: they will "
    "not verify at the target (re-sign with --sign-key PEM or --sign-demo to test that path)"
)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key for re-signing, and the name replays are recorded under."""

    name: str
    key: RSAPrivateKey

    def __repr__(self) -> str:  # never the key material, even in a traceback
        return f"SigningKey({self.name!r})"


def load_signing_key(path: Path) -> SigningKey:
    """An RSA private key from a PEM (or DER) file, named after the file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise KeyLoadError(
            f"Cannot read the private key file {path}: {exc.strerror or exc}. Check the path."
        ) from None
    try:
        if b"-----BEGIN" in raw:
            key = serialization.load_pem_private_key(raw, password=None)
        else:
            key = serialization.load_der_private_key(raw, password=None)
    except TypeError:
        raise KeyLoadError(
            f"The private key in {path} is encrypted: export it without a password "
            "(e.g. openssl pkey -in KEY -out plain.pem) to re-sign with it."
        ) from None
    except ValueError:
        raise KeyLoadError(
            f"{path} holds no private key (PEM 'BEGIN PRIVATE KEY' or 'BEGIN RSA PRIVATE "
            "KEY'): re-signing needs the private half; a public key only verifies."
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise KeyLoadError(
            f"The key in {path} is not an RSA key: Fluent signs with RSA, so only an RSA "
            "private key can make signatures a Fluent integration accepts."
        )
    return SigningKey(Path(path).stem, key)


def demo_signing_key() -> SigningKey:
    """The shipped demo key (its public half is the ``demo`` key of the key ring)."""
    from inspector.core.demo import demo_private_key

    return SigningKey(DEMO_KEY_NAME, demo_private_key())


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What will be sent."""

    method: str
    url: str
    headers: Headers
    body: bytes
    edited: bool
    signed_with: str | None
    warning: str | None
    """Set when the edited body goes with signatures that will not verify."""


def _resigned(headers: Headers, signed: Sequence[tuple[str, str]]) -> Headers:
    """Both signature headers replaced in place (name case kept); added when absent."""
    values = {name: value for name, value in signed}
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in values:
            if lowered in seen:
                continue  # a duplicate would carry the old signature
            seen.add(lowered)
            out.append((name, values[lowered]))
        else:
            out.append((name, value))
    out += [(name, value) for name, value in signed if name not in seen]
    return tuple(out)


def plan(
    capture: Capture, to: str, *, body: bytes | None = None, key: SigningKey | None = None
) -> ReplayPlan:
    """How ``capture`` goes to ``to`` (the same path-appending rule as forwarding)."""
    sent = capture.body if body is None else body
    edited = sent != capture.body
    headers = capture.headers
    if edited:
        # The framing follows the new body; everything else stays as captured.
        headers = tuple(
            (name, str(len(sent)) if name.lower() == "content-length" else value)
            for name, value in headers
        )
    signed_with = None
    if key is not None:
        headers = _resigned(headers, sign_headers(key.key, sent))
        signed_with = key.name
    warning = EDITED_WARNING if edited and key is None and _has_signatures(capture) else None
    return ReplayPlan(
        capture.method,
        join_url(to, capture.target),
        headers,
        sent,
        edited,
        signed_with,
        warning,
    )


def _has_signatures(capture: Capture) -> bool:
    names = {h.value for h in SignatureHeader}
    return any(name.lower() in names for name, _ in capture.headers)


def replay(
    capture: Capture,
    to: str,
    *,
    body: bytes | None = None,
    key: SigningKey | None = None,
    client: httpx.Client | None = None,
    timeout: float = REPLAY_TIMEOUT,
) -> ReplayRecord:
    """Send it and return the record (a failure to deliver is a record too, with why)."""
    what = plan(capture, to, body=body, key=key)
    at = utc_now()
    own = client is None
    session = client or httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    try:
        delivery = send_sync(session, what.method, what.url, what.headers, what.body, timeout)
    finally:
        if own:
            session.close()
    return ReplayRecord(
        at=at,
        url=what.url,
        edited=what.edited,
        signed_with=what.signed_with,
        status=delivery.status,
        headers=delivery.headers,
        body=delivery.body,
        elapsed_ms=delivery.elapsed_ms,
        error=delivery.error,
        sent_body=what.body if what.edited else None,
    )
