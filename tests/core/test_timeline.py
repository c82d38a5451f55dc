"""core/timeline.py over a real store (store/entities.py): one root's captures in time order,
lanes per entity, and the anomalies it points out."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from inspector.core.capture import Capture, ResponseRecord
from inspector.core.rows import CaptureRow, row_from_capture
from inspector.core.store import Store
from inspector.core.timeline import (
    LONG_GAP,
    AnomalyKind,
    build_timeline,
    encode_entry,
    encode_lines,
    render_text,
)
from tests.support.captures import BASE_TIME, make_capture


def _capture(
    seconds: float,
    entity_type: str,
    entity_ref: str,
    status: str,
    *,
    root: str,
    name: str = "UPDATE",
    event_id: str | None = None,
    answer: int = 200,
) -> Capture:
    fields: dict[str, Any] = {
        "received_at": BASE_TIME + timedelta(seconds=seconds),
        "event_name": name,
        "entity_type": entity_type,
        "entity_ref": entity_ref,
        "entity_status": status,
        "response": ResponseRecord(answer),
    }
    if event_id is not None:
        fields["event_id"] = event_id
    # An order's own events name no root here, as lightweight ones may not.
    if entity_type != "ORDER":
        fields.update(root_entity_type="ORDER", root_entity_ref=root)
    else:
        fields.update(root_entity_type="", root_entity_ref="")
    return make_capture(**fields)


def _row(capture: Capture) -> CaptureRow:
    return row_from_capture(capture)


def _stored(data_dir: Path, captures: list[Capture]) -> Store:
    store = Store.open(data_dir)
    store.add_many(captures)
    return store


def test_one_root_in_time_order_without_other_roots(data_dir: Path) -> None:
    # Stored out of time order (seq order differs from arrival order) and interleaved.
    captures = [
        _capture(30, "FULFILMENT", "F-1", "CREATED", root="R-1"),
        _capture(10, "ORDER", "R-1", "CREATED", root="R-1"),
        _capture(15, "ORDER", "R-2", "CREATED", root="R-2"),
        _capture(20, "ORDER", "R-1", "BOOKED", root="R-1"),
        _capture(25, "FULFILMENT", "F-2", "CREATED", root="R-2"),
        _capture(40, "ARTICLE", "A-1", "CREATED", root="R-1"),
    ]
    with _stored(data_dir, captures) as store:
        timeline = build_timeline("R-1", store.entity_rows("R-1"))
        assert store.entity_rows("") == []
    refs = [e.row.entity_ref for e in timeline.entries]
    assert refs == ["R-1", "R-1", "F-1", "A-1"]
    times = [e.row.received_at for e in timeline.entries]
    assert times == sorted(times)
    assert [e.gap for e in timeline.entries] == [
        None,
        timedelta(seconds=10),
        timedelta(seconds=10),
        timedelta(seconds=10),
    ]
    assert [(lane.entity_type, lane.entity_ref, lane.is_root) for lane in timeline.lanes] == [
        ("ORDER", "R-1", True),
        ("FULFILMENT", "F-1", False),
        ("ARTICLE", "A-1", False),
    ]
    assert [e.lane for e in timeline.entries] == [0, 0, 1, 2]
    assert timeline.anomalies == ()


def test_status_going_backwards_is_pointed_out() -> None:
    rows = [
        _row(_capture(0, "ORDER", "R-1", "CREATED", root="R-1")),
        _row(_capture(1, "ORDER", "R-1", "BOOKED", root="R-1")),
        _row(_capture(2, "ORDER", "R-1", "CREATED", root="R-1")),
        # Not in STATUS_ORDER: caught by "returned to a status it had left".
        _row(_capture(3, "FULFILMENT", "F-1", "WEIRD_A", root="R-1")),
        _row(_capture(4, "FULFILMENT", "F-1", "WEIRD_B", root="R-1")),
        _row(_capture(5, "FULFILMENT", "F-1", "WEIRD_A", root="R-1")),
    ]
    timeline = build_timeline("R-1", rows)
    kinds = [(a.kind, a.capture_id) for a in timeline.anomalies]
    assert kinds == [
        (AnomalyKind.STATUS_BACKWARDS, rows[2].id),
        (AnomalyKind.STATUS_BACKWARDS, rows[5].id),
    ]
    assert "BOOKED to CREATED" in timeline.anomalies[0].message


def test_a_retry_with_no_success_and_a_long_gap(data_dir: Path) -> None:
    captures = [
        _capture(0, "ORDER", "R-1", "CREATED", root="R-1", event_id="E1", answer=500),
        _capture(2, "ORDER", "R-1", "CREATED", root="R-1", event_id="E1", answer=503),
        _capture(3, "ORDER", "R-1", "BOOKED", root="R-1", event_id="E2", answer=500),
        _capture(5, "ORDER", "R-1", "BOOKED", root="R-1", event_id="E2", answer=200),
        _capture(5 + LONG_GAP.total_seconds() + 1, "ORDER", "R-1", "COMPLETE", root="R-1"),
    ]
    with _stored(data_dir, captures) as store:
        rows = store.entity_rows("R-1")
    timeline = build_timeline("R-1", rows)
    assert [e.row.attempt for e in timeline.entries] == [1, 2, 1, 2, 1]
    assert [(a.kind, a.capture_id) for a in timeline.anomalies] == [
        (AnomalyKind.NO_SUCCESS, rows[1].id),
        (AnomalyKind.LONG_GAP, rows[4].id),
    ]
    assert "2 deliveries, none answered 2xx (500, 503)" in timeline.anomalies[0].message
    # A retry's own status does not count as a status change.
    assert not any(a.kind is AnomalyKind.STATUS_BACKWARDS for a in timeline.anomalies)


def test_json_line_has_the_pinned_keys() -> None:
    rows = [
        _row(_capture(0, "ORDER", "R-1", "CREATED", root="R-1")),
        _row(_capture(1.5, "FULFILMENT", "F-1", "CREATED", root="R-1")),
    ]
    timeline = build_timeline("R-1", rows)
    first, second = (json.loads(line) for line in encode_lines(timeline))
    pinned = ["id", "received_at", "event", "entity_type", "entity_ref", "entity_status"]
    pinned += ["attempt", "gap_ms", "flex", "fluent"]
    assert list(first)[: len(pinned)] == pinned
    assert first["gap_ms"] is None and second["gap_ms"] == 1500
    assert second["flex"] == "valid" and second["fluent"] == "valid"
    assert second["entity_type"] == "FULFILMENT" and second["lane"] == "FULFILMENT F-1"
    assert encode_entry(timeline, timeline.entries[0])["received_at"].endswith("Z")


def test_text_output_escapes_request_text() -> None:
    rows = [_row(_capture(0, "ORDER", "R-1", "CREA\x1b[2JTED\r\nfake", root="R-1"))]
    text = render_text(build_timeline("R-1", rows))
    assert "\x1b" not in text and "\r" not in text
    assert "Timeline of R-1: 1 capture(s)" in text
