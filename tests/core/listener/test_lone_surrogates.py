"""A webhook whose JSON escapes a lone surrogate ("\\ud800") is valid bytes: it is stored
(not 503 "this is a bug"), exported, and imported again byte-exact."""

from __future__ import annotations

from pathlib import Path

from inspector.core.jobs import NO_PROGRESS, export_job, import_job
from inspector.core.store import CaptureQuery, Store
from tests.core.listener.conftest import MakeListener
from tests.support.http import request


def test_a_lone_surrogate_escape_in_a_body_is_stored_and_exported(
    make_listener: MakeListener, store: Store, tmp_path: Path
) -> None:
    listener = make_listener()
    body = b'{"id": "E-1", "name": "\\ud800", "entityRef": "HD-\\udcff", "entityType": "ORDER"}'
    reply = request(listener.port, "POST", "/hooks", body, [("Content-Type", "application/json")])
    assert reply.status == 200, reply
    capture = store.get(reply.json()["id"])
    assert capture is not None and capture.body == body
    assert capture.event is not None and capture.event.entity_ref == "HD-\ufffd"
    for fmt in ("jsonl", "har"):
        target = tmp_path / f"out.{fmt}"
        assert export_job(NO_PROGRESS, store, CaptureQuery(), target, fmt) == 1
        with Store(tmp_path / f"copy-{fmt}.sqlite3") as copy:
            assert import_job(NO_PROGRESS, copy, target)[:2] == (1, 1)
            again = copy.get(capture.id)
            assert again is not None and again.body == body
