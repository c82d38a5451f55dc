"""Long store jobs shared by the window (in a worker, with a progress dialog) and the CLI.

Each job takes a :class:`Progress` first: it reports ``done`` of ``total`` units (total 0 =
unknown) and is polled between units for cancellation, so the same loop serves a cancellable
GUI worker and a plain CLI call (:data:`NO_PROGRESS`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from inspector.core import exchange, paths
from inspector.core.capture import Capture
from inspector.core.errors import ExchangeError
from inspector.core.followup_history import FollowupHistory
from inspector.core.keys import KeyRing
from inspector.core.redact import Redactor
from inspector.core.signatures import verify_headers
from inspector.core.store import CaptureQuery, Store
from inspector.core.store.insert import PreparedRow, prepare_import

__all__ = [
    "IMPORT_BATCH",
    "IMPORT_IN_FLIGHT",
    "NO_PROGRESS",
    "REVERIFY_BATCH",
    "Cancelled",
    "ImportResult",
    "ImportTally",
    "Progress",
    "clear_job",
    "export_job",
    "import_job",
    "import_summary",
    "reverify_job",
]

REVERIFY_BATCH = 500
# Captures per import transaction: big enough that a commit's fsync is spread over many
# rows, small enough that a cancel or an error is noticed within a moment.
IMPORT_BATCH = 2000
IMPORT_IN_FLIGHT = 2


class Cancelled(Exception):
    """Raised by a job that noticed :attr:`Progress.cancelled`; the caller decides what it
    means (the GUI's worker ends with ``cancelled`` rather than ``errored``)."""


class Progress(Protocol):
    def report(self, done: int, total: int) -> None: ...

    @property
    def cancelled(self) -> bool: ...


class _NoProgress:
    """For callers that neither show progress nor cancel (the CLI)."""

    cancelled = False

    def report(self, done: int, total: int) -> None:
        del done, total


NO_PROGRESS: Progress = _NoProgress()


def _check(progress: Progress) -> None:
    if progress.cancelled:
        raise Cancelled()


class ImportResult(NamedTuple):
    added: int
    read: int
    """Captures read from the file; ``read - added`` were already in the store."""
    seconds: float = 0.0

    @property
    def present(self) -> int:
        """Captures of the file that were already in the store (matched by id)."""
        return self.read - self.added


@dataclass
class ImportTally:
    """How far an import got, updated as each batch commits: after a cancelled or failed
    import it says what is in the store (``read`` of the file's captures committed,
    ``added`` of them new, the last ``where`` line or entry)."""

    added: int = 0
    read: int = 0
    where: str = ""
    seconds: float = 0.0

    def result(self) -> ImportResult:
        return ImportResult(self.added, self.read, self.seconds)


def import_summary(result: ImportResult) -> str:
    """The import's final line, as the CLI prints it and the window confirms it."""
    return f"imported {result.added} ({result.present} already present) in {result.seconds:.1f} s"


def _verdict_changes(
    captures: Iterable[Capture], keys: tuple[Any, ...]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for capture in captures:
        checks = verify_headers(capture.headers, capture.body, keys)
        if tuple(checks) != tuple(capture.signatures):
            yield capture.id, tuple(checks)


def reverify_job(progress: Progress, store: Store, keyring: KeyRing) -> int:
    """Re-check every capture's signatures against the current keys; returns how many changed."""
    keys = keyring.keys()
    total = store.count()
    changed = 0
    batch: list[tuple[str, tuple[Any, ...]]] = []
    progress.report(0, total)
    for done, capture in enumerate(store.iter_captures(batch=REVERIFY_BATCH), start=1):
        _check(progress)
        batch.extend(_verdict_changes((capture,), keys))
        if len(batch) >= REVERIFY_BATCH:
            changed += store.update_signatures(batch)
            batch = []
        progress.report(done, total)
    if batch:
        changed += store.update_signatures(batch)
    progress.report(total, total)
    return changed


def export_job(
    progress: Progress,
    store: Store,
    query: CaptureQuery,
    target: Path | IO[bytes],
    fmt: str,
    redactor: Redactor | None = None,
) -> int:
    """Write the captures ``query`` matches to a file (atomically) or an open binary stream;
    with a ``redactor``, each as it redacts it (its counts say what happened)."""
    if isinstance(target, Path) and paths.is_store_file(target, store.path):
        raise ExchangeError(
            f"{target} is the capture store itself: exporting there would destroy the "
            "captures. Choose a file outside the store (e.g. captures.jsonl)."
        )
    total = store.count(query)
    progress.report(0, total)

    def counted() -> Iterator[Capture]:
        for done, capture in enumerate(store.iter_captures(query), start=1):
            _check(progress)
            yield capture if redactor is None else redactor.apply(capture)
            progress.report(done, total)

    if isinstance(target, Path):
        return exchange.export_file(counted(), target, fmt)
    return exchange.export(counted(), target, fmt)


def import_job(
    progress: Progress, store: Store, path: Path, tally: ImportTally | None = None
) -> ImportResult:
    """Add the captures of a JSON-lines or HAR file, in batches (one transaction each).

    Reading and parsing run here while the store's writer thread commits the previous
    batch (at most :data:`IMPORT_IN_FLIGHT` queued). Cancelled: the batches already queued
    commit, the rest is not read, then :class:`Cancelled`. A broken line or entry: every
    capture before it is committed, then ExchangeError "imported N, stopped at line L:
    reason". ``tally`` (if given) says what was committed in either case.
    """
    tally = tally if tally is not None else ImportTally()
    began = time.monotonic()
    reader = exchange.ImportReader(path, prepare_import)
    in_flight: deque[tuple[concurrent.futures.Future[int], int, str]] = deque()

    def settle(limit: int) -> None:
        """Collect committed batches until at most ``limit`` are still queued."""
        failure: BaseException | None = None
        while in_flight and (len(in_flight) > limit or in_flight[0][0].done()):
            future, count, where = in_flight.popleft()
            try:
                tally.added += future.result()
            except BaseException as exc:  # the first failure is raised once all are in
                failure = failure or exc
                limit = 0
                continue
            tally.read += count
            tally.where = where
        tally.seconds = time.monotonic() - began
        if failure is not None:
            raise failure

    def submit(chunk: list[Capture | PreparedRow]) -> None:
        in_flight.append((store.import_batch(chunk), len(chunk), reader.where))
        settle(IMPORT_IN_FLIGHT)

    chunk: list[Capture | PreparedRow] = []
    progress.report(0, 0)
    try:
        for capture in reader:
            chunk.append(capture)
            if len(chunk) >= IMPORT_BATCH:
                submit(chunk)
                chunk = []
                progress.report(reader.done, reader.total)
                if progress.cancelled:
                    break
            elif len(chunk) % 256 == 0 and progress.cancelled:
                break
        else:
            if chunk:
                submit(chunk)
            settle(0)
            progress.report(reader.total, reader.total)
            return tally.result()
    except ExchangeError as exc:
        if exc.where is None:  # the file as a whole is unusable: nothing was read
            settle(0)
            raise
        if chunk:
            submit(chunk)
        settle(0)
        present = tally.read - tally.added
        kept = (
            f"Everything before {exc.where} is in the store"
            + (f" ({present} of those were already there)" if present else "")
            if tally.read
            else "Nothing was imported"
        )
        raise ExchangeError(
            f"{path}: imported {tally.added}, stopped at {exc.where}: {exc.reason}. {kept}; "
            "fix or remove that record and import the file again (captures already stored "
            "are skipped).",
            where=exc.where,
            reason=exc.reason,
        ) from exc
    except BaseException:
        with contextlib.suppress(Exception):
            settle(0)
        raise
    # Cancelled: what was queued commits; the captures read since are dropped.
    settle(0)
    raise Cancelled()


def clear_job(progress: Progress, store: Store, history: FollowupHistory) -> int:
    """Delete every capture, then every follow-up run (they would point at nothing)."""
    progress.report(0, 0)
    cleared = store.clear()
    history.clear()
    return cleared
