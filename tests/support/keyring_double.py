"""An in-memory stand-in for an OS keyring backend (a double of the third-party library's
backend, not of our code): lets tests exercise SecretStore with a 'working' keyring."""

from __future__ import annotations

import keyring.backend
import keyring.errors


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Values in a dict, nothing on disk; behaves like a real backend on delete."""

    # Negative: keyring registers every subclass; never let it auto-select or chain this one.
    priority = -5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.values:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.values[(service, username)]
