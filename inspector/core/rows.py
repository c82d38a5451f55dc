"""The table's row: what a list of captures draws, and the one place it is built from a
:class:`Capture` (the store builds its rows in SQL; see ``store/query.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inspector.core.capture import Capture, Redaction, SignatureHeader, Verdict
from inspector.core.payload import stored_fields

__all__ = ["CaptureRow", "row_from_capture"]


@dataclass(frozen=True, slots=True)
class CaptureRow:
    """Everything the live table draws: no body, no JSON parsing, no crypto."""

    seq: int
    id: str
    received_at: datetime
    method: str
    path: str
    query: str
    event_id: str
    event_name: str
    entity_type: str
    entity_id: str
    entity_ref: str
    entity_status: str
    root_entity_type: str
    root_entity_ref: str
    response_status: int
    size: int
    content_type: str
    flex: Verdict
    flex_key: str | None
    fluent: Verdict
    fluent_key: str | None
    attempt: int
    """Ordinal among captures with the same event id (1 when there is no event id)."""
    attempts: int
    """Captures stored so far with the same event id (1 when there is no event id)."""
    rejected: str | None
    remote: str
    rule: str | None = None
    """The response rule that answered (None: the default answer)."""
    forward_error: str | None = None
    """Why forwarding failed (the sender got the fallback); None when not forwarded or OK."""
    payload_problems: str = ""
    """Fields that break Fluent's Event model, joined by ", " (``payload.stored_fields``)."""
    redacted: Redaction | None = None
    """The capture's redaction mark (an imported redacted export): its badges say so."""


def row_from_capture(capture: Capture, attempts: int | None = None) -> CaptureRow:
    """The row of a capture without a store round trip.

    ``attempts`` defaults to the capture's own attempt: when it was stored it was the latest
    delivery of its event, so that many deliveries existed then.
    """
    event = capture.event
    flex = capture.signature(SignatureHeader.FLEX)
    fluent = capture.signature(SignatureHeader.FLUENT)
    return CaptureRow(
        seq=capture.seq,
        id=capture.id,
        received_at=capture.received_at,
        method=capture.method,
        path=capture.path,
        query=capture.query,
        event_id=event.id if event else "",
        event_name=event.name if event else "",
        entity_type=event.entity_type if event else "",
        entity_id=event.entity_id if event else "",
        entity_ref=event.entity_ref if event else "",
        entity_status=event.entity_status if event else "",
        root_entity_type=event.root_entity_type if event else "",
        root_entity_ref=event.root_entity_ref if event else "",
        response_status=capture.response.status,
        size=capture.size,
        content_type=capture.content_type,
        flex=flex.verdict,
        flex_key=flex.key_name,
        fluent=fluent.verdict,
        fluent_key=fluent.key_name,
        attempt=capture.attempt,
        attempts=attempts if attempts is not None else capture.attempt,
        rejected=capture.rejected,
        remote=capture.remote,
        rule=capture.rule,
        forward_error=capture.forward.error if capture.forward is not None else None,
        payload_problems=stored_fields(capture.body),
        redacted=capture.redacted,
    )
