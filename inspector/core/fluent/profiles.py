"""Connection profiles: how to reach one Fluent account, stored without secrets.

Profiles are JSON in ``<data_dir>/profiles.json``; client secret, password and pasted bearer
tokens live in :class:`~inspector.core.secrets.SecretStore` (or come from
``FLUENT_CLIENT_SECRET`` / ``FLUENT_PASSWORD`` for headless use).
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

from inspector.core.fluent.errors import ProfileError

__all__ = ["PROFILES_FILENAME", "Profile", "ProfileStore"]

PROFILES_FILENAME: Final = "profiles.json"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _normalize_base_url(url: str) -> str:
    text = url.strip()
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ProfileError(
            f"{text!r} is not an API base URL; enter it like "
            "https://ACCOUNT.sandbox.api.fluentretail.com"
        )
    if parts.scheme.lower() == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ProfileError(
            f"{text!r} uses plain http, which would send the password unencrypted; use https:// "
            "(plain http is accepted only for localhost, e.g. the built-in sandbox)."
        )
    path = parts.path.rstrip("/")
    # People paste the GraphQL or token URL; the profile wants the account root.
    for suffix in ("/graphql", "/oauth/token"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


@dataclass(frozen=True, slots=True)
class Profile:
    """How to reach one Fluent account. Holds no secrets (those are in the SecretStore)."""

    name: str
    base_url: str
    client_id: str = ""
    username: str = ""
    retailer_id: str | None = None
    bearer_token_mode: bool = False
    """True: use a pasted bearer token (secret kind ``token``) instead of the password grant."""

    def validated(self) -> Profile:
        """A normalised copy; raises :class:`ProfileError` saying what to fix."""
        name = self.name.strip()
        if not _NAME_RE.match(name):
            raise ProfileError(
                f"Profile name {self.name!r} is not usable: use 1-64 letters, digits, spaces, "
                "dots, dashes or underscores, starting with a letter or digit."
            )
        if not self.bearer_token_mode:
            missing = [
                n
                for n, v in (("client id", self.client_id), ("username", self.username))
                if not v.strip()
            ]
            if missing:
                raise ProfileError(
                    f"Profile {name!r} needs a {' and a '.join(missing)} for the password grant "
                    "(or switch it to bearer-token mode)."
                )
        retailer = (self.retailer_id or "").strip() or None
        return replace(
            self,
            name=name,
            base_url=_normalize_base_url(self.base_url),
            client_id=self.client_id.strip(),
            username=self.username.strip(),
            retailer_id=retailer,
        )

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        retailer = data.get("retailer_id")
        return cls(
            name=str(data["name"]),
            base_url=str(data["base_url"]),
            client_id=str(data.get("client_id") or ""),
            username=str(data.get("username") or ""),
            retailer_id=str(retailer) if retailer not in (None, "") else None,
            bearer_token_mode=bool(data.get("bearer_token_mode", False)),
        )


class ProfileStore:
    """Connection profiles in ``<data_dir>/profiles.json`` (no secrets in it, ever)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / PROFILES_FILENAME
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Profile]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            items = raw["profiles"] if isinstance(raw, dict) else None
            if not isinstance(items, list):
                raise ValueError("no 'profiles' list")
            profiles = [Profile.from_json(item) for item in items]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProfileError(
                f"The profiles file {self.path} is unreadable ({exc}); fix or delete it and add "
                "the profiles again."
            ) from exc
        return {p.name: p for p in profiles}

    def _write(self, profiles: Mapping[str, Profile]) -> None:
        payload = {"version": 1, "profiles": [p.to_json() for p in profiles.values()]}
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ProfileError(
                f"Could not save profiles to {self.path} ({exc.strerror or exc}); check that the "
                "data directory is writable and the disk is not full."
            ) from exc

    def list(self) -> list[Profile]:
        with self._lock:
            return sorted(self._read().values(), key=lambda p: p.name.lower())

    def get(self, name: str) -> Profile:
        with self._lock:
            profiles = self._read()
        try:
            return profiles[name.strip()]
        except KeyError:
            known = ", ".join(sorted(profiles)) or "none yet"
            raise ProfileError(
                f"There is no profile named {name!r} (known: {known}); add it first with "
                "'fluent-inspector profile add'."
            ) from None

    def add(self, profile: Profile, *, replace_existing: bool = False) -> Profile:
        """Validate and save a profile; returns the normalised profile."""
        profile = profile.validated()
        with self._lock:
            profiles = self._read()
            if profile.name in profiles and not replace_existing:
                raise ProfileError(
                    f"A profile named {profile.name!r} already exists; remove it first or pick "
                    "another name."
                )
            profiles[profile.name] = profile
            self._write(profiles)
        return profile

    def remove(self, name: str) -> None:
        with self._lock:
            profiles = self._read()
            if name.strip() not in profiles:
                raise ProfileError(f"There is no profile named {name!r} to remove.")
            del profiles[name.strip()]
            self._write(profiles)
