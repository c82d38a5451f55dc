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
