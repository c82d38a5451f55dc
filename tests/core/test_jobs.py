"""The store jobs the window runs in workers and the CLI runs directly, on real SQLite files."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core.capture import Verdict
from inspector.core.errors import ExchangeError
from inspector.core.followup_history import FollowupHistory, RunStatus
from inspector.core.jobs import (
    IMPORT_BATCH,
    NO_PROGRESS,
    Cancelled,
    ImportTally,
    clear_job,
    export_job,
    import_job,
    import_summary,
    reverify_job,
)
from inspector.core.keys import KeyRing
from inspector.core.store import CaptureQuery, Store
from tests.support.captures import event_body, make_capture
from tests.support.crypto import make_rsa_key, signed_headers, spki_b64


class Recorder:
    """A Progress that records reports and cancels after ``cancel_after`` of them."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[int, int]] = []
        self.cancel_after = cancel_after

    def report(self, done: int, total: int) -> None:
        self.reports.append((done, total))

    @property
    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.reports) > self.cancel_after


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "captures.sqlite3")
    yield opened
    opened.close()


def test_export_then_import_into_another_store_file(store: Store, tmp_path: Path) -> None:
    originals = [store.add(make_capture(event_name=f"E{i}")) for i in range(7)]
    target = tmp_path / "out.jsonl"
    progress = Recorder()
    assert export_job(progress, store, CaptureQuery(), target, "jsonl") == 7
    assert progress.reports[0] == (0, 7) and progress.reports[-1] == (7, 7)
    assert {json.loads(line)["id"] for line in target.read_bytes().splitlines()} == {
        c.id for c in originals
    }

    with Store(tmp_path / "other.sqlite3") as other:
        assert import_job(NO_PROGRESS, other, target)[:2] == (7, 7)
        assert other.count() == 7
        copied, original = other.get(originals[3].id), store.get(originals[3].id)
        assert copied is not None and original is not None
        assert (copied.body, copied.headers) == (original.body, original.headers)
        # Importing again adds nothing: every capture is already there.
        again = import_job(NO_PROGRESS, other, target)
        assert (again.added, again.read, again.present) == (0, 7, 7)
        assert import_summary(again) == f"imported 0 (7 already present) in {again.seconds:.1f} s"


def test_export_to_a_stream_and_by_query(store: Store) -> None:
    store.add(make_capture(entity_ref="KEEP_1"))
    store.add(make_capture(entity_ref="DROP_2"))
    out = io.BytesIO()
    assert export_job(NO_PROGRESS, store, CaptureQuery(text="KEEP"), out, "jsonl") == 1
    assert b"KEEP_1" in out.getvalue() and b"DROP_2" not in out.getvalue()


def test_a_cancelled_export_leaves_no_file(store: Store, tmp_path: Path) -> None:
    for _ in range(5):
        store.add(make_capture())
    target = tmp_path / "out.har"
    with pytest.raises(Cancelled):
        export_job(Recorder(cancel_after=2), store, CaptureQuery(), target, "har")
    assert list(tmp_path.glob("out.har*")) == []


def test_import_commits_in_batches_and_stops_when_cancelled(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "many.jsonl"
    with Store(tmp_path / "source.sqlite3") as origin:
        origin.add_many([make_capture() for _ in range(IMPORT_BATCH + 10)])
        export_job(NO_PROGRESS, origin, CaptureQuery(), source, "jsonl")
    progress = Recorder(cancel_after=1)  # the first full batch is reported, then cancelled
    tally = ImportTally()
    with pytest.raises(Cancelled):
        import_job(progress, store, source, tally)
    size = source.stat().st_size
    assert progress.reports[0] == (0, 0) and len(progress.reports) == 2
    assert 0 < progress.reports[1][0] < size == progress.reports[1][1]  # bytes read of all
    assert store.count() == IMPORT_BATCH  # the batch already queued commits and stays
    assert (tally.added, tally.read) == (IMPORT_BATCH, IMPORT_BATCH)
    assert tally.where == f"line {IMPORT_BATCH}"


def test_a_broken_line_stops_the_import_after_everything_before_it(
    store: Store, tmp_path: Path
) -> None:
    """Issue 12, item 10: "imported N, stopped at line L: reason"; the N stay."""
    source = tmp_path / "broken.jsonl"
    with Store(tmp_path / "source.sqlite3") as origin:
        origin.add_many([make_capture() for _ in range(IMPORT_BATCH + 22)])
        export_job(NO_PROGRESS, origin, CaptureQuery(), source, "jsonl")
    lines = source.read_bytes().splitlines(keepends=True)
    bad = IMPORT_BATCH + 11
    lines.insert(bad - 1, b'{"id": \n')
    source.write_bytes(b"".join(lines))
    tally = ImportTally()
    with pytest.raises(ExchangeError) as caught:
        import_job(NO_PROGRESS, store, source, tally)
    message = str(caught.value)
    assert f"imported {bad - 1}, stopped at line {bad}: not valid JSON" in message
    assert caught.value.where == f"line {bad}"
    assert store.count() == bad - 1 == tally.added  # every capture before the line
    with pytest.raises(ExchangeError) as again:
        import_job(NO_PROGRESS, store, source)
    assert f"imported 0, stopped at line {bad}" in str(again.value)
    assert f"({bad - 1} of those were already there)" in str(again.value)
    assert store.count() == bad - 1


def test_an_unreadable_file_imports_nothing_and_says_so_without_counts(
    store: Store, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    with pytest.raises(ExchangeError, match="is empty") as caught:
        import_job(NO_PROGRESS, store, empty)
    assert "imported" not in str(caught.value)
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"[" * 100_000 + b"\n")
    with pytest.raises(ExchangeError) as nested:
        import_job(NO_PROGRESS, store, first)
    assert "imported 0, stopped at line 1: nested too deeply to read" in str(nested.value)
    assert "Nothing was imported" in str(nested.value)


def test_reverify_finds_the_verdicts_a_new_key_changes(store: Store, tmp_path: Path) -> None:
    key = make_rsa_key(1024)
    for i in range(3):
        body = event_body(entityRef=f"R-{i}")
        store.add(
            make_capture(
                body=body,
                headers=tuple(signed_headers(key, body)),
                flex=Verdict.NO_KEY,
                fluent=Verdict.NO_KEY,
            )
        )
    ring = KeyRing(tmp_path / "keys.json")
    reverify_job(NO_PROGRESS, store, ring)  # the verifier's own wording replaces the fakes'
    for capture in store.iter_captures():
        assert {c.verdict for c in capture.signatures} == {Verdict.NO_KEY}
    assert reverify_job(NO_PROGRESS, store, ring) == 0  # nothing new to find without a key
    ring.add("late", spki_b64(key))
    progress = Recorder()
    assert reverify_job(progress, store, ring) == 3
    assert progress.reports[-1] == (3, 3)
    for capture in store.iter_captures():
        assert {c.verdict for c in capture.signatures} == {Verdict.VALID}
    assert reverify_job(NO_PROGRESS, store, ring) == 0


def test_clear_deletes_captures_and_their_follow_up_runs(store: Store, tmp_path: Path) -> None:
    capture = store.add(make_capture())
    store.add(make_capture())
    history = FollowupHistory(tmp_path / "followups.sqlite3")
    try:
        history.add(capture.id, "p", "{ x }", {}, RunStatus.OK, 0.1)
        assert clear_job(NO_PROGRESS, store, history) == 2
        assert store.count() == 0
        assert history.count() == 0
    finally:
        history.close()
