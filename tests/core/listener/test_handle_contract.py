"""One contract for both listeners: whatever the window does with a :class:`ListenerHandle`
must work the same with the in-process :class:`Listener` and the :class:`ListenerProcess`.
Real HTTP over loopback to the real listener, signed with a real key."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from inspector.core.capture import Verdict
from inspector.core.errors import ListenerError
from inspector.core.keys import KeyRing
from inspector.core.listener import (
    CaptureNotice,
    Listener,
    ListenerConfig,
    ListenerHandle,
    ListenerProcess,
    ListenerState,
    ListenerStatus,
)
from inspector.core.store import Store
from tests.support.captures import event_body
from tests.support.crypto import make_rsa_key, signed_headers, spki_b64

WAIT = 20.0
Factory = Callable[[Store, KeyRing, ListenerConfig], ListenerHandle]
HANDLES: dict[str, Factory] = {"in-process": Listener, "child-process": ListenerProcess}


@pytest.fixture(params=sorted(HANDLES))
def factory(request: pytest.FixtureRequest) -> Factory:
    return HANDLES[request.param]


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = Store.open(data_dir)
    yield opened
    opened.close()


def _wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _post(handle: ListenerHandle, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{handle.port}/hooks/fluent", content=body, headers=headers, timeout=10
    )


def test_start_notify_reload_keys_and_stop(factory: Factory, store: Store, data_dir: Path) -> None:
    private = make_rsa_key(1024)
    ring = KeyRing.open(data_dir)
    handle = factory(store, ring, ListenerConfig(port=0))
    statuses: list[ListenerStatus] = []
    notices: queue.SimpleQueue[CaptureNotice] = queue.SimpleQueue()
    handle.on_status(statuses.append)
    unsubscribe = handle.subscribe(notices.put)
    assert handle.config.port == 0
    assert handle.status.state is ListenerState.STOPPED
    try:
        status = handle.start()
        assert status.state is ListenerState.LISTENING
        assert handle.port != 0 and status.url == f"http://127.0.0.1:{handle.port}/"
        assert handle.last_error is None

        body = event_body(name="ORDER_CREATED")
        headers = signed_headers(private, body)
        reply = _post(handle, body, headers)
        assert reply.status_code == 200
        notice = notices.get(timeout=WAIT)
        assert notice.id == reply.json()["id"]
        assert notice.row == store.row(notice.id)  # the row the table would page in
        assert notice.row.fluent is Verdict.NO_KEY
        assert notice.event is not None and notice.event.name == "ORDER_CREATED"

        ring.add("late", spki_b64(private))
        assert handle.reload_keys() is True
        reply = _post(handle, body, headers)
        notice = notices.get(timeout=WAIT)
        assert notice.id == reply.json()["id"]
        assert (notice.row.fluent, notice.row.fluent_key) == (Verdict.VALID, "late")
        assert notice.row.attempt == 2

        unsubscribe()
        assert _post(handle, b"not an event", {}).status_code == 200
    finally:
        handle.stop()
    assert handle.status.state is ListenerState.STOPPED
    assert notices.empty()
    states = [s.state for s in statuses]
    assert states[:2] == [ListenerState.STARTING, ListenerState.LISTENING]
    assert states[-1] is ListenerState.STOPPED
    assert store.count() == 3


def test_start_async_reports_the_outcome_through_on_status(
    factory: Factory, store: Store, data_dir: Path
) -> None:
    handle = factory(store, KeyRing.open(data_dir), ListenerConfig(port=0))
    statuses: list[ListenerStatus] = []
    handle.on_status(statuses.append)
    try:
        first = handle.start_async()
        assert first.state in (ListenerState.STARTING, ListenerState.LISTENING)
        _wait_for(lambda: handle.status.state is ListenerState.LISTENING)
        assert statuses[-1].state is ListenerState.LISTENING
        assert _post(handle, b"{}", {}).status_code == 200
    finally:
        handle.stop()
    assert handle.status.state is ListenerState.STOPPED


def test_a_failed_start_says_why(factory: Factory, store: Store, data_dir: Path) -> None:
    handle = factory(store, KeyRing.open(data_dir), ListenerConfig(host="0.0.0.0", port=0))
    try:
        with pytest.raises(ListenerError, match="--allow-remote"):
            handle.start()
        assert handle.status.state is ListenerState.FAILED
        assert handle.status.error is not None and "--allow-remote" in handle.status.error
        failed = handle.start_async()
        _wait_for(lambda: handle.status.state is ListenerState.FAILED)
        assert failed.state in (ListenerState.STARTING, ListenerState.FAILED)
    finally:
        handle.stop()


def test_signed_only_and_the_path_prefix_behave_alike(
    factory: Factory,
    store: Store,
    data_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="inspector")
    prefix = "/h/contract-Secret_0123456789"
    config = ListenerConfig(port=0, require_signature=True, path_prefix=prefix)
    ring = KeyRing.open(data_dir)
    handle = factory(store, ring, config)
    notices: queue.SimpleQueue[CaptureNotice] = queue.SimpleQueue()
    handle.subscribe(notices.put)
    try:
        # No key: signed-only refuses to start, and says what to do.
        with pytest.raises(ListenerError, match="keys add") as refused:
            handle.start()
        assert "Keys" in str(refused.value)
        private = make_rsa_key(1024)
        ring.add("fluent", spki_b64(private))
        status = handle.start()
        assert status.url == f"http://127.0.0.1:{handle.port}{prefix}"
        assert handle.refused_outside_prefix == 0
        base = f"http://127.0.0.1:{handle.port}"
        for path in ("/", "/h/", prefix + "x", "/.env"):
            assert httpx.post(base + path, content=b"{}", timeout=10).status_code == 404
        _wait_for(lambda: handle.refused_outside_prefix == 4)

        body = event_body(name="ORDER_CREATED")
        unsigned = httpx.post(base + prefix + "/hooks", content=body, timeout=10)
        assert unsigned.status_code == 401
        notice = notices.get(timeout=WAIT)
        assert notice.id == unsigned.json()["id"]
        assert notice.row.rejected is not None and "signature required" in notice.row.rejected

        headers = signed_headers(private, body, tmp_dir=tmp_path)
        signed = httpx.post(base + prefix + "/hooks", content=body, headers=headers, timeout=10)
        assert signed.status_code == 200
        notice = notices.get(timeout=WAIT)
        assert (notice.row.fluent, notice.row.rejected) == (Verdict.VALID, None)
        assert store.count() == 2  # the four 404s are not stored
    finally:
        handle.stop()
    # A secret: never in the log, nor on the child's command line (any user can list it).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("inspector"))
    assert prefix not in ours
    if isinstance(handle, ListenerProcess):
        assert "Listening on" in ours  # the child's line is logged, redacted
        assert not any(prefix in part for part in handle.command())
