"""`diff` and `timeline`, run as a user runs them: import a JSON-lines file into a data dir,
then name captures by id prefix (real subprocess, real files)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inspector.core.capture import ResponseRecord, Verdict
from inspector.core.codec import encode_capture
from tests.core.test_diff import BEFORE
from tests.support.captures import BASE_TIME, make_capture
from tests.test_cli import assert_clean_error, cli


def _event(**fields: Any) -> bytes:
    # The diff test's fulfilment event, with the root fully named (the timeline reads it).
    event = {**BEFORE, "rootEntityId": "9", "rootEntityType": "ORDER", **fields}
    return json.dumps(event).encode()


@pytest.fixture
def imported(tmp_path: Path, data_dir: Path) -> Path:
    """Five captures: two of fulfilment F-77 (root R-9), the order R-9 itself, an order R-10
    that must stay out of R-9's timeline, and a non-JSON body."""
    shipped = json.loads(
        _event(
            id="ev-2",
            entityStatus="SHIPPED",
            attributes={**BEFORE["attributes"], "TrackingNumber": "TN-1"},
            items=[*BEFORE["items"][:2], {"ref": "A-9", "qty": 1}],
        )
    )
    # What changed when it shipped, sent with its keys reversed and indented.
    reordered = json.dumps(dict(reversed(list(shipped.items()))), indent=4).encode()
    order = _event(
        id="ev-0",
        name="OrderCreated",
        entityType="ORDER",
        entityRef="R-9",
        entityId="9",
        entityStatus="CREATED",
    )
    other_root = _event(
        id="ev-x", entityType="ORDER", entityRef="R-10", entityId="10", rootEntityRef="R-10"
    )
    specs: list[tuple[str, int, bytes, dict[str, Any]]] = [
        ("aaaa1", 0, _event(), {}),
        ("bbbb2", 60, reordered, {"fluent": Verdict.INVALID}),
        ("cccc3", -30, order, {}),
        ("dddd4", 10, other_root, {}),
        ("eeee5", 90, b"plain text\nline two\n", {"response": ResponseRecord(500)}),
    ]
    lines = []
    for prefix, seconds, body, more in specs:
        capture = make_capture(
            id=prefix + "0" * 27,
            received_at=BASE_TIME + timedelta(seconds=seconds),
            body=body,
            **more,
        )
        lines.append(json.dumps(encode_capture(capture)))
    source = tmp_path / "captures.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = cli("import", str(source), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "imported 5" in result.stdout
    return data_dir


def test_diff_json_by_id_prefixes(imported: Path) -> None:
    result = cli("diff", "aaaa", "bbbb", "--json", data_dir=imported)
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert [(c["path"], c["change"]) for c in diff["body"]] == [
        ("$.id", "changed"),
        ("$.entityStatus", "changed"),
        ("$.attributes.TrackingNumber", "added"),
        ("$.items[2].ref", "changed"),
    ]
    assert diff["body"][2]["new"] == "TN-1" and diff["body"][2]["old"] is None
    assert {"name": "Content-Length", "change": "changed"}.items() <= diff["headers"][0].items()
    assert diff["signatures"] == {
        "a": {"flex.signature": "valid", "fluent-signature": "valid"},
        "b": {"flex.signature": "valid", "fluent-signature": "invalid"},
    }


def test_diff_of_the_same_body_reordered_is_empty(imported: Path) -> None:
    result = cli("diff", "aaaa", "aaaa", "--json", data_dir=imported)
    assert json.loads(result.stdout)["body"] == []


def test_diff_readable_and_text_fallback(imported: Path) -> None:
    result = cli("diff", "aaaa1", "bbbb2", data_dir=imported)
    assert result.returncode == 0, result.stderr
    assert '+ $.attributes.TrackingNumber: "TN-1"' in result.stdout
    assert '~ $.entityStatus: "PACKED" -> "SHIPPED"' in result.stdout
    assert "fluent-signature ✗ invalid" in result.stdout
    text = cli("diff", "aaaa", "eeee", data_dir=imported)
    assert "Body (text; not both JSON):" in text.stdout
    as_json = json.loads(cli("diff", "aaaa", "eeee", "--json", data_dir=imported).stdout)
    assert as_json["text_diff"] and as_json["body"][0]["path"] == "$"


def test_diff_with_an_unknown_id_is_one_clean_line(imported: Path) -> None:
    assert_clean_error(cli("diff", "aaaa", "ffff", data_dir=imported), "'ffff'")


def test_timeline_json_is_the_root_in_time_order(imported: Path) -> None:
    result = cli("timeline", "R-9", "--json", data_dir=imported)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"][:5] for line in lines] == ["cccc3", "aaaa1", "bbbb2"]
    for key in ("id", "received_at", "event", "entity_type", "entity_ref", "entity_status"):
        assert all(key in line for line in lines)
    assert [line["gap_ms"] for line in lines] == [None, 30_000, 60_000]
    assert [line["entity_status"] for line in lines] == ["CREATED", "PACKED", "SHIPPED"]
    assert lines[2]["fluent"] == "invalid" and lines[2]["flex"] == "valid"
    assert all(line["attempt"] == 1 for line in lines)


def test_timeline_readable_and_nothing_found(imported: Path) -> None:
    result = cli("timeline", "R-9", data_dir=imported)
    assert result.returncode == 0, result.stderr
    assert "Timeline of R-9: 3 capture(s)" in result.stdout
    assert "[0] ORDER R-9, [1] FULFILMENT F-77" in result.stdout
    assert "R-10" not in result.stdout
    # Verdicts spelled as `listen` spells them, symbol and word.
    assert "flex ✓ valid" in result.stdout or "flex – missing" in result.stdout
    assert " fluent – \n" not in result.stdout and "fluent –  " not in result.stdout
    missing = cli("timeline", "R-404", data_dir=imported)
    assert missing.returncode == 1
    assert "no captures with root entity ref or entity ref 'R-404'" in missing.stderr
