"""Long store jobs shared by the window (in a worker, with a progress dialog) and the CLI.

Each job takes a :class:`Progress` first: it reports ``done`` of ``total`` units (total 0 =
unknown) and is polled between units for cancellation, so the same loop serves a cancellable
GUI worker and a plain CLI call (:data:`NO_PROGRESS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from inspector.core import exchange, paths
from inspector.core.capture import Capture
from inspector.core.errors import ExchangeError
from inspector.core.followup_history import FollowupHistory
from inspector.core.keys import KeyRing
from inspector.core.signatures import verify_headers
from inspector.core.store import CaptureQuery, Store
from inspector.core.store.store import Salvaged

__all__ = [
    "IMPORT_BATCH",
    "NO_PROGRESS",
    "REVERIFY_BATCH",
    "Cancelled",
    "ImportResult",
    "Progress",
    "SalvageResult",
    "clear_job",
    "export_job",
    "import_job",
    "refuse_store_files",
    "reverify_job",
    "salvage_job",
]

REVERIFY_BATCH = 500
IMPORT_BATCH = 500


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


class SalvageResult(NamedTuple):
    exported: int
    skipped: int
    """Rows that could not be read (damaged pages or content)."""


def refuse_store_files(target: Path | IO[bytes], *store_paths: Path) -> None:
    """An :class:`ExchangeError` when ``target`` is one of these stores' files."""
    for store_path in store_paths:
        if isinstance(target, Path) and paths.is_store_file(target, store_path):
            raise ExchangeError(
                f"{target} is the capture store itself: exporting there would destroy the "
                "captures. Choose a file outside the store (e.g. captures.jsonl)."
            )


def _refuse_store_file(target: Path | IO[bytes], store: Store) -> None:
    refuse_store_files(target, store.path)


def export_job(
    progress: Progress, store: Store, query: CaptureQuery, target: Path | IO[bytes], fmt: str
) -> int:
    """Write the captures ``query`` matches to a file (atomically) or an open binary stream."""
    _refuse_store_file(target, store)
    total = store.count(query)
    progress.report(0, total)

    def counted() -> Iterator[Capture]:
        for done, capture in enumerate(store.iter_captures(query), start=1):
            _check(progress)
            yield capture
            progress.report(done, total)

    if isinstance(target, Path):
        return exchange.export_file(counted(), target, fmt)
    return exchange.export(counted(), target, fmt)


def salvage_job(
    progress: Progress, store: Store, target: Path | IO[bytes], fmt: str
) -> SalvageResult:
    """Every capture still readable from a damaged store, row by row (``export --salvage``)."""
    _refuse_store_file(target, store)
    tally = Salvaged()
    progress.report(0, 0)

    def counted() -> Iterator[Capture]:
        for done, capture in enumerate(store.iter_salvaged(tally), start=1):
            _check(progress)
            yield capture
            progress.report(done, 0)

    if isinstance(target, Path):
        exchange.export_file(counted(), target, fmt)
    else:
        exchange.export(counted(), target, fmt)
    return SalvageResult(tally.exported, tally.skipped)


def import_job(progress: Progress, store: Store, path: Path) -> ImportResult:
    """Add the captures of a JSON-lines or HAR file, in batches (one transaction each)."""
    read = added = 0
    chunk: list[Capture] = []
    progress.report(0, 0)
    for capture in exchange.import_file(path):
        _check(progress)
        chunk.append(capture)
        read += 1
        if len(chunk) >= IMPORT_BATCH:
            added += store.add_many(chunk)
            chunk = []
            progress.report(read, 0)
    if chunk:
        added += store.add_many(chunk)
    return ImportResult(added, read)


def clear_job(progress: Progress, store: Store, history: FollowupHistory) -> int:
    """Delete every capture, then every follow-up run (they would point at nothing)."""
    progress.report(0, 0)
    cleared = store.clear()
    history.clear()
    return cleared
