"""Secrets (client secret, password, pasted token) in the OS keyring, never in files or logs.

With no usable keyring backend the secrets live in process memory for this session only,
and :attr:`SecretStore.persistent` / :attr:`SecretStore.reason` say so, so the UI can tell
the user. ``keyrings.alt`` is deliberately not used: it stores plain text on disk.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import keyring.backend

__all__ = ["LISTENER_SECRETS", "NO_KEYRING_REASON", "SECRET_KINDS", "SecretStore"]

log = logging.getLogger(__name__)

SECRET_KINDS: Final = ("client_secret", "password", "token", "path_prefix")
LISTENER_SECRETS: Final = "@listener"
"""The "profile" the window's listener secrets (its path prefix) are kept under; '@' keeps
it apart from connection profiles, which ``delete_profile`` removes by name."""

NO_KEYRING_REASON: Final = (
    "No OS keyring is available (install/unlock GNOME Keyring or KWallet); "
    "secrets are kept for this session only."
)

# Shared by every SecretStore of the process, so a profile dialog and the API client see
# the same session-only secrets.
_SESSION: dict[tuple[str, str, str], str] = {}
_SESSION_LOCK = threading.Lock()


def _keyring() -> ModuleType:
    """The keyring package, imported on first use: importing it and choosing a backend (which
    may talk to D-Bus) took ~70 ms of the window's cold start, before any secret is needed."""
    import keyring
    import keyring.backend
    import keyring.backends.chainer
    import keyring.backends.fail
    import keyring.errors

    return keyring


def _is_viable(backend: Any) -> bool:
    keyring = _keyring()
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        return bool(backend.backends)
    return True


class SecretStore:
    """get/set/delete a secret per (profile, kind) in the keyring or, failing that, memory."""

    def __init__(
        self,
        service: str = "fluent-inspector",
        backend: keyring.backend.KeyringBackend | None = None,
    ) -> None:
        self.service = service
        # The OS backend is chosen on first use (see _keyring); an injected one at once.
        self._backend: Any = backend
        self._persistent: bool | None = None
        self._reason = ""
        self._resolve_lock = threading.Lock()
        if backend is not None:
            self._resolve()

    def _resolve(self) -> Any:
        """The backend, chosen once; sets persistent/reason."""
        with self._resolve_lock:
            if self._persistent is None:
                if self._backend is None:
                    self._backend = _keyring().get_keyring()
                self._persistent = _is_viable(self._backend)
                self._reason = "" if self._persistent else NO_KEYRING_REASON
            return self._backend

    @property
    def persistent(self) -> bool:
        """Secrets go to the OS keyring (False: kept in memory for this session only)."""
        self._resolve()
        return bool(self._persistent)

    @property
    def reason(self) -> str:
        """Why secrets are session-only ("" when persistent)."""
        self._resolve()
        return self._reason

    @staticmethod
    def _username(profile: str, kind: str) -> str:
        if kind not in SECRET_KINDS:
            raise ValueError(f"unknown secret kind {kind!r}; expected one of {SECRET_KINDS}")
        if not profile:
            raise ValueError("profile name must not be empty")
        return f"{profile}:{kind}"

    def _fall_back(self, exc: Exception) -> None:
        # A backend that looked viable can still fail (locked collection, D-Bus gone);
        # from then on keep secrets in memory instead of failing every call.
        self._persistent = False
        self._reason = (
            f"The OS keyring failed ({type(exc).__name__}); unlock or repair it and restart. "
            "Secrets are kept for this session only."
        )
        log.warning("keyring unusable, keeping secrets in memory: %s", type(exc).__name__)

    def get(self, profile: str, kind: str) -> str | None:
        username = self._username(profile, kind)
        if self.persistent:
            try:
                value = self._backend.get_password(self.service, username)
            except (_keyring().errors.KeyringError, OSError, RuntimeError) as exc:
                self._fall_back(exc)
            else:
                if value is not None:
                    return str(value)
        with _SESSION_LOCK:
            return _SESSION.get((self.service, profile, kind))

    def set(self, profile: str, kind: str, value: str) -> None:
        username = self._username(profile, kind)
        if self.persistent:
            try:
                self._backend.set_password(self.service, username, value)
            except (_keyring().errors.KeyringError, OSError, RuntimeError) as exc:
                self._fall_back(exc)
            else:
                with _SESSION_LOCK:
                    _SESSION.pop((self.service, profile, kind), None)
                return
        with _SESSION_LOCK:
            _SESSION[(self.service, profile, kind)] = value

    def delete(self, profile: str, kind: str) -> None:
        """Forget a secret; no error when there was none."""
        username = self._username(profile, kind)
        with _SESSION_LOCK:
            _SESSION.pop((self.service, profile, kind), None)
        if not self.persistent:
            return
        try:
            self._backend.delete_password(self.service, username)
        except _keyring().errors.PasswordDeleteError:
            pass
        except (_keyring().errors.KeyringError, OSError, RuntimeError) as exc:
            self._fall_back(exc)

    def delete_profile(self, profile: str) -> None:
        """Forget every secret of a profile (used when the profile is removed)."""
        for kind in SECRET_KINDS:
            self.delete(profile, kind)

    def forget_session(self) -> None:
        """Drop this service's session-only secrets (e.g. on logout, or between tests)."""
        with _SESSION_LOCK:
            for key in [k for k in _SESSION if k[0] == self.service]:
                del _SESSION[key]

    def __repr__(self) -> str:
        # Never include values: reprs end up in logs and tracebacks.
        where = "keyring" if self.persistent else "session"
        return f"SecretStore(service={self.service!r}, storage={where})"
