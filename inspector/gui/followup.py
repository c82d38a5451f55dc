"""Qt glue for GraphQL follow-ups: API calls on the ApiRunner loop, results as queued signals.

* :class:`FollowupRunner` submits :class:`~inspector.core.fluent.client.FluentClient` calls to
  the background :class:`~inspector.core.fluent.runner.ApiRunner` and delivers each outcome to
  the GUI thread through a queued signal; ``cancel(ticket)`` cancels the Future (and so the
  HTTP request). Schemas are introspected with the same client (same auth) and built with
  :func:`~inspector.core.fluent.schema.schema_from_introspection` off the GUI thread.
* :class:`AutoFollowUp` runs the template of each new capture of chosen entity types with
  bounded concurrency and rate, saves the run and reports the entity's current status. When
  a profile cannot be reached it pauses for that profile (once, with the reason) instead of
  failing every new webhook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from inspector.core.capture import Capture
from inspector.core.errors import InspectorError
from inspector.core.fluent.errors import ApiTimeoutError, NetworkError
from inspector.core.fluent.profiles import Profile
from inspector.core.fluent.queries import (
    QueryTemplateError,
    normalize_entity_type,
    template_for,
    variables_for,
)
from inspector.core.fluent.result import GraphQLResult
from inspector.core.fluent.runner import ApiRunner, ClientPool
from inspector.core.fluent.schema import (
    BUNDLED_SCHEMA_LABEL,
    bundled_schema,
    schema_from_introspection,
)
from inspector.core.followup_history import FollowupHistory, FollowupRun, RunStatus, result_fields
from inspector.core.listener import CaptureNotice
from inspector.core.secrets import SecretStore

__all__ = [
    "AutoFollowUp",
    "FollowupRunner",
    "entity_state",
    "entity_status",
    "unreachable",
]

log = logging.getLogger(__name__)

_OK, _ERROR, _CANCELLED = "ok", "error", "cancelled"


class FollowupRunner(QObject):
    """Runs API calls for the GUI on the background loop; one client per profile, reused.

    Every call returns a ticket; exactly one of ``finished``/``failed``/``cancelled`` (or
    ``schema_ready``/``schema_failed`` for schema tickets) follows, in the GUI thread.
    """

    finished = Signal(int, object)
    """(ticket, GraphQLResult)"""
    failed = Signal(int, object)
    """(ticket, exception): a FluentApiError (message for the user) or a bug."""
    cancelled = Signal(int)
    schema_ready = Signal(int, str, object)
    """(ticket, profile name, GraphQLSchema)"""
    schema_failed = Signal(int, str, object)
    """(ticket, profile name, exception); IntrospectionError when the API refused it."""

    # Emitted from the loop thread (or wherever a Future completes), delivered queued.
    _done_q = Signal(int, str, object)

    def __init__(
        self,
        runner: ApiRunner,
        secrets: SecretStore,
        data_dir: Path | None = None,
        parent: QObject | None = None,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        if data_dir is not None:
            client_kwargs["data_dir"] = data_dir
        self.pool = ClientPool(secrets, runner, **client_kwargs)
        self._tickets = itertools.count(1)
        self._futures: dict[int, concurrent.futures.Future[Any]] = {}
        self._schema_tickets: dict[int, str] = {}
        self._done_q.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def _submit(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> int:
        ticket = next(self._tickets)
        try:
            future = self.runner.submit(make())
        except Exception as exc:
            self._done_q.emit(ticket, _ERROR, exc)
            return ticket
        self._futures[ticket] = future
        future.add_done_callback(partial(self._future_done, ticket))
        return ticket

    def _future_done(self, ticket: int, future: concurrent.futures.Future[Any]) -> None:
        # Runs in the loop thread, or in the caller's thread for cancel(): only emit here.
        if future.cancelled():
            outcome, value = _CANCELLED, None
        elif (error := future.exception()) is not None:
            outcome, value = _ERROR, error
        else:
            outcome, value = _OK, future.result()
        try:
            self._done_q.emit(ticket, outcome, value)
        except RuntimeError:
            # The panel (and this object) was destroyed while the call ran: nobody listens.
            log.debug("follow-up %s finished after its runner was deleted", ticket)

    @Slot(int, str, object)
    def _deliver(self, ticket: int, outcome: str, value: object) -> None:
        self._futures.pop(ticket, None)
        profile = self._schema_tickets.pop(ticket, None)
        if profile is not None:
            if outcome == _OK:
                self.schema_ready.emit(ticket, profile, value)
            elif outcome == _ERROR:
                self.schema_failed.emit(ticket, profile, value)
            else:
                self.cancelled.emit(ticket)
            return
        if outcome == _OK:
            self.finished.emit(ticket, value)
        elif outcome == _ERROR:
            self.failed.emit(ticket, value)
        else:
            self.cancelled.emit(ticket)

    def execute(
        self,
        profile: Profile,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> int:
        """Run a GraphQL operation in the background; returns the ticket."""
        try:
            client = self.pool.get(profile)
        except InspectorError as exc:
            return self._fail_soon(exc)
        return self._submit(lambda: client.execute(query, variables, operation_name))

    def fetch_schema(self, profile: Profile, *, refresh: bool = False) -> int:
        """Introspect (disk-cached per profile by core) and build the schema off this thread."""
        try:
            client = self.pool.get(profile)
        except InspectorError as exc:
            ticket = next(self._tickets)
            self._schema_tickets[ticket] = profile.name
            self._done_q.emit(ticket, _ERROR, exc)
            return ticket

        async def job() -> Any:
            data = await client.introspect(refresh=refresh)
            # Building Fluent's schema takes a while; keep it off the loop and the GUI.
            return await asyncio.to_thread(schema_from_introspection, data)

        ticket = self._submit(job)
        self._schema_tickets[ticket] = profile.name
        return ticket

    def load_bundled_schema(self) -> int:
        """Build Fluent's bundled schema (~0.3 s the first time) off the GUI thread.

        Answers like :meth:`fetch_schema`, with :data:`BUNDLED_SCHEMA_LABEL` as the name (no
        profile can be called that: profile names have no parentheses).
        """
        ticket = self._submit(lambda: asyncio.to_thread(bundled_schema))
        self._schema_tickets[ticket] = BUNDLED_SCHEMA_LABEL
        return ticket

    def _fail_soon(self, error: BaseException) -> int:
        ticket = next(self._tickets)
        self._done_q.emit(ticket, _ERROR, error)
        return ticket

    def cancel(self, ticket: int) -> bool:
        """Cancel a running call (its HTTP request is aborted); False if already done."""
        future = self._futures.get(ticket)
        return bool(future is not None and future.cancel())

    def busy(self, ticket: int) -> bool:
        return ticket in self._futures

    def discard(self, profile_name: str) -> None:
        """Drop a profile's client, e.g. after its secrets or settings changed."""
        self.pool.discard(profile_name)

    def close(self) -> None:
        for future in list(self._futures.values()):
            future.cancel()
        self.pool.close()


def entity_status(template_root_field: str, data: Any) -> str | None:
    """The ``status`` of the entity a follow-up template fetched, if the answer has it."""
    if not isinstance(data, Mapping):
        return None
    entity = data.get(template_root_field)
    if isinstance(entity, Mapping):
        status = entity.get("status")
        if isinstance(status, str) and status:
            return status
    return None


def entity_state(template_root_field: str, data: Any, errors: Sequence[Any]) -> str | None:
    """What a template follow-up says the entity's state is now, for the Entity now column.

    Its ``status``, or "not found" when the API answered cleanly that there is no such
    entity; None when the answer does not tell (errors, no data): the column then keeps
    what it knew, rather than showing "error" as if that were a state.
    """
    found = entity_status(template_root_field, data)
    if found is not None:
        return found
    if not errors and isinstance(data, Mapping) and data.get(template_root_field, 0) is None:
        return "not found"
    return None


def unreachable(error: object) -> bool:
    """The profile's server cannot be reached at all (refused, DNS, TLS, connect timeout),
    as opposed to answering badly: the next request would fail the same way."""
    if isinstance(error, ApiTimeoutError):
        import httpx  # only after an API call, which imported it already

        return isinstance(error.__cause__, httpx.ConnectTimeout)
    return isinstance(error, NetworkError)


# The cheapest question any GraphQL server answers: is auto follow-up's profile there?
_CHECK_QUERY = "query AutoFollowUpCheck { __typename }"


@dataclass(slots=True)
class _Job:
    capture_id: str
    profile: Profile
    query: str
    variables: dict[str, Any]
    root_field: str
    started: float = 0.0


class AutoFollowUp(QObject):
    """Runs the follow-up template for each new capture of the chosen entity types.

    At most ``max_concurrent`` calls at a time, and at most one start per ``min_interval_ms``
    (5 per second by default), so a burst of webhooks cannot hammer the customer's API.

    When a profile cannot be reached (a check when auto follow-up is switched on for it, or
    a follow-up that fails so), auto follow-up *pauses* for that profile: queued work for it
    is dropped, new captures are not queued, and ``paused_changed`` says why, once. It
    resumes with :meth:`resume` (the user, a successful run, new settings for the profile).
    """

    entity_status_fetched = Signal(str, str)
    """(capture_id, status) of the entity the capture is about, as the API has it now; only
    when the answer tells (see :func:`entity_state`)."""
    paused_changed = Signal(str, str)
    """(profile name, reason) when auto follow-up paused for it; reason "" when resumed."""
    run_saved = Signal(str, object)
    """(capture_id, FollowupRun) after each auto run is saved (also failed ones)."""
    error = Signal(str)
    """A message for the user when saving a run failed."""

    MAX_PENDING = 500

    def __init__(
        self,
        runner: FollowupRunner,
        history: FollowupHistory,
        *,
        max_concurrent: int = 2,
        min_interval_ms: int = 200,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.history = history
        self.max_concurrent = max(1, max_concurrent)
        self.min_interval = max(0, min_interval_ms) / 1000.0
        self.entity_types: set[str] = set()
        self._pending: deque[_Job] = deque()
        self._running: dict[int, _Job] = {}
        self._checks: dict[int, str] = {}
        """Reachability checks in flight: ticket -> profile name."""
        self.paused: dict[str, str] = {}
        """Profiles auto follow-up is paused for, with the reason."""
        self._last_start = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._pump)
        runner.finished.connect(self._finished)
        runner.failed.connect(self._failed)
        runner.cancelled.connect(self._cancelled)
        self.dropped = 0
        """Captures skipped because the queue was full."""

    def set_entity_types(self, types: Iterable[str]) -> None:
        self.entity_types = {normalize_entity_type(t) for t in types if t.strip()}

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def wants(self, capture: Capture | CaptureNotice) -> bool:
        event = capture.event
        return (
            event is not None
            and bool(self.entity_types)
            and normalize_entity_type(event.entity_type) in self.entity_types
        )

    def enqueue(self, capture: Capture | CaptureNotice, profile: Profile | None) -> bool:
        """Queue the capture's follow-up if its type is chosen; True when queued (not while
        paused for ``profile``)."""
        if profile is None or profile.name in self.paused or not self.wants(capture):
            return False
        assert capture.event is not None
        try:
            template = template_for(capture.event.entity_type)
            variables = variables_for(capture.event)
        except QueryTemplateError as exc:
            log.info("no auto follow-up for capture %s: %s", capture.id, exc)
            return False
        if len(self._pending) >= self.MAX_PENDING:
            self.dropped += 1
            return False
        self._pending.append(
            _Job(capture.id, profile, template.query_text, variables, template.root_field)
        )
        self._pump()
        return True

    def clear(self) -> None:
        """Forget queued work and cancel running calls."""
        self._pending.clear()
        for ticket in [*self._running, *self._checks]:
            self.runner.cancel(ticket)

    # -- pausing for a profile that does not answer ------------------------------------------

    def check(self, profile: Profile | None) -> bool:
        """Ask ``profile`` a trivial question in the background, when auto follow-up is on:
        pauses for it if it cannot be reached (e.g. the demo sandbox of a previous session).
        True when a check was started."""
        if profile is None or not self.entity_types or profile.name in self.paused:
            return False
        if profile.name in self._checks.values():
            return False
        self._checks[self.runner.execute(profile, _CHECK_QUERY)] = profile.name
        return True

    def pause(self, profile_name: str, reason: str) -> None:
        """Stop following up for ``profile_name`` (announced once, until resumed)."""
        if profile_name in self.paused:
            return
        self.paused[profile_name] = reason
        self._pending = deque(j for j in self._pending if j.profile.name != profile_name)
        self.paused_changed.emit(profile_name, reason)

    def resume(self, profile_name: str) -> None:
        if self.paused.pop(profile_name, None) is not None:
            self.paused_changed.emit(profile_name, "")

    def _unreachable(self, profile_name: str, error: object) -> None:
        self.pause(
            profile_name,
            f"Auto follow-up is paused for {profile_name}: it cannot be reached ({error}). "
            "Entity now keeps what it showed; resume from the Auto follow-up menu once the "
            "profile answers (or start the demo again).",
        )

    def _pump(self) -> None:
        while self._pending and len(self._running) < self.max_concurrent:
            wait = self._last_start + self.min_interval - time.monotonic()
            if wait > 0:
                if not self._timer.isActive():
                    self._timer.start(max(1, int(wait * 1000) + 1))
                return
            job = self._pending.popleft()
            job.started = self._last_start = time.monotonic()
            ticket = self.runner.execute(job.profile, job.query, job.variables)
            self._running[ticket] = job

    def _save(self, job: _Job, **fields: Any) -> FollowupRun | None:
        try:
            return self.history.add(
                job.capture_id, job.profile.name, job.query, job.variables, **fields
            )
        except InspectorError as exc:
            self.error.emit(str(exc))
            return None

    @Slot(int, object)
    def _finished(self, ticket: int, result: object) -> None:
        if self._checks.pop(ticket, None) is not None:
            return  # it answered: nothing to say
        job = self._running.pop(ticket, None)
        if job is None:
            return
        assert isinstance(result, GraphQLResult)
        run = self._save(job, **result_fields(result))
        status = entity_state(job.root_field, result.data, result.errors)
        if status is not None:
            self.entity_status_fetched.emit(job.capture_id, status)
        if run is not None:
            self.run_saved.emit(job.capture_id, run)
        self._pump()

    @Slot(int, object)
    def _failed(self, ticket: int, error: object) -> None:
        checked = self._checks.pop(ticket, None)
        if checked is not None:
            if unreachable(error):
                self._unreachable(checked, error)
            return
        job = self._running.pop(ticket, None)
        if job is None:
            return
        message = str(error) if isinstance(error, InspectorError) else f"bug: {error!r}"
        http_status = getattr(error, "status", None)
        run = self._save(
            job,
            status=RunStatus.FAILED,
            elapsed=time.monotonic() - job.started,
            http_status=http_status if isinstance(http_status, int) else None,
            message=message,
        )
        # The entity's state is not known from a failure: Entity now stays as it was.
        if unreachable(error):
            self._unreachable(job.profile.name, error)
        if run is not None:
            self.run_saved.emit(job.capture_id, run)
        self._pump()

    @Slot(int)
    def _cancelled(self, ticket: int) -> None:
        self._checks.pop(ticket, None)
        if self._running.pop(ticket, None) is not None:
            self._pump()
