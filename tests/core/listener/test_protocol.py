"""The ``listen --machine`` protocol: every message survives encode -> decode, lines keep
the version-1 shape programs already parse, and lines of an unknown version are skipped."""

from __future__ import annotations

import json

import pytest

from inspector.core.listener import ListenerState, ListenerStatus, protocol
from tests.support.captures import make_capture


@pytest.mark.parametrize(
    "message",
    [
        protocol.StatusChanged(ListenerStatus(ListenerState.STARTING)),
        protocol.StatusChanged(ListenerStatus(ListenerState.FAILED, error="port busy")),
        protocol.Listening("http://127.0.0.1:8765/", 8765),
        protocol.KeysReloaded(None),
        protocol.KeysReloaded("unreadable"),
        protocol.StoreErrorChanged("disk full"),
        protocol.StoreErrorChanged(None),
        protocol.RulesReloaded(None),
        protocol.RulesReloaded("rules.json, line 3: bad status"),
        protocol.Refused(0),
        protocol.Refused(12345),
    ],
)
def test_messages_round_trip(message: protocol.Message) -> None:
    line = protocol.encode(message)
    assert "\n" not in line
    assert protocol.decode(line) == message
    assert protocol.decode(line.encode() + b"\n") == message


def test_a_capture_line_carries_the_record_without_bodies() -> None:
    stored = make_capture(event_id="E-7").with_(seq=12, attempt=2)
    line = protocol.encode(protocol.captured(stored))
    data = json.loads(line)
    assert list(data) == ["event", "id", "seq", "capture"]
    assert (data["event"], data["id"], data["seq"]) == ("capture", stored.id, 12)
    assert "body_b64" not in data["capture"] and "body_b64" not in data["capture"]["response"]
    decoded = protocol.decode(line)
    assert isinstance(decoded, protocol.Captured)
    assert decoded.capture is not None
    light = decoded.capture
    assert (light.id, light.seq, light.attempt, light.size) == (stored.id, 12, 2, stored.size)
    assert light.body == b"" and light.signatures == stored.signatures
    assert light.event == stored.event


def test_status_lines_keep_their_version_1_shape() -> None:
    line = protocol.encode(protocol.StatusChanged(ListenerStatus(ListenerState.STOPPED)))
    assert json.loads(line) == {"event": "status", "state": "stopped", "url": None, "error": None}


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        b"[1, 2]",
        b'{"event": "nonsense"}',
        b'{"event": "status", "state": "dancing"}',
        b'{"event": "capture"}',
        b'{"v": 2, "event": "keys_reloaded", "error": null}',
        b'{"event": "refused", "count": -1}',
        b'{"event": "refused", "count": "3"}',
    ],
)
def test_anything_else_decodes_to_none(line: bytes) -> None:
    assert protocol.decode(line) is None


def test_a_capture_line_carries_its_rule_and_forward_answer() -> None:
    from inspector.core.capture import ForwardRecord

    capture = make_capture().with_(
        rule="fail twice", forward=ForwardRecord("http://h/x", None, error="no answer within 1 s")
    )
    message = protocol.decode(protocol.encode(protocol.captured(capture)))
    assert isinstance(message, protocol.Captured) and message.capture is not None
    assert message.capture.rule == "fail twice"
    assert message.capture.forward is not None
    assert message.capture.forward.error == "no answer within 1 s"
