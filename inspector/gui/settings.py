"""Typed access to the GUI's persistent preferences (QSettings).

Every preference has one typed property here with its default. QSettings hands back strings
from ini files (and whatever a user typed when editing them), so every read coerces and falls
back to the default when the stored value is unusable; nothing outside this module touches
QSettings keys. Secrets never go here: they belong in the keyring (core.secrets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Generic, Literal, TypeVar, overload

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "FluentInspector"
APPLICATION = "Fluent Webhook Inspector"

ThemeName = Literal["system", "light", "dark"]
THEMES: tuple[ThemeName, ...] = ("system", "light", "dark")

MIN_ZOOM = 0.6
MAX_ZOOM = 2.5

T = TypeVar("T")


def _coerce_str(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


def _coerce_int(raw: Any, lo: int, hi: int) -> int | None:
    if isinstance(raw, bool):
        return None
    value: int
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if lo <= value <= hi else None


def _coerce_float(raw: Any, lo: float, hi: float) -> float | None:
    if isinstance(raw, bool):
        return None
    value: float
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(value):
        return None
    return min(max(value, lo), hi)


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _coerce_bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return raw != 0
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def _coerce_bytes(raw: Any) -> QByteArray | None:
    if isinstance(raw, QByteArray):
        return QByteArray(raw) if not raw.isEmpty() else None
    if isinstance(raw, bytes | bytearray) and raw:
        return QByteArray(bytes(raw))
    return None


def _coerce_names(raw: Any) -> tuple[str, ...] | None:
    """A comma-separated list of names; QSettings hands back a list when the ini value holds
    an unquoted comma, so both forms are read."""
    if isinstance(raw, str):
        parts: list[Any] = raw.split(",")
    elif isinstance(raw, list | tuple):
        parts = list(raw)
    else:
        return None
    if not all(isinstance(part, str) for part in parts):
        return None
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _coerce_joined(raw: Any) -> str | None:
    """Text that may hold commas: QSettings hands back a list for an unquoted one."""
    if isinstance(raw, list | tuple) and all(isinstance(part, str) for part in raw):
        return ",".join(raw)
    return raw if isinstance(raw, str) else None


def _join_names(value: tuple[str, ...]) -> str:
    return ",".join(value)


def _coerce_theme(raw: Any) -> ThemeName | None:
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        for name in THEMES:
            if lowered == name:
                return name
    return None


class _Setting(Generic[T]):
    """A typed QSettings key exposed as a property of :class:`Settings`.

    ``coerce`` turns a raw stored value into T, or returns None when it is unusable.
    """

    def __init__(
        self,
        key: str,
        default: T,
        coerce: Callable[[Any], T | None],
        encode: Callable[[T], Any] | None = None,
    ) -> None:
        self.key = key
        self.default = default
        self._coerce = coerce
        self._encode = encode

    @overload
    def __get__(self, obj: None, owner: type[Settings]) -> _Setting[T]: ...

    @overload
    def __get__(self, obj: Settings, owner: type[Settings]) -> T: ...

    def __get__(self, obj: Settings | None, owner: type[Settings]) -> _Setting[T] | T:
        if obj is None:
            return self
        raw = obj.qsettings.value(self.key)
        if raw is None:
            return self.default
        value = self._coerce(raw)
        return self.default if value is None else value

    def __set__(self, obj: Settings, value: T) -> None:
        if value is None:
            obj.qsettings.remove(self.key)
            return
        checked = self._coerce(value)
        if checked is None:
            raise ValueError(f"invalid value for setting {self.key!r}: {value!r}")
        # QByteArray is stored as-is (QSettings encodes it); everything else as its plain form
        # so the ini file stays readable and editable by hand.
        obj.qsettings.setValue(
            self.key, self._encode(checked) if self._encode is not None else checked
        )


class Settings:
    """The GUI's preferences, typed. Pass a QSettings (e.g. an ini file) in tests."""

    window_geometry: _Setting[QByteArray | None] = _Setting("window/geometry", None, _coerce_bytes)
    window_state: _Setting[QByteArray | None] = _Setting("window/state", None, _coerce_bytes)
    splitter_state: _Setting[QByteArray | None] = _Setting(
        "window/splitter_state", None, _coerce_bytes
    )
    table_header_state: _Setting[QByteArray | None] = _Setting(
        "table/header_state", None, _coerce_bytes
    )
    """Column widths and order, from ``QHeaderView.saveState()``."""

    listener_host: _Setting[str] = _Setting("listener/host", "127.0.0.1", _coerce_str)
    listener_port: _Setting[int] = _Setting(
        "listener/port", 8765, lambda raw: _coerce_int(raw, 1, 65535)
    )
    body_limit_mb: _Setting[int] = _Setting(
        "listener/body_limit_mb", 10, lambda raw: _coerce_int(raw, 1, 1024)
    )
    tls_cert: _Setting[str] = _Setting("listener/tls_cert", "", _coerce_str)
    tls_key: _Setting[str] = _Setting("listener/tls_key", "", _coerce_str)
    """Path of the TLS private key file (the file, never its contents)."""
    forward_to: _Setting[str] = _Setting("listener/forward_to", "", _coerce_str)
    forward_paths: _Setting[str] = _Setting("listener/forward_paths", "[]", _coerce_str)
    """Per-path forward targets as JSON [[glob, url], ...] (read with ``forward_targets``)."""
    forward_timeout: _Setting[float] = _Setting(
        "listener/forward_timeout", 10.0, lambda raw: _coerce_float(raw, 0.1, 600.0)
    )
    forward_fallback: _Setting[int] = _Setting(
        "listener/forward_fallback", 502, lambda raw: _coerce_int(raw, 200, 599)
    )
    require_signature: _Setting[bool] = _Setting("listener/require_signature", False, _coerce_bool)
    """Signed-only mode. (The path prefix is a secret: it is kept in the OS keyring.)"""
    public_base: _Setting[str] = _Setting("listener/public_base", "", _coerce_str)
    """The tunnel's address, shown with the path prefix as the URL to give Fluent."""
    replay_target: _Setting[str] = _Setting("act/replay_target", "", _coerce_str)
    """The URL the Replay dialog last sent to."""

    follow_newest: _Setting[bool] = _Setting("view/follow_newest", True, _coerce_bool)
    group_retries: _Setting[bool] = _Setting("view/group_retries", False, _coerce_bool)
    """The capture table folds deliveries with the same event id into one row."""
    zoom: _Setting[float] = _Setting(
        "view/zoom", 1.0, lambda raw: _coerce_float(raw, MIN_ZOOM, MAX_ZOOM)
    )
    detail_tab: _Setting[int] = _Setting(
        "view/detail_tab", 0, lambda raw: _coerce_int(raw, 0, 1000)
    )
    theme: _Setting[ThemeName] = _Setting("view/theme", "system", _coerce_theme)
    raw_wrap: _Setting[bool] = _Setting("view/raw_wrap", False, _coerce_bool)
    """Wrap long lines in the Raw tab's text view."""
    last_export_dir: _Setting[str] = _Setting("files/last_export_dir", "", _coerce_str)
    export_redact: _Setting[str] = _Setting("export/redact", "", _coerce_joined)
    """The export dialog's last *Redact…* choice, as ``export --redact`` text: header names
    and JSON paths (never values)."""
    export_redact_enabled: _Setting[bool] = _Setting("export/redact_enabled", False, _coerce_bool)

    graphql_profile: _Setting[str] = _Setting("graphql/profile", "", _coerce_str)
    """Name of the connection profile the GraphQL panel last used (never its secrets)."""
    graphql_auto_follow_up: _Setting[tuple[str, ...]] = _Setting(
        "graphql/auto_follow_up", (), _coerce_names, _join_names
    )
    """Entity types followed up automatically; stored comma-separated ("ORDER,FULFILMENT")."""
    graphql_splitter: _Setting[QByteArray | None] = _Setting(
        "graphql/splitter", None, _coerce_bytes
    )

    def forward_targets(self) -> tuple[tuple[str, str], ...]:
        """``forward_paths`` decoded; anything unusable reads as none."""
        import json

        try:
            data = json.loads(self.forward_paths)
        except ValueError:
            return ()
        if not isinstance(data, list):
            return ()
        return tuple(
            (item[0], item[1])
            for item in data
            if isinstance(item, list)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
        )

    def set_forward_targets(self, targets: Sequence[tuple[str, str]]) -> None:
        import json

        self.forward_paths = json.dumps([list(pair) for pair in targets])

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qsettings = (
            qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)
        )

    # Key bindings are one QSettings key per command id ("keys/listener.toggle"), so a user
    # rebinds a command by editing one line of the ini file; the registry reads them at start.
    KEYS_GROUP = "keys"

    def key_binding(self, command_id: str) -> tuple[str, ...] | None:
        """The user's key sequences for a command: None = the default keys, () = unbound.

        Stored comma-separated ("Ctrl+L, F5"), as QSettings reads an unquoted list."""
        raw = self.qsettings.value(f"{self.KEYS_GROUP}/{command_id}")
        if raw is None:
            return None
        return _coerce_names(raw)

    def set_key_binding(self, command_id: str, keys: Sequence[str] | None) -> None:
        """Rebind a command (``()`` unbinds it); None goes back to its default keys."""
        key = f"{self.KEYS_GROUP}/{command_id}"
        if keys is None:
            self.qsettings.remove(key)
        else:
            self.qsettings.setValue(key, _join_names(tuple(keys)))

    def sync(self) -> None:
        """Write pending changes to permanent storage (QSettings also does this lazily)."""
        self.qsettings.sync()

    def reset(self, name: str) -> None:
        """Forget one preference so it reads as its default again."""
        descriptor = type(self).__dict__.get(name)
        if not isinstance(descriptor, _Setting):
            raise AttributeError(f"no setting named {name!r}")
        self.qsettings.remove(descriptor.key)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(n for n, v in vars(cls).items() if isinstance(v, _Setting))

    @classmethod
    def default(cls, name: str) -> object:
        descriptor = vars(cls).get(name)
        if not isinstance(descriptor, _Setting):
            raise AttributeError(f"no setting named {name!r}")
        return descriptor.default
