"""The capture: one immutable record of a received webhook that every view reads."""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from inspector.core.events import EventSummary

Headers = tuple[tuple[str, str], ...]
"""Header (name, value) pairs in the order and case they were received, duplicates kept."""


class Verdict(enum.Enum):
    """The outcome of checking one signature header."""

    VALID = "valid"
    INVALID = "invalid"
    MISSING = "missing"
    MALFORMED = "malformed"
    NO_KEY = "no_key"

    @property
    def symbol(self) -> str:
        return _VERDICT_SYMBOLS[self]

    @property
    def label(self) -> str:
        return _VERDICT_LABELS[self]


_VERDICT_SYMBOLS = {
    Verdict.VALID: "✓",
    Verdict.INVALID: "✗",
    Verdict.MISSING: "–",
    Verdict.MALFORMED: "!",
    Verdict.NO_KEY: "?",
}
_VERDICT_LABELS = {
    Verdict.VALID: "valid",
    Verdict.INVALID: "invalid",
    Verdict.MISSING: "missing",
    Verdict.MALFORMED: "malformed",
    Verdict.NO_KEY: "no key",
}


class SignatureHeader(enum.Enum):
    """The two signature headers Fluent sends, each over the exact raw body."""

    FLEX = "flex.signature"
    FLUENT = "fluent-signature"

    @property
    def algorithm(self) -> str:
        return (
            "RSA PKCS#1 v1.5 with MD5"
            if self is SignatureHeader.FLEX
            else ("RSA PKCS#1 v1.5 with SHA-512")
        )


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The result of checking one signature header of one capture."""

    header: SignatureHeader
    verdict: Verdict
    key_name: str | None = None
    """Name of the key that verified it (VALID only)."""
    received_name: str | None = None
    """The header name as it arrived (case kept), or None when absent."""
    detail: str = ""
    """One sentence for the user: why this verdict, and the likely cause when not valid."""
    hint: str | None = None
    """Set when the header seems to have arrived under a rewritten name (``flex_signature``)."""


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """What the listener answered."""

    status: int
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class ForwardRecord:
    """What the forward target made of a capture sent on to it (``listen --forward-to``)."""

    url: str
    """The full URL it was sent to (target + the request's path and query)."""
    status: int | None = None
    """The target's status; None when it gave no usable answer (see ``error``)."""
    headers: Headers = ()
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None
    """Why the target could not answer (down, too slow, garbage); the sender got the
    fallback answer instead."""

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def summary(self) -> str:
        """ "forward failed: reason", or the target's status: how the capture is marked."""
        if self.error is not None:
            return f"forward failed: {self.error}"
        return f"forwarded: {self.status}"


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    """One replay of a capture (``fluent-inspector replay`` or the window), delivered or not."""

    at: datetime
    """When it was sent (UTC)."""
    url: str
    edited: bool = False
    """True when a body other than the captured one was sent."""
    signed_with: str | None = None
    """Name of the private key that re-signed the body; None when the original signature
    headers were sent as they were."""
    status: int | None = None
    headers: Headers = ()
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None
    """Why it could not be delivered; None when the target answered."""
    sent_body: bytes | None = None
    """The edited body that was sent (None when it was the captured body)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def badge(self) -> str:
        """How the signatures of what was sent read: never plain "valid" for a re-signed
        body, which only a test key could have signed."""
        if self.signed_with is not None:
            return f"re-signed (test key {self.signed_with})"
        if self.edited:
            return "original signatures (will not verify: body edited)"
        return "original signatures (byte-exact)"


@dataclass(frozen=True, slots=True)
class Redaction:
    """The mark of a capture exported with ``--redact`` (``core/redact.py``): what was asked
    to be removed, and whether the request body changed. A redacted body is no longer the
    body that was signed, so its signatures no longer apply; the badges say "redacted"."""

    headers: tuple[str, ...] = ()
    """Header names whose values were replaced (lower case), wherever they appeared."""
    paths: tuple[str, ...] = ()
    """JSON paths whose values were replaced, as given."""
    body: str = "unchanged"
    """What the paths did to the request body: ``changed``, ``unchanged`` (nothing matched,
    or no paths) or ``not_json`` (the paths could not apply)."""

    def signature_applies(self, header_name: str) -> bool:
        """False when the redaction changed what that signature header's check read: the
        body, or the header itself."""
        return self.body != "changed" and header_name.lower() not in self.headers


def new_capture_id() -> str:
    """A new UUIDv7 (RFC 9562) as 32 hex digits: unix milliseconds, then 74 random bits.

    Time-ordered on purpose: the store's unique index on the id then grows at its right
    edge, so a group commit touches one index page instead of one random page per capture
    (with uuid4 that was most of what every commit wrote). Display order still uses seq.
    """
    random = int.from_bytes(os.urandom(10), "big")
    millis = time.time_ns() // 1_000_000
    value = (
        (millis & _MILLIS_MASK) << 80
        | 0x7 << 76
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random & _RAND_B_MASK
    )
    return f"{value:032x}"


_MILLIS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


@dataclass(frozen=True, slots=True)
class Capture:
    """One received HTTP request, exactly as it arrived, plus what we made of it."""

    id: str
    received_at: datetime
    """UTC, timezone-aware."""
    method: str
    target: str
    """The raw request target, e.g. ``/hooks/fluent?x=1``."""
    path: str
    query: str
    """The raw query string without ``?`` (may be empty)."""
    headers: Headers
    body: bytes
    remote: str
    """Client address as ``host:port``."""
    tls: bool = False
    response: ResponseRecord = field(default_factory=lambda: ResponseRecord(200))
    signatures: tuple[SignatureCheck, ...] = ()
    """One check per :class:`SignatureHeader`, in enum order (flex, fluent)."""
    event: EventSummary | None = None
    rejected: str | None = None
    """Why the listener refused the request (e.g. body too large); None when accepted."""
    body_size: int | None = None
    """Declared/observed size when the body was not kept (rejected); else ``len(body)``."""
    attempt: int = 1
    """1-based ordinal among captures carrying the same event id."""
    seq: int = 0
    """Store row number, assigned on insert (0 before); orders captures received together."""
    rule: str | None = None
    """Name of the response rule that answered; None for the default answer."""
    forward: ForwardRecord | None = None
    """The forward target's answer, when the request was forwarded."""
    replays: tuple[ReplayRecord, ...] = ()
    """Replays of this capture, oldest first (filled by ``Store.get`` and exports)."""
    redacted: Redaction | None = None
    """Set on a capture that was exported with ``--redact`` (and imported back)."""

    def signature(self, header: SignatureHeader) -> SignatureCheck:
        for check in self.signatures:
            if check.header is header:
                return check
        return SignatureCheck(header, Verdict.MISSING, detail="not checked")

    def header_values(self, name: str) -> list[str]:
        """All values of a header, matched case-insensitively, in received order."""
        lowered = name.lower()
        return [v for n, v in self.headers if n.lower() == lowered]

    @property
    def size(self) -> int:
        return self.body_size if self.body_size is not None else len(self.body)

    @property
    def event_id(self) -> str | None:
        return self.event.id if self.event is not None else None

    @property
    def content_type(self) -> str:
        values = self.header_values("content-type")
        return values[0] if values else ""

    def with_(self, **changes: object) -> Capture:
        return replace(self, **changes)  # type: ignore[arg-type]


def utc_now() -> datetime:
    return datetime.now(UTC)


def split_target(target: str) -> tuple[str, str]:
    """Split a raw request target into (path, query) without decoding anything."""
    path, sep, query = target.partition("?")
    return path, query if sep else ""


def headers_tuple(pairs: Sequence[tuple[str, str]]) -> Headers:
    return tuple((str(n), str(v)) for n, v in pairs)
