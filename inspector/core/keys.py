"""Public keys that verify Fluent webhook signatures, and the named key ring that keeps them.

Fluent publishes each environment's public key as base64 of a DER SubjectPublicKeyInfo with
no PEM armour; users also bring PEM files and certificates. Everything is normalised to the
same :class:`PublicKey` value and persisted as canonical base64 SPKI.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from inspector.core import paths
from inspector.core.errors import KeyLoadError, KeyRingError

__all__ = [
    "MAX_BITS",
    "MIN_BITS",
    "KeyRing",
    "PublicKey",
    "is_valid_key_name",
    "load_public_key",
    "load_public_key_file",
    "parse_key_table",
]


def _x509() -> ModuleType:
    """cryptography's X.509 module, imported on first use: ~30 ms of the window's cold
    start for certificates that few key rings hold."""
    from cryptography import x509

    return x509


MIN_BITS = 1024
MAX_BITS = 4096
KEYRING_FORMAT_VERSION = 1

# A key file is a few KB at most; refusing big files keeps a mis-picked file (a video,
# a database) from being read into memory just to fail parsing.
_MAX_KEY_FILE_BYTES = 1024 * 1024

_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PEM_BLOCK_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)(?:-----END \1-----|\Z)", re.DOTALL)
_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_QUOTES = "\"'`"

_PASTE_HINT = "Copy the public key for this environment again from Fluent's documentation"

_PRIVATE_MESSAGE = (
    "This is a private key - paste the PUBLIC key instead (base64 starting 'MIGfMA0G', or a "
    "'BEGIN PUBLIC KEY' block). Verifying needs only the public key; never share the private "
    "key, and if it was sent to you, treat it as compromised."
)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An RSA public key that can verify Fluent webhook signatures."""

    name: str
    key: RSAPublicKey
    bits: int
    fingerprint: str
    """SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex pairs joined by ':'."""
    spki_b64: str
    """Canonical base64 of the DER SubjectPublicKeyInfo (how the key ring persists it)."""
    source: str
    """The form it was loaded from, e.g. "base64 SPKI" or "PEM certificate"."""

    @property
    def signature_size(self) -> int:
        """Length in bytes of every PKCS#1 v1.5 signature this key verifies."""
        return (self.bits + 7) // 8

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:23]


def is_valid_key_name(name: str) -> bool:
    """1-64 characters: letters, digits, '.', '_' or '-' (e.g. ``sydney-sandbox``)."""
    return _NAME_RE.fullmatch(name) is not None


# --------------------------------------------------------------------------- loading


def load_public_key(data: bytes | str, name: str = "") -> PublicKey:
    """Load an RSA public key from any form a user is likely to paste or pick.

    Accepts base64 DER SPKI (as Fluent publishes it; line breaks, spaces and surrounding
    quotes tolerated), PEM ``PUBLIC KEY`` / ``RSA PUBLIC KEY`` / ``CERTIFICATE``, and raw
    DER SPKI or certificate bytes. Raises :class:`KeyLoadError` saying what is wrong.
    """
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise KeyLoadError(
            "No key given: the input is empty. Paste Fluent's public key for this environment "
            "(base64 starting 'MIGfMA0G') or choose a PEM/certificate file."
        )
    if b"-----BEGIN" in raw:
        public, source = _load_pem(raw)
    elif isinstance(data, str):
        public, source = _load_text(data.lstrip("\ufeff"))
    elif _looks_binary(raw):
        public, source = _load_der(raw, "DER")
    else:
        public, source = _load_text(raw.decode("ascii"))
    return _make_public_key(public, name, source)


def load_public_key_file(path: Path, name: str = "") -> PublicKey:
    """Load a key from a file; ``name`` defaults to the file name without its extension."""
    path = Path(path)
    try:
        if path.is_dir():
            raise KeyLoadError(f"{path} is a folder, not a key file. Choose the key file itself.")
        # Read at most one byte past the limit: a device such as /dev/zero says its size is
        # 0 and never ends.
        with path.open("rb") as f:
            data = f.read(_MAX_KEY_FILE_BYTES + 1)
        if len(data) > _MAX_KEY_FILE_BYTES:
            raise KeyLoadError(
                f"{path} is larger than {_MAX_KEY_FILE_BYTES:,} bytes - far too large to be a "
                "public key file. Choose the .pem, .crt or text file holding Fluent's public key."
            )
    except FileNotFoundError:
        raise KeyLoadError(f"Key file not found: {path}. Check the path and try again.") from None
    except PermissionError:
        raise KeyLoadError(
            f"Cannot read key file {path}: permission denied. Make it readable for your user."
        ) from None
    except OSError as exc:
        raise KeyLoadError(
            f"Cannot read key file {path}: {exc.strerror or exc}. Check the file and try again."
        ) from None
    if not data.strip():
        raise KeyLoadError(
            f"Key file {path} is empty. Save Fluent's public key into it (base64 starting "
            "'MIGfMA0G', or a PEM block) and try again."
        )
    try:
        return load_public_key(data, name or path.stem)
    except KeyLoadError as exc:
        raise KeyLoadError(f"{path}: {exc}") from None


def _looks_binary(raw: bytes) -> bool:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return True
    return any(ch < " " and ch not in "\t\r\n\f\v" for ch in text)


def _load_pem(raw: bytes) -> tuple[PublicKeyTypes, str]:
    blocks = [(m.group(1).decode("ascii"), m.group(0)) for m in _PEM_BLOCK_RE.finditer(raw)]
    if not blocks:
        raise KeyLoadError(
            "This looks like a PEM block but its BEGIN line is damaged. "
            "Copy the whole key, from '-----BEGIN' to the '-----END' line."
        )
    labels = [label for label, _ in blocks]
    # Refuse anything that holds a private key even next to a public one: the user is about
    # to paste a secret around, and should hear about it.
    if any("PRIVATE KEY" in label for label in labels):
        raise KeyLoadError(_PRIVATE_MESSAGE)
    for label, block in blocks:
        if label not in ("PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE", "TRUSTED CERTIFICATE"):
            continue
        if b"-----END" not in block:
            raise KeyLoadError(
                f"The '{label}' block has no END line, so the key looks truncated - copy the "
                "whole key, including the '-----END' line."
            )
        try:
            if "CERTIFICATE" in label:
                cert = _x509().load_pem_x509_certificate(block.replace(b"TRUSTED ", b""))
                return cert.public_key(), "PEM certificate"
            public = serialization.load_pem_public_key(block)
        except UnsupportedAlgorithm as exc:
            raise _unsupported(exc) from None
        # InvalidVersion is no ValueError: a damaged version field (found by a property test)
        except (ValueError, TypeError, _x509().InvalidVersion):
            raise KeyLoadError(
                f"The '{label}' block could not be decoded: it looks truncated or damaged - "
                "copy the whole key again, from '-----BEGIN' to '-----END'."
            ) from None
        return public, "PEM RSA public key" if label == "RSA PUBLIC KEY" else "PEM public key"
    if "EC PARAMETERS" in labels:
        raise KeyLoadError(
            "This PEM holds EC parameters, not an RSA public key; Fluent signs with RSA. "
            + _PASTE_HINT
            + "."
        )
    raise KeyLoadError(
        f"This PEM holds {', '.join(repr(label) for label in labels)}, not a public key or "
        "certificate. Provide a 'BEGIN PUBLIC KEY' block or Fluent's base64 key."
    )


def _load_text(text: str) -> tuple[PublicKeyTypes, str]:
    stripped = text.strip().strip(_QUOTES).strip()
    if re.match(r"(ssh-|ecdsa-sha2-|sk-)", stripped):
        raise KeyLoadError(
            "This is an OpenSSH public key, not Fluent's webhook key. Fluent publishes keys as "
            "base64 (starting 'MIGfMA0G'); " + _PASTE_HINT.lower() + "."
        )
    if stripped.startswith("{"):
        raise KeyLoadError(
            "This looks like JSON (a JWK?), not a key in a supported form. Paste Fluent's key "
            "as base64 (starting 'MIGfMA0G') or as a PEM 'BEGIN PUBLIC KEY' block."
        )
    # Keys copied from YAML, JSON or a web page arrive wrapped and sometimes with literal "\n".
    compact = re.sub(r"\s+|\\n|\\r", "", stripped).strip(_QUOTES)
    if not _B64_RE.fullmatch(compact):
        bad = next(
            (ch for ch in compact if not (ch.isascii() and (ch.isalnum() or ch in "+/="))), "="
        )
        raise KeyLoadError(
            f"This is not a key: it is not base64 (found {bad!r}) and not a PEM block. Paste "
            "Fluent's public key (base64 starting 'MIGfMA0G') or a 'BEGIN PUBLIC KEY' block."
        )
    if len(compact) % 4 == 1:
        raise _truncated("base64 key")
    padded = compact + "=" * (-len(compact) % 4)
    try:
        der = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise _truncated("base64 key") from None
    public, source = _load_der(der, "base64")
    return public, "base64 SPKI" if source == "DER public key" else source


def _der_declared_length(der: bytes) -> int | None:
    """Total length the outer DER SEQUENCE header claims, or None if it is not one."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return None
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def _load_der(der: bytes, form: str) -> tuple[PublicKeyTypes, str]:
    declared = _der_declared_length(der)
    if declared is None:
        raise KeyLoadError(
            f"This {form} data is not a key: it does not start like one (an ASN.1 DER "
            "structure). Paste Fluent's public key (base64 starting 'MIGfMA0G') or a PEM block."
        )
    if len(der) < declared:
        raise _truncated(f"{form} key")
    try:
        return serialization.load_der_public_key(der), "DER public key"
    except UnsupportedAlgorithm as exc:
        raise _unsupported(exc) from None
    except (ValueError, TypeError):
        pass
    try:
        return _x509().load_der_x509_certificate(der).public_key(), "DER certificate"
    except UnsupportedAlgorithm as exc:
        raise _unsupported(exc) from None
    except (ValueError, TypeError, _x509().InvalidVersion):
        pass
    if _is_private_der(der):
        raise KeyLoadError(_PRIVATE_MESSAGE)
    raise KeyLoadError(
        f"This {form} data is not a public key or certificate that can be read: it looks "
        "truncated or damaged - copy the whole key again."
    )


def _is_private_der(der: bytes) -> bool:
    try:
        serialization.load_der_private_key(der, password=None)
    except TypeError:
        return True  # encrypted private key: still a private key
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _truncated(what: str) -> KeyLoadError:
    return KeyLoadError(
        f"This {what} looks truncated - copy the whole key (Fluent's 1024-bit keys are 216 "
        "base64 characters, starting 'MIGfMA0G')."
    )


def _unsupported(exc: Exception) -> KeyLoadError:
    return KeyLoadError(
        f"This key uses an algorithm that cannot be read here ({exc}); Fluent signs with RSA. "
        + _PASTE_HINT
        + "."
    )


_KEY_KINDS: tuple[tuple[type[Any], str], ...] = (
    (ec.EllipticCurvePublicKey, "an EC key"),
    (ed25519.Ed25519PublicKey, "an Ed25519 key"),
    (ed448.Ed448PublicKey, "an Ed448 key"),
    (dsa.DSAPublicKey, "a DSA key"),
    (x25519.X25519PublicKey, "an X25519 key"),
    (x448.X448PublicKey, "an X448 key"),
)


def _make_public_key(public: object, name: str, source: str) -> PublicKey:
    if not isinstance(public, rsa.RSAPublicKey):
        kind = next((label for cls, label in _KEY_KINDS if isinstance(public, cls)), "not RSA")
        raise KeyLoadError(
            f"This is {kind}; Fluent signs webhooks with RSA, so it cannot verify them. "
            + _PASTE_HINT
            + "."
        )
    bits = public.key_size
    if not MIN_BITS <= bits <= MAX_BITS:
        raise KeyLoadError(
            f"This RSA key is {bits} bits; Fluent's keys are {MIN_BITS} to {MAX_BITS} bits, so "
            "this is not the right key. " + _PASTE_HINT + "."
        )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return PublicKey(
        name=name,
        key=public,
        bits=bits,
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        spki_b64=base64.b64encode(der).decode("ascii"),
        source=source,
    )


# --------------------------------------------------------------------------- key tables

_TABLE_HEADER_RE = re.compile(r"^(\s*)[\"']?fluent[-_.]?webhook[-_.]?keys[\"']?\s*:\s*$", re.I)
_ENTRY_RE = re.compile(
    r"""^(?P<indent>\s*)(?:-\s+)?
        (?P<q>["']?)\[?(?P<name>[A-Za-z0-9._-]{1,64})\]?(?P=q)
        \s*[:=]\s*
        (?P<value>.*?)\s*$""",
    re.X,
)
_B64_CHUNK_RE = re.compile(r"[\"']?[A-Za-z0-9+/=\s\\n]+[\"']?")


def parse_key_table(text: str) -> list[tuple[str, str]]:
    """Entries of a Connect SDK ``fluent-webhook-keys`` table (``application.yml`` style).

    Recognises ``"[sydney_sandbox]": MIGf...`` and ``sydney_sandbox: MIGf...`` lines (values
    may be quoted or continue on more-indented lines). When a ``fluent-webhook-keys:`` header
    is present only its entries are taken. Values are returned as compact base64, unchecked:
    load each with :func:`load_public_key`. Returns [] when nothing looks like a key entry.
    """
    lines = text.splitlines()
    section: tuple[int, int] | None = None
    for index, line in enumerate(lines):
        header = _TABLE_HEADER_RE.match(line)
        if header:
            indent = _indent(line)
            end = index + 1
            while end < len(lines):
                current = lines[end]
                content = current.strip()
                if content and not content.startswith("#") and _indent(current) <= indent:
                    break
                end += 1
            section = (index + 1, end)
            break
    start, stop = section if section else (0, len(lines))
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    index = start
    while index < stop:
        match = _ENTRY_RE.match(lines[index])
        index += 1
        if not match:
            continue
        indent = _indent(lines[index - 1])
        parts = [match.group("value")]
        if parts[0] in ("|", ">", "|-", ">-", "|+", ">+", ""):
            parts = []
        while index < stop:
            following = lines[index]
            if not following.strip():
                index += 1
                continue
            deeper = _indent(following) > indent
            if deeper and _B64_CHUNK_RE.fullmatch(following.strip()):
                parts.append(following.strip())
                index += 1
            else:
                break
        value = re.sub(r"\s+|\\n", "", "".join(parts)).strip(_QUOTES)
        value = value.replace('"', "").replace("'", "")
        name = match.group("name")
        if len(value) >= 64 and _B64_RE.fullmatch(value) and name not in seen:
            seen.add(name)
            entries.append((name, value))
    return entries


def _indent(line: str) -> int:
    expanded = line.expandtabs()
    return len(expanded) - len(expanded.lstrip())


# --------------------------------------------------------------------------- key ring


@dataclass(frozen=True, slots=True)
class _Entry:
    key: PublicKey
    added_at: str


class KeyRing:
    """Named public keys, persisted as JSON in the data dir (public keys are not secret).

    Thread-safe; :meth:`keys` returns an immutable snapshot (tuple) cheap enough to call per
    request. Changes are written atomically; before each change the file is re-read if
    another process changed it, so two inspectors sharing a data dir do not undo each other.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._snapshot: tuple[PublicKey, ...] = ()
        self._stamp: tuple[int, int, int] | None = None
        self._version = 0
        if self._path is not None:
            self._read_file()

    @classmethod
    def open(cls, data_dir: Path) -> KeyRing:
        return cls(Path(data_dir) / paths.KEYRING_FILENAME)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def version(self) -> int:
        """Increments on every change (add/remove/reload) so callers know to re-verify."""
        return self._version

    def keys(self) -> tuple[PublicKey, ...]:
        """All keys, sorted by name (a snapshot: later changes do not affect it)."""
        return self._snapshot

    def __len__(self) -> int:
        return len(self._snapshot)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self._snapshot)

    def get(self, name: str) -> PublicKey:
        entry = self._entries.get(name)
        if entry is None:
            raise self._unknown(name)
        return entry.key

    def added_at(self, name: str) -> str:
        """ISO 8601 UTC time the key was added."""
        entry = self._entries.get(name)
        if entry is None:
            raise self._unknown(name)
        return entry.added_at

    def add(self, name: str, data: bytes | str, *, replace: bool = False) -> PublicKey:
        """Load ``data`` (any form :func:`load_public_key` accepts) and store it as ``name``."""
        self._check_name(name)
        return self.add_key(load_public_key(data, name), replace=replace)

    def add_key(self, key: PublicKey, *, replace: bool = False) -> PublicKey:
        self._check_name(key.name)
        with self._lock:
            self._refresh_before_change()
            if key.name in self._entries and not replace:
                raise KeyRingError(
                    f"A key named {key.name!r} already exists. Choose another name, or remove "
                    "or replace the existing key first."
                )
            entries = dict(self._entries)
            entries[key.name] = _Entry(key, _now_iso())
            self._commit(entries)
        return key

    def remove(self, name: str) -> None:
        with self._lock:
            self._refresh_before_change()
            if name not in self._entries:
                raise self._unknown(name)
            entries = dict(self._entries)
            del entries[name]
            self._commit(entries)

    def reload_if_changed(self) -> bool:
        """Re-read the file if another process changed it; True if the keys were reloaded.

        Raises :class:`KeyRingError` (keeping the current keys) if the changed file is corrupt.
        """
        if self._path is None:
            return False
        with self._lock:
            if self._current_stamp() == self._stamp:
                return False
            self._read_file()
            return True

    # -- internals

    def _unknown(self, name: str) -> KeyRingError:
        known = ", ".join(self.names()) or "none"
        return KeyRingError(
            f"There is no key named {name!r} (known keys: {known}). Check the name, or add "
            "the key first."
        )

    @staticmethod
    def _check_name(name: str) -> None:
        if not is_valid_key_name(name):
            raise KeyRingError(
                f"{name!r} is not a usable key name: use 1-64 letters, digits, '.', '_' or '-' "
                "(for example 'sydney-sandbox')."
            )

    def _current_stamp(self) -> tuple[int, int, int] | None:
        assert self._path is not None
        try:
            st = self._path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyRingError(
                f"Cannot use the key ring {self._path}: {exc.strerror or exc}. Check that the "
                "data dir is a folder you can read and write, or choose another --data-dir."
            ) from None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _refresh_before_change(self) -> None:
        if self._path is not None and self._current_stamp() != self._stamp:
            self._read_file()

    def _read_file(self) -> None:
        assert self._path is not None
        stamp = self._current_stamp()
        if stamp is None:
            entries: dict[str, _Entry] = {}
        else:
            try:
                text = self._path.read_text(encoding="utf-8")
            except OSError as exc:
                raise KeyRingError(
                    f"Cannot read the key ring {self._path}: {exc.strerror or exc}. Check its "
                    "permissions."
                ) from None
            except UnicodeDecodeError:
                raise self._corrupt("it is not UTF-8 text") from None
            entries = self._parse(text)
        self._stamp = stamp
        if entries or self._entries:
            self._install(entries)

    def _corrupt(self, why: str) -> KeyRingError:
        return KeyRingError(
            f"The key ring file {self._path} is corrupt ({why}). Fix it, or delete it and add "
            "your keys again."
        )

    def _parse(self, text: str) -> dict[str, _Entry]:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise self._corrupt(f"not valid JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise self._corrupt('expected an object with a "keys" list')
        file_version = document.get("version")
        if file_version != KEYRING_FORMAT_VERSION:
            if isinstance(file_version, int) and file_version > KEYRING_FORMAT_VERSION:
                raise KeyRingError(
                    f"The key ring file {self._path} was written by a newer version of the "
                    f"inspector (format {file_version}). Update the inspector, or use another "
                    "data dir."
                )
            raise self._corrupt(f"unknown format version {file_version!r}")
        entries: dict[str, _Entry] = {}
        for position, item in enumerate(document["keys"], start=1):
            if not isinstance(item, dict):
                raise self._corrupt(f"entry {position} is not an object")
            name, spki = item.get("name"), item.get("spki_b64")
            if not isinstance(name, str) or not is_valid_key_name(name):
                raise self._corrupt(f"entry {position} has no valid name")
            if not isinstance(spki, str):
                raise self._corrupt(f"key {name!r} has no spki_b64")
            if name in entries:
                raise self._corrupt(f"the name {name!r} appears twice")
            try:
                key = load_public_key(spki, name)
            except KeyLoadError as exc:
                raise self._corrupt(f"key {name!r} is unusable: {exc}") from None
            added_at = item.get("added_at")
            entries[name] = _Entry(key, added_at if isinstance(added_at, str) else "")
        return entries

    def _install(self, entries: dict[str, _Entry]) -> None:
        self._entries = entries
        self._snapshot = tuple(entries[name].key for name in sorted(entries))
        self._version += 1

    def _commit(self, entries: dict[str, _Entry]) -> None:
        if self._path is not None:
            self._write(entries)
        self._install(entries)

    def _write(self, entries: dict[str, _Entry]) -> None:
        assert self._path is not None
        document = {
            "version": KEYRING_FORMAT_VERSION,
            "keys": [
                {
                    "name": name,
                    "spki_b64": entries[name].key.spki_b64,
                    "added_at": entries[name].added_at,
                }
                for name in sorted(entries)
            ],
        }
        payload = (json.dumps(document, indent=2) + "\n").encode("utf-8")
        directory = self._path.parent
        tmp = directory / f".{self._path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self._path)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        except OSError as exc:
            raise KeyRingError(
                f"Could not save the key ring to {self._path}: {exc.strerror or exc}. Check "
                "free disk space and that the folder is writable."
            ) from None
        self._stamp = self._current_stamp()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
