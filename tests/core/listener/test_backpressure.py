"""Back-pressure: when the store's writer falls behind (here: another connection holds
SQLite's real write lock, so commits stall), the listener answers 503 with Retry-After instead
of queueing without bound, stores none of those, and recovers by itself once the lock goes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import aiohttp
import pytest

from inspector.core.errors import ListenerError
from inspector.core.store import Store
from tests.core.listener.conftest import MakeListener

LIMIT = 4
CLIENTS = 40


async def _post_all(url: str, count: int) -> list[tuple[int, dict[str, str], dict[str, str]]]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=count), timeout=aiohttp.ClientTimeout(total=120)
    ) as session:

        async def one(n: int) -> tuple[int, dict[str, str], dict[str, str]]:
            body = json.dumps({"id": f"E-{n}", "name": "N", "entityType": "ORDER"}).encode()
            async with session.post(url + "hooks/fluent", data=body) as response:
                return response.status, dict(response.headers), await response.json()

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def test_a_stalled_writer_gets_503_with_retry_after_then_200_again(
    make_listener: MakeListener, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    listener = make_listener(queue_limit=LIMIT)
    url = listener.status.url
    assert url is not None
    # Another connection takes SQLite's write lock: the writer's BEGIN IMMEDIATE waits.
    blocker = sqlite3.connect(tmp_path / "captures.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    results: list[tuple[int, dict[str, str], dict[str, str]]] = []
    thread = threading.Thread(target=lambda: results.extend(asyncio.run(_post_all(url, CLIENTS))))
    thread.start()
    try:
        # Wait until the backlog is at its bound, or the first 503 went out: when all 40
        # arrive in one turn of the loop, the 4 let in are handed to the writer together
        # and the backlog reads 0 again at once (it counts only what the writer has not
        # taken), so polling it alone could miss the whole episode.
        def refused() -> bool:
            return any("behind" in r.getMessage() for r in caplog.records)

        deadline = 6000  # generous: a wait, not a speed requirement
        while store.backlog()[0] < LIMIT and not refused() and deadline:
            deadline -= 1
            threading.Event().wait(0.01)
        assert store.backlog()[0] <= LIMIT
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    thread.join(timeout=120)
    assert len(results) == CLIENTS
    busy = [(headers, answer) for status, headers, answer in results if status == 503]
    stored = [answer for status, _, answer in results if status == 200]
    assert len(busy) + len(stored) == CLIENTS
    # At most the limit waited, plus the group the writer had taken when it stalled.
    assert CLIENTS - 2 * LIMIT <= len(busy) < CLIENTS
    for headers, answer in busy:
        assert headers["Retry-After"] == "1"
        assert answer["status"] == "not_stored"
        assert "waiting to be written; retry after 1 s" in answer["error"]
    # Everything answered 200 is stored, nothing answered 503 is.
    assert {c.id for c in store.iter_captures()} == {a["id"] for a in stored}
    assert store.backlog() == (0, 0)
    # Said once for the whole episode, not once per refused request.
    assert [r.getMessage().count("behind") for r in caplog.records] == [1]
    # Once the delayed ones were stored, the listener no longer reports a problem.
    # Recovered without a restart.
    again = asyncio.run(_post_all(url, LIMIT))
    assert [status for status, _, _ in again] == [200] * LIMIT
    assert store.count() == len(stored) + LIMIT
    assert listener.last_error is None


def test_queue_limit_must_be_positive(make_listener: MakeListener) -> None:
    with pytest.raises(ListenerError, match="at least 1"):
        make_listener(queue_limit=0)
