"""`export --redact` as a user runs it (a real process, a real store file): what the output
file holds, the final line, bad paths, and the mark surviving `import` into another data dir
(where `timeline` shows the redacted badge)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from inspector.core.exchange import export_jsonl
from tests.support.captures import make_capture
from tests.test_cli import assert_clean_error, cli

EVENT = {
    "id": "ev-9",
    "name": "OrderCreated",
    "accountId": "ACME",
    "retailerId": "1",
    "entityId": "9",
    "entityRef": "HD-9",
    "entityType": "ORDER",
    "entityStatus": "CREATED",
    "rootEntityRef": "HD-9",
    "rootEntityType": "ORDER",
    "customer": {"email": "jane.doe@example.com", "name": "Jane Doe"},
    "items": [{"address": "7 Customer Lane"}, {"address": "9 Other St"}],
}


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A data dir holding a customer event and a text body, both with Authorization."""
    source = tmp_path / "source.jsonl"
    auth = ("Authorization", "Bearer s3cret-token")
    captures = [
        make_capture(
            body=json.dumps(EVENT).encode(),
            headers=(auth, ("Content-Type", "application/json"), ("fluent-signature", "c2ln")),
        ),
        make_capture(body=b"name=Jane", headers=(auth, ("Content-Type", "text/plain"))),
    ]
    with source.open("wb") as fp:
        export_jsonl(captures, fp)
    data_dir = tmp_path / "data"
    assert cli("import", str(source), data_dir=data_dir).returncode == 0
    return data_dir


def test_export_redact_writes_placeholders_and_the_mark(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "ticket.jsonl"
    result = cli(
        "export",
        "--redact",
        "authorization,$.customer.email",
        "--redact",
        "$.items[*].address,fluent-signature",
        "--output",
        str(out),
        data_dir=filled,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        "exported 2 capture(s) (redacted: authorization, fluent-signature, "
        "$.customer.email, $.items[*].address; the JSON paths did not apply to 1 capture "
        "whose body is not JSON)"
    )
    text = out.read_text(encoding="utf-8")
    assert "s3cret-token" not in text
    records = [json.loads(line) for line in text.splitlines()]
    by_type = {dict(r["headers"])["Content-Type"]: r for r in records}
    event = by_type["application/json"]
    assert dict(event["headers"])["Authorization"] == "[redacted]"
    assert dict(event["headers"])["fluent-signature"] == "[redacted]"
    body = json.loads(base64.b64decode(event["body_b64"]))
    assert body["customer"] == {"email": "[redacted]", "name": "Jane Doe"}
    assert body["items"] == [{"address": "[redacted]"}, {"address": "[redacted]"}]
    assert event["redacted"] == {
        "headers": ["authorization", "fluent-signature"],
        "paths": ["$.customer.email", "$.items[*].address"],
        "body": "changed",
    }
    plain = by_type["text/plain"]
    assert base64.b64decode(plain["body_b64"]) == b"name=Jane"
    assert plain["redacted"]["body"] == "not_json"
    # The store itself is untouched.
    again = cli("export", data_dir=filled)
    assert "s3cret-token" in again.stdout and "redacted" not in again.stdout


def test_har_export_redacts_too(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "ticket.har"
    result = cli(
        "export", "--format", "har", "--redact", "Authorization,..email", "-o", str(out),
        data_dir=filled,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert "s3cret-token" not in json.dumps(document)
    assert "jane.doe@example.com" not in json.dumps(document)
    marks = [e["_fluentInspector"]["redacted"] for e in document["log"]["entries"]]
    assert [m["paths"] for m in marks] == [["..email"], ["..email"]]


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("$.items[?(@.price > 1)]", "filters ([?…]) are not supported"),
        ("$.items[0:2]", "slices"),
        ("Authorization,$.a[", "expected ['name'], [N] or [*]"),
        ("not a header", "neither a header name nor a JSON path"),
    ],
)
def test_a_bad_redact_value_is_one_line_and_writes_nothing(
    filled: Path, tmp_path: Path, value: str, needle: str
) -> None:
    out = tmp_path / "never.jsonl"
    result = cli("export", "--redact", value, "--output", str(out), data_dir=filled)
    assert_clean_error(result, needle)
    assert not out.exists()


def test_the_mark_survives_import_and_timeline_shows_it(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "ticket.jsonl"
    assert cli("export", "--redact", "$.customer", "-o", str(out), data_dir=filled).returncode == 0
    fresh = tmp_path / "fresh"
    assert cli("import", str(out), data_dir=fresh).returncode == 0
    back = cli("export", data_dir=fresh)
    marks = [json.loads(line).get("redacted") for line in back.stdout.splitlines()]
    assert {m["body"] for m in marks if m} == {"changed", "not_json"}
    timeline = cli("timeline", "HD-9", data_dir=fresh)
    assert timeline.returncode == 0, timeline.stderr
    assert "flex ⊘ redacted  fluent ⊘ redacted" in timeline.stdout
    ids = [json.loads(line)["id"] for line in back.stdout.splitlines()]
    diff = cli("diff", ids[0], ids[1], data_dir=fresh)
    assert diff.returncode == 0, diff.stderr
    # The event's body was changed (its signatures no longer apply); the text body was not
    # JSON, so its stored verdicts read as they were.
    sides = {line[:1]: line for line in diff.stdout.splitlines()[:2]}
    assert "fluent-signature ⊘ redacted" in sides["A"]
    assert "fluent-signature ✓ valid" in sides["B"] and "⊘" not in sides["B"]


def test_listen_help_says_json_prints_secrets() -> None:
    result = cli("listen", "--help", data_dir=Path("/nonexistent"))
    text = " ".join(result.stdout.split())
    assert "Authorization and signature values included" in text
    export_help = " ".join(cli("export", "--help", data_dir=Path("/nonexistent")).stdout.split())
    assert "--redact HEADER,JSONPATH,..." in export_help
