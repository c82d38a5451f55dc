"""SecretStore over keyring: persistent with a real backend, session-only without one."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors
import pytest

from inspector.core.secrets import NO_KEYRING_REASON, SECRET_KINDS, SecretStore
from tests.support.keyring_double import MemoryKeyring


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("collection is locked")

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("collection is locked")


@pytest.fixture
def fail_backend() -> object:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


def _files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle.encode() in path.read_bytes():
                    hits.append(path)
            except OSError:
                continue
    return hits


def test_fail_backend_keeps_secrets_for_the_session_and_says_so(
    fail_backend: object, tmp_path: Path
) -> None:
    store = SecretStore(service="test-session")
    assert store.persistent is False
    assert store.reason == NO_KEYRING_REASON
    assert "session only" in store.reason
    store.set("acme", "password", "hunter2-session")
    assert store.get("acme", "password") == "hunter2-session"
    # Another store of the same process sees the session secret (one app, many dialogs).
    assert SecretStore(service="test-session").get("acme", "password") == "hunter2-session"
    store.delete("acme", "password")
    assert store.get("acme", "password") is None
    store.delete("acme", "password")  # deleting twice is fine
    # Nothing written anywhere under the redirected data/config dirs.
    home = Path(os.environ["FLUENT_INSPECTOR_HOME"]).parent
    store.set("acme", "client_secret", "s3cr3t-never-on-disk")
    assert _files_containing(home, "s3cr3t-never-on-disk") == []
    store.forget_session()
    assert store.get("acme", "client_secret") is None


def test_chainer_without_backends_is_not_persistent() -> None:
    chainer = keyring.backends.chainer.ChainerBackend()
    if chainer.backends:
        pytest.skip("this machine has a real keyring backend to chain")
    store = SecretStore(service="test-chainer", backend=chainer)
    assert store.persistent is False
    assert store.reason == NO_KEYRING_REASON


def test_real_backend_is_used_and_persistent() -> None:
    backend = MemoryKeyring()
    store = SecretStore(service="test-persist", backend=backend)
    assert store.persistent is True and store.reason == ""
    for kind in SECRET_KINDS:
        store.set("acme", kind, f"value-{kind}")
    assert backend.values[("test-persist", "acme:password")] == "value-password"
    assert store.get("acme", "token") == "value-token"
    # A new store over the same backend (a restarted app) still finds them.
    assert SecretStore(service="test-persist", backend=backend).get("acme", "client_secret") == (
        "value-client_secret"
    )
    store.delete_profile("acme")
    assert backend.values == {}
    assert "value" not in repr(store)


def test_backend_failing_at_runtime_falls_back_with_a_reason() -> None:
    store = SecretStore(service="test-locked", backend=LockedKeyring())
    assert store.persistent is True
    store.set("acme", "password", "pw-locked")
    assert store.persistent is False
    assert "session only" in store.reason and "KeyringLocked" in store.reason
    assert store.get("acme", "password") == "pw-locked"
    store.forget_session()


def test_unknown_kind_is_a_programming_error() -> None:
    store = SecretStore(service="test-kind", backend=MemoryKeyring())
    with pytest.raises(ValueError, match="unknown secret kind"):
        store.set("acme", "api_key", "x")
