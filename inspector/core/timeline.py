"""The entity timeline: every capture of one root entity in time order, in lanes, with what
looks wrong pointed out.

Pure and Qt-free: :func:`build_timeline` lays out rows the store already read
(``Store.entity_rows(ref)``: root entity ref or entity ref is ``ref``, oldest first). The
GUI draws :attr:`Timeline.lanes` as swim lanes (the root first, then each child entity in
order of first appearance) and :attr:`Timeline.anomalies` as markers on the entries they
name; ``fluent-inspector timeline`` prints :func:`render_text` or, with ``--json``,
:func:`encode_entry` per line.

Anomalies (:class:`AnomalyKind`):

- ``status_backwards``: an entity's status moved to one earlier in :data:`STATUS_ORDER`
  for its type, or returned to a status it had left. Fluent does not guarantee delivery
  order, so this is often a late delivery rather than a workflow bug: either way, re-fetch
  the entity rather than trusting the last webhook.
- ``no_success``: every delivery of an event was answered with a non-2xx status (Fluent
  treats that as a failure; it retries a timeout, and what it does next is undocumented).
- ``long_gap``: more than :data:`LONG_GAP` passed between two events of the tree (a retry
  of the same event is not counted: its schedule goes up to a day). Often a missed webhook.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from inspector.core import codec
from inspector.core.capture import SignatureHeader
from inspector.core.redact import badge
from inspector.core.rows import CaptureRow
from inspector.core.text import escape_control

__all__ = [
    "LONG_GAP",
    "STATUS_ORDER",
    "Anomaly",
    "AnomalyKind",
    "Lane",
    "Timeline",
    "TimelineEntry",
    "build_timeline",
    "duration_text",
    "encode_entry",
    "encode_lines",
    "render_text",
]

LONG_GAP = timedelta(minutes=10)
"""A pause between two events of one tree longer than this is pointed out."""

# The usual forward order of the statuses of Fluent's standard workflows. A workflow may
# name its own; a status not listed is only compared by "returned to one it had left".
STATUS_ORDER: dict[str, tuple[str, ...]] = {
    "ORDER": (
        "CREATED",
        "RECEIVED",
        "BOOKED",
        "PICK_PACK",
        "AWAITING_COLLECTION",
        "SHIPPED",
        "COMPLETE",
    ),
    "FULFILMENT": (
        "CREATED",
        "RECEIVED",
        "ASSIGNED",
        "AWAITING_WAVE",
        "PICKING",
        "PACKED",
        "READY_FOR_COLLECTION",
        "SHIPPED",
        "FULFILLED",
        "COMPLETE",
    ),
    "ARTICLE": ("CREATED", "AWAITING_CONSIGNMENT", "CONSIGNED", "SHIPPED", "DELIVERED"),
    "CONSIGNMENT": ("CREATED", "ACTIVE", "BOOKED", "IN_TRANSIT", "DELIVERED"),
}


class AnomalyKind(enum.Enum):
    STATUS_BACKWARDS = "status_backwards"
    NO_SUCCESS = "no_success"
    LONG_GAP = "long_gap"


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: AnomalyKind
    capture_id: str
    """The entry it is marked on: the backwards status, the last failed delivery, or the
    capture that came after the gap."""
    message: str


@dataclass(frozen=True, slots=True)
class Lane:
    """One entity of the tree: a swim lane."""

    entity_type: str
    entity_ref: str
    is_root: bool


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    row: CaptureRow
    """The capture's table row: id, time, event, entity, status, verdicts, answer, attempt."""
    gap: timedelta | None
    """Since the previous entry (None for the first)."""
    lane: int
    """Index into :attr:`Timeline.lanes`."""


@dataclass(frozen=True, slots=True)
class Timeline:
    ref: str
    entries: tuple[TimelineEntry, ...]
    lanes: tuple[Lane, ...]
    anomalies: tuple[Anomaly, ...]

    def anomalies_of(self, capture_id: str) -> tuple[Anomaly, ...]:
        return tuple(a for a in self.anomalies if a.capture_id == capture_id)


def _lane_key(row: CaptureRow) -> tuple[str, str]:
    return (row.entity_type, row.entity_ref)


def _lanes(ref: str, rows: Sequence[CaptureRow]) -> tuple[list[Lane], dict[tuple[str, str], int]]:
    keys = list(dict.fromkeys(_lane_key(r) for r in rows))
    # The root's own lane first: the entity whose ref was asked for, else the first seen.
    keys.sort(key=lambda k: k[1] != ref)
    lanes = [Lane(t, r, is_root=r == ref) for t, r in keys]
    return lanes, {key: i for i, key in enumerate(keys)}


def _ok(row: CaptureRow) -> bool:
    return 200 <= row.response_status < 300


def _status_anomalies(rows: Sequence[CaptureRow]) -> list[Anomaly]:
    found: list[Anomaly] = []
    history: dict[tuple[str, str], list[str]] = {}
    counted: set[str] = set()
    for row in rows:
        if not row.entity_status:
            continue
        # A retry repeats its event's status: only the first delivery of an event counts.
        if row.event_id:
            if row.event_id in counted:
                continue
            counted.add(row.event_id)
        seen = history.setdefault(_lane_key(row), [])
        previous = seen[-1] if seen else None
        seen.append(row.entity_status)
        if previous is None or previous == row.entity_status:
            continue
        order = STATUS_ORDER.get(row.entity_type, ())
        entity = f"{row.entity_type} {row.entity_ref}".strip()
        if row.entity_status in order and previous in order:
            if order.index(row.entity_status) < order.index(previous):
                found.append(
                    Anomaly(
                        AnomalyKind.STATUS_BACKWARDS,
                        row.id,
                        f"{entity} went back from {previous} to {row.entity_status} "
                        f"(out-of-order delivery, or the workflow moved it back)",
                    )
                )
        elif row.entity_status in seen[:-1]:
            found.append(
                Anomaly(
                    AnomalyKind.STATUS_BACKWARDS,
                    row.id,
                    f"{entity} returned to {row.entity_status} after {previous}",
                )
            )
    return found


def _delivery_anomalies(rows: Sequence[CaptureRow]) -> list[Anomaly]:
    by_event: dict[str, list[CaptureRow]] = {}
    for row in rows:
        if row.event_id:
            by_event.setdefault(row.event_id, []).append(row)
    found: list[Anomaly] = []
    for event_id, deliveries in by_event.items():
        if any(_ok(d) for d in deliveries):
            continue
        last = deliveries[-1]
        answers = ", ".join(str(d.response_status) for d in deliveries)
        count = len(deliveries)
        found.append(
            Anomaly(
                AnomalyKind.NO_SUCCESS,
                last.id,
                f"{last.event_name or 'event'} {event_id}: {count} deliver"
                f"{'ies' if count != 1 else 'y'}, none answered 2xx ({answers})",
            )
        )
    return found


def build_timeline(
    ref: str, rows: Sequence[CaptureRow], *, long_gap: timedelta = LONG_GAP
) -> Timeline:
    """Lay out ``rows`` (any order; sorted here by arrival) as the timeline of ``ref``."""
    ordered = sorted(rows, key=lambda r: (r.received_at, r.seq))
    lanes, lane_of = _lanes(ref, ordered)
    entries: list[TimelineEntry] = []
    anomalies: list[Anomaly] = []
    seen_events: set[str] = set()
    previous: CaptureRow | None = None
    for row in ordered:
        gap = row.received_at - previous.received_at if previous is not None else None
        retry = bool(row.event_id) and row.event_id in seen_events
        if gap is not None and gap > long_gap and not retry:
            anomalies.append(
                Anomaly(
                    AnomalyKind.LONG_GAP,
                    row.id,
                    f"{duration_text(gap)} without a webhook before {row.event_name or 'this'} "
                    f"(more than {duration_text(long_gap)}; was one missed?)",
                )
            )
        if row.event_id:
            seen_events.add(row.event_id)
        entries.append(TimelineEntry(row, gap, lane_of[_lane_key(row)]))
        previous = row
    anomalies.extend(_status_anomalies(ordered))
    anomalies.extend(_delivery_anomalies(ordered))
    position = {row.id: i for i, row in enumerate(ordered)}
    anomalies.sort(key=lambda a: position[a.capture_id])
    return Timeline(ref, tuple(entries), tuple(lanes), tuple(anomalies))


def duration_text(span: timedelta) -> str:
    """A gap as people read it: "250 ms", "2.0 s", "15 min", "1.5 h"."""
    seconds = span.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _gap_ms(gap: timedelta | None) -> int | None:
    return None if gap is None else round(gap / timedelta(milliseconds=1))


def encode_entry(timeline: Timeline, entry: TimelineEntry) -> dict[str, Any]:
    """One ``timeline --json`` line: the pinned keys first, then ``status`` (the answer),
    ``event_id``, ``lane`` and this entry's ``anomalies``."""
    row = entry.row
    lane = timeline.lanes[entry.lane]
    return {
        "id": row.id,
        "received_at": codec.iso(row.received_at),
        "event": row.event_name,
        "entity_type": row.entity_type,
        "entity_ref": row.entity_ref,
        "entity_status": row.entity_status,
        "attempt": row.attempt,
        "gap_ms": _gap_ms(entry.gap),
        "flex": row.flex.value,
        "fluent": row.fluent.value,
        "status": row.response_status,
        "event_id": row.event_id,
        "lane": f"{lane.entity_type} {lane.entity_ref}".strip(),
        "anomalies": [
            {"kind": a.kind.value, "message": a.message} for a in timeline.anomalies_of(row.id)
        ],
    }


def encode_lines(timeline: Timeline) -> list[str]:
    """The ``--json`` output: one JSON object per entry, oldest first."""
    return [json.dumps(encode_entry(timeline, e), ensure_ascii=False) for e in timeline.entries]


def _badge(row: CaptureRow, header: SignatureHeader) -> str:
    """A verdict as the text shows it ("✓ valid"; "⊘ redacted" for a redacted export)."""
    verdict = row.flex if header is SignatureHeader.FLEX else row.fluent
    shown = badge(verdict, header, row.redacted)
    return f"{shown.symbol} {shown.label}"


def render_text(timeline: Timeline, short_ids: Sequence[str] | None = None) -> str:
    """The timeline for a terminal: lanes, then one line per capture with its anomalies
    under it; ``short_ids`` (one per entry) replaces the full ids. Request text is escaped."""
    if not timeline.entries:
        return escape_control(f"No captures with root entity ref or entity ref {timeline.ref}.")
    lines = [f"Timeline of {timeline.ref}: {len(timeline.entries)} capture(s)"]
    lines.append(
        "Lanes: "
        + ", ".join(
            f"[{i}] {lane.entity_type} {lane.entity_ref}".rstrip()
            for i, lane in enumerate(timeline.lanes)
        )
    )
    lines.append("")
    for index, entry in enumerate(timeline.entries):
        row = entry.row
        gap = "" if entry.gap is None else f"+{duration_text(entry.gap)}"
        attempt = f"attempt {row.attempt}" if row.attempt > 1 else ""
        shown_id = short_ids[index] if short_ids is not None else row.id
        parts = [
            codec.iso(row.received_at),
            f"{gap:>9}",
            f"[{entry.lane}]",
            " ".join(p for p in (row.event_name, row.entity_type, row.entity_ref) if p) or "-",
            f"[{row.entity_status}]" if row.entity_status else "",
            attempt,
            # Spelled as `listen` spells them: a bare "–" next to "✓" read as a typo.
            f"flex {_badge(row, SignatureHeader.FLEX)}",
            f"fluent {_badge(row, SignatureHeader.FLUENT)}",
            f"-> {row.response_status}",
            f"id {shown_id}",
        ]
        lines.append("  ".join(p for p in parts if p))
        lines.extend(f"    ! {a.message}" for a in timeline.anomalies_of(row.id))
    if timeline.anomalies:
        count = len(timeline.anomalies)
        lines.append("")
        lines.append(f"{count} thing{'s' * (count != 1)} to look at (marked !)")
    return "\n".join(escape_control(line) for line in lines)
