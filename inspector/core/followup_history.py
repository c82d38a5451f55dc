"""Follow-up GraphQL runs saved with the capture they were made for.

Kept in its own SQLite file (``<data_dir>/followups.sqlite3``) so the capture store's schema
and migrations stay untouched; a run refers to its capture by id only. Tokens and secrets are
never part of a run: only the query, the variables and what the API answered are stored.
"""

from __future__ import annotations

import contextlib
import enum
import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from inspector.core.errors import FollowupHistoryError
from inspector.core.fluent.result import GraphQLResult

__all__ = [
    "HISTORY_FILENAME",
    "FollowupHistory",
    "FollowupHistoryError",
    "FollowupRun",
    "RunStatus",
    "status_of",
]

HISTORY_FILENAME: Final = "followups.sqlite3"
SCHEMA_VERSION: Final = 1
# Ids per IN list: well under SQLite's bound-parameter limit (999 on older builds).
_IN_CHUNK: Final = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS followups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    capture_id  TEXT    NOT NULL,
    profile     TEXT    NOT NULL,
    query       TEXT    NOT NULL,
    variables   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    http_status INTEGER,
    elapsed     REAL    NOT NULL,
    result      TEXT,
    errors      TEXT    NOT NULL,
    message     TEXT    NOT NULL DEFAULT '',
    ran_at      TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS followups_capture ON followups (capture_id, id);
"""


class RunStatus(enum.Enum):
    """How one follow-up run ended."""

    OK = "ok"
    """Data and no errors."""
    PARTIAL = "partial"
    """Data together with ``errors[]`` (e.g. a C0020E permission error on one field)."""
    ERRORS = "errors"
    """``errors[]`` and no data."""
    FAILED = "failed"
    """No GraphQL answer at all (authentication, network, HTTP status); see ``message``."""

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    RunStatus.OK: "ok",
    RunStatus.PARTIAL: "partial data + errors",
    RunStatus.ERRORS: "errors",
    RunStatus.FAILED: "failed",
}


def status_of(data: Any, errors: Sequence[Any]) -> RunStatus:
    """The status of a GraphQL answer with ``data`` and ``errors``."""
    has_data = isinstance(data, Mapping) and any(v is not None for v in data.values())
    if not errors:
        return RunStatus.OK
    return RunStatus.PARTIAL if has_data else RunStatus.ERRORS


def result_fields(result: GraphQLResult) -> dict[str, Any]:
    """What :meth:`FollowupHistory.add` records of an answered run (status, timing, payload)."""
    return {
        "status": status_of(result.data, result.errors),
        "elapsed": result.elapsed,
        "http_status": result.status,
        "result": result.data,
        "errors": result.errors,
    }


@dataclass(frozen=True, slots=True)
class FollowupRun:
    """One saved follow-up run."""

    id: int
    capture_id: str
    profile: str
    query: str
    variables: Mapping[str, Any]
    status: RunStatus
    http_status: int | None
    elapsed: float
    """Seconds, including any token request and retries."""
    result: Any
    """The answer's ``data`` (None when there was none)."""
    errors: tuple[Mapping[str, Any], ...]
    message: str
    """For FAILED runs: the user-facing error message."""
    ran_at: datetime
    """UTC, timezone-aware."""


def _json_or_fail(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise FollowupHistoryError(
            f"The {what} of this run cannot be saved as JSON ({exc}); this is a bug, please "
            "report it."
        ) from exc


def _loads(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


class FollowupHistory:
    """Saved follow-up runs in their own SQLite file. Thread-safe; one connection, locked."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=5.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                self._db.close()
                raise FollowupHistoryError(
                    f"The follow-up history {self.path} was written by a newer version of the "
                    "inspector; upgrade the inspector or move the file away."
                )
            if version < SCHEMA_VERSION:
                self._db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc, "open") from exc

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FollowupHistory:
        return cls(Path(data_dir) / HISTORY_FILENAME)

    def _error(self, exc: BaseException, action: str) -> FollowupHistoryError:
        text = str(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            hint = "another program holds it locked; close it and try again"
        elif "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
            hint = "the data directory is not writable; fix its permissions"
        elif "full" in lowered:
            hint = "the disk is full; free some space"
        elif "not a database" in lowered or "malformed" in lowered:
            hint = "the file is damaged; move it away (history is lost, captures are not)"
        else:
            hint = "check that the data directory is writable"
        return FollowupHistoryError(
            f"Could not {action} the follow-up history {self.path} ({text}): {hint}."
        )

    def add(
        self,
        capture_id: str,
        profile: str,
        query: str,
        variables: Mapping[str, Any] | None,
        status: RunStatus,
        elapsed: float,
        *,
        http_status: int | None = None,
        result: Any = None,
        errors: Sequence[Mapping[str, Any]] = (),
        message: str = "",
        ran_at: datetime | None = None,
    ) -> FollowupRun:
        """Save one run and return it (with its id)."""
        when = ran_at if ran_at is not None else datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        variables_dict = dict(variables or {})
        errors_tuple = tuple(dict(e) for e in errors)
        row = (
            capture_id,
            profile,
            query,
            _json_or_fail(variables_dict, "variables"),
            status.value,
            http_status,
            float(elapsed),
            None if result is None else _json_or_fail(result, "result"),
            _json_or_fail(list(errors_tuple), "errors"),
            message,
            when.astimezone(UTC).isoformat(),
        )
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT INTO followups (capture_id, profile, query, variables, status, "
                    "http_status, elapsed, result, errors, message, ran_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.Error as exc:
                raise self._error(exc, "save a run to") from exc
            run_id = int(cursor.lastrowid or 0)
        return FollowupRun(
            run_id,
            capture_id,
            profile,
            query,
            variables_dict,
            status,
            http_status,
            float(elapsed),
            result,
            errors_tuple,
            message,
            when.astimezone(UTC),
        )

    def _select(self, where: str, params: Sequence[Any]) -> list[FollowupRun]:
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT id, capture_id, profile, query, variables, status, http_status, "
                    f"elapsed, result, errors, message, ran_at FROM followups {where}",
                    params,
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from exc
        runs = []
        for row in rows:
            try:
                status = RunStatus(row[5])
            except ValueError:
                status = RunStatus.FAILED
            variables = _loads(row[4], {})
            errors = _loads(row[9], [])
            try:
                ran_at = datetime.fromisoformat(row[11])
            except (TypeError, ValueError):
                ran_at = datetime.fromtimestamp(0, UTC)
            runs.append(
                FollowupRun(
                    int(row[0]),
                    str(row[1]),
                    str(row[2]),
                    str(row[3]),
                    variables if isinstance(variables, dict) else {},
                    status,
                    None if row[6] is None else int(row[6]),
                    float(row[7]),
                    _loads(row[8], None),
                    tuple(e for e in errors if isinstance(e, dict))
                    if isinstance(errors, list)
                    else (),
                    str(row[10] or ""),
                    ran_at,
                )
            )
        return runs

    def list_for(self, capture_id: str, limit: int = 200) -> list[FollowupRun]:
        """The runs made for one capture, newest first."""
        return self._select("WHERE capture_id = ? ORDER BY id DESC LIMIT ?", (capture_id, limit))

    def get(self, run_id: int) -> FollowupRun:
        runs = self._select("WHERE id = ?", (run_id,))
        if not runs:
            raise FollowupHistoryError(
                f"There is no follow-up run {run_id}; it may have been deleted. Refresh the list."
            )
        return runs[0]

    def latest_for(self, capture_id: str) -> FollowupRun | None:
        runs = self.list_for(capture_id, limit=1)
        return runs[0] if runs else None

    def latest_for_many(
        self,
        capture_ids: Iterable[str],
        *,
        queries: Collection[str] | None = None,
        statuses: Collection[RunStatus] | None = None,
    ) -> dict[str, FollowupRun]:
        """The newest run of each capture that has one, keyed by capture id.

        ``queries`` / ``statuses`` keep only runs of those query texts and statuses (e.g.
        the newest *answered template* run: what the entity's state was last seen as).
        One query per ``_IN_CHUNK`` ids instead of one per capture: a page of table rows
        costs a round trip, not two hundred.
        """
        wanted = list(dict.fromkeys(capture_ids))
        extra = ""
        extra_params: list[str] = []
        if queries is not None:
            extra += f" AND query IN ({','.join('?' * len(queries)) or 'NULL'})"
            extra_params.extend(queries)
        if statuses is not None:
            extra += f" AND status IN ({','.join('?' * len(statuses)) or 'NULL'})"
            extra_params.extend(status.value for status in statuses)
        found: dict[str, FollowupRun] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            # The newest id per capture, found in the (capture_id, id) index.
            runs = self._select(
                "WHERE id IN (SELECT max(id) FROM followups "
                f"WHERE capture_id IN ({marks}){extra} GROUP BY capture_id)",
                [*chunk, *extra_params],
            )
            for run in runs:
                found[run.capture_id] = run
        return found

    def delete_for(self, capture_id: str) -> int:
        """Forget every run of one capture (e.g. when the capture is deleted); how many."""
        with self._lock:
            try:
                cursor = self._db.execute(
                    "DELETE FROM followups WHERE capture_id = ?", (capture_id,)
                )
            except sqlite3.Error as exc:
                raise self._error(exc, "delete runs from") from exc
            return int(cursor.rowcount)

    def delete_many(self, capture_ids: Iterable[str]) -> int:
        """Forget every run of these captures in one transaction; how many runs."""
        ids = list(dict.fromkeys(capture_ids))
        deleted = 0
        with self._lock:
            try:
                self._db.execute("BEGIN")
                for start in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[start : start + _IN_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    cursor = self._db.execute(
                        f"DELETE FROM followups WHERE capture_id IN ({marks})", chunk
                    )
                    deleted += int(cursor.rowcount)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise self._error(exc, "delete runs from") from exc
        return deleted

    def clear(self) -> int:
        """Forget every run (when all captures are cleared); how many."""
        with self._lock:
            try:
                cursor = self._db.execute("DELETE FROM followups")
            except sqlite3.Error as exc:
                raise self._error(exc, "delete runs from") from exc
            return int(cursor.rowcount)

    def count(self) -> int:
        with self._lock:
            try:
                return int(self._db.execute("SELECT count(*) FROM followups").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from exc

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> FollowupHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
