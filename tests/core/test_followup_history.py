"""FollowupHistory on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspector.core.followup_history import (
    HISTORY_FILENAME,
    FollowupHistory,
    FollowupHistoryError,
    RunStatus,
    status_of,
)

QUERY = "query Q($id: ID!) { orderById(id: $id) { id status } }"


def test_add_and_list_for_capture_newest_first(data_dir: Path) -> None:
    with FollowupHistory.in_data_dir(data_dir) as history:
        first = history.add(
            "cap-1",
            "acme",
            QUERY,
            {"id": "1"},
            RunStatus.OK,
            0.123,
            http_status=200,
            result={"orderById": {"id": "1", "status": "BOOKED"}},
        )
        second = history.add(
            "cap-1",
            "acme",
            QUERY,
            {"id": "1"},
            RunStatus.PARTIAL,
            0.2,
            http_status=200,
            result={"orderById": {"id": "1", "status": "BOOKED", "customer": None}},
            errors=[{"message": "C0020E: missing permission CUSTOMER_VIEW", "path": ["x"]}],
        )
        history.add("cap-2", "acme", QUERY, {"id": "2"}, RunStatus.FAILED, 1.5, message="down")

        runs = history.list_for("cap-1")
        assert [r.id for r in runs] == [second.id, first.id]
        assert runs[1].result == {"orderById": {"id": "1", "status": "BOOKED"}}
        assert runs[1].variables == {"id": "1"}
        assert runs[1].http_status == 200
        assert runs[0].status is RunStatus.PARTIAL
        assert runs[0].errors[0]["path"] == ["x"]
        assert runs[0].ran_at.tzinfo is not None
        assert history.latest_for("cap-1") == runs[0]
        assert history.latest_for("nope") is None
        failed = history.list_for("cap-2")[0]
        assert failed.status is RunStatus.FAILED and failed.message == "down"
        assert failed.result is None
    assert (data_dir / HISTORY_FILENAME).exists()


def test_delete_for_and_clear(data_dir: Path) -> None:
    with FollowupHistory.in_data_dir(data_dir) as history:
        for capture_id in ("a", "a", "b", "c"):
            history.add(capture_id, "acme", QUERY, {}, RunStatus.OK, 0.1)
        assert history.delete_for("a") == 2
        assert history.list_for("a") == []
        assert history.count() == 2
        history.add("d", "acme", QUERY, {}, RunStatus.OK, 0.1)
        assert history.delete_many(["b", "d", "nope", "b"]) == 2
        assert history.count() == 1
        assert history.clear() == 1
        assert history.count() == 0


def test_runs_survive_reopening(data_dir: Path) -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    with FollowupHistory.in_data_dir(data_dir) as history:
        run = history.add("c", "p", QUERY, None, RunStatus.ERRORS, 0.5, ran_at=when)
    with FollowupHistory.in_data_dir(data_dir) as history:
        again = history.get(run.id)
        assert again.ran_at == when
        assert again.variables == {}
        assert history.count() == 1
        assert history.delete_for("c") == 1
        assert history.list_for("c") == []
        with pytest.raises(FollowupHistoryError, match="no follow-up run"):
            history.get(run.id)


def test_own_file_own_table(data_dir: Path) -> None:
    FollowupHistory.in_data_dir(data_dir).close()
    with sqlite3.connect(data_dir / HISTORY_FILENAME) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in db.execute("PRAGMA table_info(followups)")}
    assert "followups" in tables
    assert {"capture_id", "profile", "query", "variables", "status", "elapsed", "result"} <= columns
    assert {"errors", "ran_at"} <= columns


def test_unusable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILENAME
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(FollowupHistoryError, match="move it away"):
        FollowupHistory(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILENAME
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(FollowupHistoryError, match="newer version"):
        FollowupHistory(path)


def test_status_of() -> None:
    assert status_of({"a": 1}, []) is RunStatus.OK
    assert status_of({"a": 1}, [{"message": "x"}]) is RunStatus.PARTIAL
    assert status_of({"a": None}, [{"message": "x"}]) is RunStatus.ERRORS
    assert status_of(None, [{"message": "x"}]) is RunStatus.ERRORS


def test_latest_for_many_in_one_call_across_chunks(data_dir: Path) -> None:
    from inspector.core import followup_history

    with FollowupHistory.in_data_dir(data_dir) as history:
        expected = {}
        # More captures than one IN list takes, so the chunking is exercised too.
        count = followup_history._IN_CHUNK + 7
        for i in range(count):
            history.add(f"cap-{i}", "acme", QUERY, {"id": str(i)}, RunStatus.ERRORS, 0.1)
            if i % 3 == 0:
                expected[f"cap-{i}"] = history.add(
                    f"cap-{i}", "acme", QUERY, {"id": str(i)}, RunStatus.OK, 0.2
                )
        ids = [f"cap-{i}" for i in range(count)] + ["missing", "cap-0"]
        latest = history.latest_for_many(ids)
        assert set(latest) == {f"cap-{i}" for i in range(count)}  # no entry for "missing"
        for capture_id, run in expected.items():
            assert latest[capture_id] == run
        assert latest["cap-1"].status is RunStatus.ERRORS
        for i in (0, 1, count - 1):
            assert latest[f"cap-{i}"] == history.latest_for(f"cap-{i}")
        assert history.latest_for_many([]) == {}
        assert history.latest_for_many(iter(["missing"])) == {}


def test_latest_for_many_only_of_given_queries_and_statuses(data_dir: Path) -> None:
    with FollowupHistory.in_data_dir(data_dir) as history:
        template = history.add("cap", "acme", QUERY, {"id": "1"}, RunStatus.OK, 0.1)
        history.add("cap", "acme", "{ adHoc }", {}, RunStatus.OK, 0.1)
        history.add("cap", "acme", QUERY, {"id": "1"}, RunStatus.FAILED, 0.1)
        history.add("other", "acme", "{ adHoc }", {}, RunStatus.OK, 0.1)
        latest = history.latest_for_many(
            ["cap", "other"], queries=[QUERY], statuses=[RunStatus.OK, RunStatus.PARTIAL]
        )
        assert latest == {"cap": template}  # newer ad-hoc and failed runs are passed over
        assert history.latest_for_many(["cap"], queries=[]) == {}
        assert history.latest_for_many(["cap"])["cap"].status is RunStatus.FAILED
