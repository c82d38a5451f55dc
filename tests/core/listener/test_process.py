"""ListenerProcess: the real `fluent-inspector listen --machine` child, real HTTP over loopback,
real SQLite files, keys signed by the openssl command line."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inspector.core.capture import Capture, Verdict
from inspector.core.errors import ListenerError
from inspector.core.keys import KeyRing
from inspector.core.listener import (
    CaptureNotice,
    ListenerConfig,
    ListenerProcess,
    ListenerState,
    ListenerStatus,
    notice_of,
    protocol,
)
from inspector.core.store import Store
from tests.support.captures import event_body
from tests.support.crypto import make_rsa_key, signed_headers, spki_b64

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

REPO_ROOT = Path(__file__).resolve().parents[3]
WAIT = 20.0
"""Upper bound for things that normally take well under a second (a loaded CI machine)."""


def wait_for(predicate, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return state in ("Z", "X")


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = Store.open(data_dir)
    yield opened
    opened.close()


@pytest.fixture
def rsa_key():  # type: ignore[no-untyped-def]
    return make_rsa_key(1024)


@pytest.fixture
def keyring(data_dir: Path, rsa_key) -> KeyRing:  # type: ignore[no-untyped-def]
    ring = KeyRing.open(data_dir)
    ring.add("sandbox", spki_b64(rsa_key))
    return ring


@pytest.fixture
def listener(store: Store, keyring: KeyRing) -> Iterator[ListenerProcess]:
    proc = ListenerProcess(store, keyring, ListenerConfig(port=0))
    yield proc
    proc.stop()


def post(listener: ListenerProcess, body: bytes, headers: list[tuple[str, str]]) -> httpx.Response:
    url = listener.status.url
    assert url
    return httpx.post(url + "hooks/fluent", content=body, headers=headers, timeout=10)


def test_start_capture_verify_and_stop(  # type: ignore[no-untyped-def]
    listener: ListenerProcess, store: Store, rsa_key, tmp_path: Path
) -> None:
    statuses: list[ListenerStatus] = []
    captures: queue.SimpleQueue[CaptureNotice] = queue.SimpleQueue()
    listener.on_status(statuses.append)
    listener.subscribe(captures.put)

    status = listener.start()
    assert status.state is ListenerState.LISTENING
    assert status.url == f"http://127.0.0.1:{listener.port}/"
    assert listener.port != 0
    pid = listener.pid
    assert pid is not None and pid != os.getpid()
    assert listener.start() is listener.status  # already listening: a no-op

    body = event_body(name="ORDER_CREATED")
    reply = post(listener, body, signed_headers(rsa_key, body, tmp_dir=tmp_path))
    assert reply.status_code == 200
    notice = captures.get(timeout=WAIT)
    assert notice.id == reply.json()["id"]
    assert notice.row.seq > 0
    assert notice.row.flex is Verdict.VALID
    assert notice.row.fluent_key == "sandbox"
    assert notice.event is not None and notice.event.name == "ORDER_CREATED"
    # Subscribers get the row, not the body (the child's line carries the rest, so the
    # parent never reads the store per capture); the store has the body.
    assert notice.row.size == len(body)
    stored = store.get(notice.id)
    assert stored is not None and stored.body == body
    assert notice == notice_of(stored)
    assert notice.row == store.row(notice.id)

    listener.stop()
    assert listener.status.state is ListenerState.STOPPED
    assert listener.pid is None and process_gone(pid)
    assert [s.state for s in statuses] == [
        ListenerState.STARTING,
        ListenerState.LISTENING,
        ListenerState.STOPPED,
    ]
    listener.stop()  # idempotent
    assert statuses[-1].state is ListenerState.STOPPED and len(statuses) == 3


def test_busy_port_raises_the_childs_message(store: Store, keyring: KeyRing) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = ListenerProcess(store, keyring, ListenerConfig(port=port))
        with pytest.raises(ListenerError) as failed:
            proc.start()
        message = str(failed.value)
        assert f"Port {port}" in message and "already in use" in message
        assert "--port" in message  # the fix
        assert proc.status.state is ListenerState.FAILED
        assert proc.status.error == message
    # once the port is free the same object starts
    try:
        assert proc.start().state is ListenerState.LISTENING
        assert proc.port == port
    finally:
        proc.stop()


def test_start_async_returns_at_once_and_reports_listening(listener: ListenerProcess) -> None:
    seen: queue.SimpleQueue[ListenerStatus] = queue.SimpleQueue()
    listener.on_status(seen.put)
    assert listener.start_async().state is ListenerState.STARTING
    assert listener.start_async().state is ListenerState.STARTING  # no second child
    assert seen.get(timeout=WAIT).state is ListenerState.STARTING
    listening = seen.get(timeout=WAIT)
    assert listening.state is ListenerState.LISTENING and listening.url
    # start() while a start_async is in flight (or done) waits for the same child
    assert listener.start() == listening


def test_child_that_dies_sets_failed_with_a_reason(listener: ListenerProcess) -> None:
    listener.start()
    pid = listener.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: listener.status.state is ListenerState.FAILED)
    error = listener.status.error or ""
    assert "ended unexpectedly" in error and "signal 9" in error
    assert "Ctrl+L" in error  # what to do
    # and it can be started again
    assert listener.start().state is ListenerState.LISTENING
    assert listener.pid not in (None, pid)


def test_subscribers_survive_a_restart_and_can_unsubscribe(
    listener: ListenerProcess,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    got: queue.SimpleQueue[CaptureNotice] = queue.SimpleQueue()
    unsubscribe = listener.subscribe(got.put)
    listener.start()
    listener.stop()
    listener.start()
    body = event_body()
    post(listener, body, signed_headers(rsa_key, body))
    assert got.get(timeout=WAIT).row.size == len(body)
    unsubscribe()
    assert post(listener, body, []).status_code == 200
    listener.stop()  # the reader has delivered (or dropped) everything by now
    assert got.empty()


def test_keys_added_to_the_ring_are_picked_up(
    store: Store,
    data_dir: Path,
    rsa_key,  # type: ignore[no-untyped-def]
) -> None:
    ring = KeyRing.open(data_dir)
    proc = ListenerProcess(store, ring, ListenerConfig(port=0))
    got: queue.SimpleQueue[CaptureNotice] = queue.SimpleQueue()
    proc.subscribe(got.put)
    try:
        proc.start()
        body = event_body()
        headers = signed_headers(rsa_key, body)
        post(proc, body, headers)
        assert got.get(timeout=WAIT).row.fluent is Verdict.NO_KEY
        ring.add("late", spki_b64(rsa_key))  # what the keys dialog does
        deadline = time.monotonic() + WAIT
        while True:
            post(proc, body, headers)
            row = got.get(timeout=WAIT).row
            if row.fluent is Verdict.VALID:
                assert row.fluent_key == "late"
                break
            assert time.monotonic() < deadline, "the child never reloaded the key ring"
            time.sleep(0.2)
    finally:
        proc.stop()


@pytest.mark.parametrize("where", ["other-file", "memory"])
def test_a_key_ring_outside_the_data_dir_is_used(
    store: Store,
    tmp_path: Path,
    rsa_key,
    where: str,  # type: ignore[no-untyped-def]
) -> None:
    ring = KeyRing(tmp_path / "elsewhere.json" if where == "other-file" else None)
    ring.add("elsewhere", spki_b64(rsa_key))
    proc = ListenerProcess(store, ring, ListenerConfig(port=0))
    got: queue.SimpleQueue[CaptureNotice] = queue.SimpleQueue()
    proc.subscribe(got.put)
    try:
        proc.start()
        body = event_body()
        post(proc, body, signed_headers(rsa_key, body))
        assert got.get(timeout=WAIT).row.flex_key == "elsewhere"
    finally:
        proc.stop()


def test_command_line_carries_the_configuration(store: Store, keyring: KeyRing) -> None:
    config = ListenerConfig(
        host="0.0.0.0",
        port=9999,
        body_limit=3 * 1024 * 1024,
        tls_cert=Path("/c.pem"),
        tls_key=Path("/k.pem"),
        allow_remote=True,
        max_connections=77,
        header_timeout=2.5,
    )
    command = ListenerProcess(store, keyring, config).command()
    assert command[:5] == [sys.executable, "-m", "inspector", "listen", "--machine"]
    for part in (
        "--host=0.0.0.0",
        "--port=9999",
        "--body-limit-mb=3.0",
        f"--data-dir={store.path.parent}",
        "--tls-cert=/c.pem",
        "--tls-key=/k.pem",
        "--allow-remote",
        "--max-connections=77",
        "--header-timeout=2.5",
    ):
        assert part in command
    assert not any(p.startswith("--key-ring") for p in command)  # the data dir's own ring


def test_a_store_that_is_not_a_data_dir_fails_clearly(tmp_path: Path, keyring: KeyRing) -> None:
    odd = Store(tmp_path / "odd.sqlite3")
    try:
        proc = ListenerProcess(odd, keyring, ListenerConfig(port=0))
        assert proc.start_async().state is ListenerState.FAILED
        with pytest.raises(ListenerError, match=r"Store\.open"):
            proc.start()
    finally:
        odd.close()


PARENT = """\
import sys
from pathlib import Path

from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig
from inspector.core.listener import ListenerProcess
from inspector.core.store import Store

data_dir = Path(sys.argv[1])
proc = ListenerProcess(Store.open(data_dir), KeyRing.open(data_dir), ListenerConfig(port=0))
status = proc.start()
print(f"{proc.pid} {proc.port}", flush=True)
sys.stdin.read()  # until the test kills us
"""


def test_killing_the_parent_ends_the_child(data_dir: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        child_pid, port = (int(x) for x in line.split())
        assert httpx.post(f"http://127.0.0.1:{port}/x", content=b"{}", timeout=10).is_success
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait(timeout=WAIT)
        wait_for(lambda: process_gone(child_pid))
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    with Store.open(data_dir) as store:
        assert store.count() == 1


def light_capture(message: dict[str, object]) -> Capture | None:
    decoded = protocol.decode(json.dumps(message))
    assert isinstance(decoded, protocol.Captured)
    return decoded.capture


def test_a_capture_line_without_a_usable_record_gives_no_light_capture() -> None:
    """Such a line (an older child) makes the reader fall back to reading the store."""
    assert light_capture({"event": "capture", "id": "x", "seq": 1}) is None
    assert light_capture({"event": "capture", "id": "x", "capture": {"id": "x"}}) is None
    broken = {"id": "x", "received_at": "not a time", "method": "POST", "target": "/", "path": "/"}
    assert light_capture({"event": "capture", "id": "x", "capture": broken}) is None
