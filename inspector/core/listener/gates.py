"""Two gates for a listener reachable from the internet (a public tunnel).

:class:`PathPrefix` (``listen --path-prefix /h/SECRET``): only paths under a secret prefix
are served. Anything else is answered ``404`` before its body is read, is not stored and
only counted, so a scanner finding the tunnel's host fills neither the table nor the disk.
The stored path is the path as received, prefix included: it is what Fluent was given
(its webhook setting is the full URL), and captures are kept exactly as they arrived.

:class:`RequireSignature` (``listen --require-signature``): a request with no signature
header that a configured key verifies is answered ``401`` and stored as a rejected capture
(headers and verdicts, not the body), so the user sees what was refused. One valid header
is enough: each of Fluent's two signatures covers the whole body, so one that verifies
proves the body is Fluent's; the other header's verdict is still recorded and shown.
Keys are read per request from the key ring, which listeners re-read within ~1 s of a
change, so a key added while listening lets the next webhook through.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from inspector.core.capture import ResponseRecord, SignatureHeader, Verdict

if TYPE_CHECKING:
    from inspector.core.keys import KeyRing
    from inspector.core.listener.pipeline import Inbound, Stage

__all__ = [
    "NO_KEY_FOR_SIGNED_ONLY",
    "PATH_PREFIX_ENV",
    "PathPrefix",
    "RequireSignature",
    "generate_path_prefix",
    "normalize_path_prefix",
    "path_prefix_problem",
]

NO_KEY_FOR_SIGNED_ONLY = (
    "Signed-only mode (--require-signature) needs at least one Fluent public key, and none "
    "is configured: every webhook would be refused. Add one with "
    "'fluent-inspector keys add NAME FILE' (in the window: Keys…, Ctrl+K) and start again, "
    "or listen without --require-signature (in the window: untick Signed only in Listener "
    "settings)."
)

PATH_PREFIX_ENV = "FLUENT_INSPECTOR_PATH_PREFIX"
"""``listen`` reads the path prefix from here when ``--path-prefix`` is not given: a command
line is visible to every user of the machine (``ps``), a process's environment is not."""

_PREFIX_MAX = 200
# RFC 3986 pchar without '%': the prefix is compared with the raw path as received, so a
# percent-encoded prefix would never match what a client sends unencoded (and vice versa).
_PREFIX_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"
)
_JSON_HEADERS = (("Content-Type", "application/json"),)
_NOT_FOUND = ResponseRecord(
    404, _JSON_HEADERS, json.dumps({"status": "not_found"}, separators=(",", ":")).encode()
)


def generate_path_prefix() -> str:
    """An unguessable prefix: ``/h/`` and 128 random bits, URL-safe base64 (22 characters)."""
    return "/h/" + secrets.token_urlsafe(16)


def path_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a path prefix (one sentence saying what to do), or None."""
    from inspector.core.text import escape_control

    shown = escape_control(prefix)
    example = "e.g. /h/ followed by a long random string (the window's Generate makes one)"
    if not prefix.startswith("/"):
        return f"The path prefix '{shown}' must start with '/': {example}."
    if any(c in prefix for c in "?#"):
        return f"The path prefix '{shown}' must be a path only, without '?' or '#': {example}."
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in prefix):
        return f"The path prefix '{shown}' contains control characters: {example}."
    bad = sorted({c for c in prefix if c not in _PREFIX_CHARS})
    if bad:
        listed = " ".join(repr(c) for c in bad)
        return (
            f"The path prefix '{shown}' contains {listed}: use letters, digits and "
            f"- . _ ~ only, separated by '/' ({example})."
        )
    segments = prefix.rstrip("/").split("/")[1:]
    if not segments:
        return f"The path prefix '/' is every path: leave it out, or give one ({example})."
    if any(s in (".", "..") for s in segments) or ".." in prefix:
        return f"The path prefix '{shown}' must not contain '..' or '.' segments: {example}."
    if any(not s for s in segments):
        return f"The path prefix '{shown}' has an empty segment ('//'): {example}."
    if len(prefix) > _PREFIX_MAX:
        return f"The path prefix is {len(prefix)} characters long; at most {_PREFIX_MAX}."
    return None


def normalize_path_prefix(prefix: str | None) -> str | None:
    """The prefix as the gate compares it (no trailing '/'); None or "" means no prefix.
    Raises ValueError with :func:`path_prefix_problem`'s sentence when it is unusable."""
    if not prefix:
        return None
    problem = path_prefix_problem(prefix)
    if problem is not None:
        raise ValueError(problem)
    return prefix.rstrip("/")


class PathPrefix:
    """Serve only paths equal to the prefix or under it (``/h/S`` and ``/h/S/...``, never
    ``/h/Sx``, ``/h/`` or ``/``). A request elsewhere is answered 404 and its connection
    closed without reading its body (the rest of it is never read or stored); it is only
    counted in :attr:`refused`. The stages behind the gate run only for served requests, so
    it holds them (``inner``) rather than marking the request for each of them to skip."""

    __slots__ = ("_bytes", "_slash", "inner", "prefix", "refused")

    def __init__(self, prefix: str, inner: Sequence[Stage]) -> None:
        self.prefix = prefix
        self.inner = tuple(inner)
        self.refused = 0
        """Requests refused since this listener was made (read from any thread)."""
        self._bytes = prefix.encode("latin-1", "replace")
        self._slash = len(prefix)

    def serves(self, path: str) -> bool:
        n = self._slash
        if len(path) < n or (len(path) > n and path[n] != "/"):
            return False
        # Constant-time over the secret part: the prefix is a password of sorts.
        return hmac.compare_digest(path[:n].encode("latin-1", "replace"), self._bytes)

    async def run(self, inbound: Inbound) -> None:
        if self.serves(inbound.path):
            for stage in self.inner:
                await stage.run(inbound)
            return
        self.refused += 1
        inbound.response = _NOT_FOUND
        inbound.close = True

    async def aclose(self) -> None:
        for stage in self.inner:
            close = getattr(stage, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()


def _refusal(inbound: Inbound, has_keys: bool) -> str | None:
    """Why ``inbound`` is refused in signed-only mode, or None when a header verifies."""
    checks = inbound.signatures
    if any(check.verdict is Verdict.VALID for check in checks):
        return None
    if not has_keys:
        return "signature required: no public key is configured to verify it"
    present = [check for check in checks if check.verdict is not Verdict.MISSING]
    if not present:
        names = " or ".join(header.value for header in SignatureHeader)
        return f"signature required: no {names} header"
    verdicts = ", ".join(f"{check.header.value} {check.verdict.label}" for check in present)
    return f"signature required: no header verifies with a configured key ({verdicts})"


class RequireSignature:
    """Refuse (401, recorded as rejected without its body) a request that no configured key
    verifies. Runs after :class:`~inspector.core.listener.pipeline.Verify`, on its verdicts;
    a request already rejected (too large, too slow) keeps that reason."""

    __slots__ = ("keyring",)

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    async def run(self, inbound: Inbound) -> None:
        if inbound.rejected is not None:
            return
        reason = _refusal(inbound, bool(self.keyring.keys()))
        if reason is not None:
            inbound.reject(401, reason, len(inbound.body))
