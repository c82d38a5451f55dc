"""A 2xx from the listener means the capture is on disk: SIGKILL mid-load loses none of them.

The listener runs in a separate process (a self-contained runner script, so this works
with or without the CLI), is killed without warning while several clients post to it, and
the store is then reopened and checked for every id that was answered 2xx.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.keys import KeyRing
from inspector.core.store import Store
from tests.support.captures import event_body
from tests.support.crypto import make_rsa_key, signed_headers, spki_b64
from tests.support.http import receive, send

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

REPO_ROOT = Path(__file__).resolve().parents[2]

RUNNER = """\
import sys, threading
from pathlib import Path

from inspector.core.keys import KeyRing
from inspector.core.listener import Listener, ListenerConfig
from inspector.core.store import Store

data_dir = Path(sys.argv[1])
store = Store.open(data_dir)
listener = Listener(store, KeyRing.open(data_dir), ListenerConfig(port=0))
listener.start()
print(listener.port, flush=True)
threading.Event().wait()
"""

CLIENTS = 4
ACKS_BEFORE_KILL = 1000


def start_listener_process(data_dir: Path, tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    script = tmp_path / "run_listener.py"
    script.write_text(RUNNER)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    )
    log = tmp_path / "listener.stderr"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=REPO_ROOT,
            env=env,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        proc.wait()
        raise AssertionError(f"listener process did not start: {line!r}\n{log.read_text()}")
    return proc, int(line)


def test_every_2xx_survives_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    key = make_rsa_key(1024)
    KeyRing.open(data_dir).add("sandbox", spki_b64(key))
    proc, port = start_listener_process(data_dir, tmp_path)

    acked: dict[str, bytes] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []

    def client(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        try:
            while True:
                body = event_body(entityRef=f"W{worker}-{n}")
                n += 1
                send(conn, "POST", f"/load/{worker}", body, signed_headers(key, body))
                reply = receive(conn)
                if 200 <= reply.status < 300:
                    with lock:
                        acked[json.loads(reply.body)["id"]] = body
        except (OSError, http.client.HTTPException):
            return  # the listener was killed: expected
        except BaseException as exc:  # anything else is a test bug worth seeing
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < ACKS_BEFORE_KILL and proc.poll() is None:
            assert time.monotonic() < deadline, "load never got going"
            time.sleep(0.01)
        assert proc.poll() is None, (tmp_path / "listener.stderr").read_text()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for thread in threads:
            thread.join(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert failures == []
    assert proc.returncode == -signal.SIGKILL

    with lock:
        snapshot = dict(acked)
    assert len(snapshot) >= ACKS_BEFORE_KILL
    store = Store.open(data_dir)
    try:
        missing = [capture_id for capture_id in snapshot if store.get(capture_id) is None]
        assert missing == [], f"{len(missing)} of {len(snapshot)} acknowledged captures lost"
        # Shown with -s: the README's SIGKILL sweep adds these up over repeated runs.
        print(f"durability: {len(snapshot)} acknowledged, 0 lost, {store.count()} stored")
        for capture_id, body in list(snapshot.items())[:: max(1, len(snapshot) // 25)]:
            capture = store.get(capture_id)
            assert capture is not None
            assert capture.body == body
            assert capture.signature(SignatureHeader.FLUENT).verdict is Verdict.VALID
        assert store.count() >= len(snapshot)
    finally:
        store.close()
