"""Fixtures every listener test shares: a key ring with one generated key, a real store file,
and real listeners on ephemeral loopback ports, stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inspector.core.keys import KeyRing
from inspector.core.listener import Listener, ListenerConfig
from inspector.core.store import Store
from tests.support.crypto import make_rsa_key, spki_b64

KEY_NAME = "sandbox-sydney"
MakeListener = Callable[..., Listener]


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    ring = KeyRing(tmp_path / "keys.json")
    ring.add(KEY_NAME, spki_b64(make_rsa_key(1024)))
    return ring


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "captures.sqlite3")
    yield s
    s.close()


@pytest.fixture
def make_listener(store: Store, keyring: KeyRing) -> Iterator[MakeListener]:
    made: list[Listener] = []

    def make(**config: object) -> Listener:
        config.setdefault("port", 0)
        listener = Listener(store, keyring, ListenerConfig(**config))  # type: ignore[arg-type]
        made.append(listener)
        listener.start()
        return listener

    yield make
    for listener in made:
        listener.stop()
