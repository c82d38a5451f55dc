"""The response rules file: the issue's exact format parses, and every malformed file is
refused with the line of the problem and the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.core.rules import EXAMPLE_RULES, RulesError, RulesFile, parse_rules

ISSUE_EXAMPLE = EXAMPLE_RULES


def test_the_issue_example_parses() -> None:
    rules = parse_rules(ISSUE_EXAMPLE).rules
    assert [r.name for r in rules] == ["fail twice", "slow", "hang up", "to my handler"]
    fail = rules[0]
    assert fail.respond is not None and fail.respond.status == 500
    assert fail.respond.headers == (("Retry-After", "1"),)
    assert fail.respond.body == b'{"error":"try later"}'
    assert fail.match.attempts == frozenset({1, 2})
    assert rules[1].respond is not None and rules[1].respond.delay_ms == 1500
    assert rules[2].respond is not None and rules[2].respond.close
    assert rules[3].forward == "http://localhost:3000"


def test_first_match_wins_and_every_key_is_optional() -> None:
    rules = parse_rules(ISSUE_EXAMPLE)
    match = rules.first_match
    assert match("POST", "/hooks/a", "OrderCreated", "ORDER", 1).name == "fail twice"  # type: ignore[union-attr]
    assert match("POST", "/hooks/a", "OrderCreated", "ORDER", 3) is None
    assert match("GET", "/hooks/a", "OrderCreated", "ORDER", 1) is None
    assert match("post", "/hooks/a", "OrderCreated", "ORDER", 2) is not None
    assert match("GET", "/wms/x/y", None, None, 1).name == "to my handler"  # type: ignore[union-attr]
    everything = parse_rules('{"rules": [{"name": "all", "match": {}, "respond": {}}]}')
    assert everything.first_match("PUT", "/any", None, None, 9) is not None


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('{"rules": [\n{"name": "a", "match": {},\n "respond": {"status": 99}}]}', 3, "status"),
        ('{"rules": [\n{"name": "a",\n "respond": {"delay_ms": 60001}}]}', 3, "60,000"),
        ('{"rules": [\n{"name": "a", "respond": {}},\n{"name": "a", "respond": {}}]}', 3, "twice"),
        ('{"rules": [\n{"name": "a"}]}', 2, "exactly one"),
        ('{"rules": [\n{"name": "a", "respond": {},\n "forward": "x"}]}', 2, "exactly one"),
        ('{"rules": [\n{"name": "a",\n "forward": "ftp://h"}]}', 3, "http"),
        ('{"rules": [\n{"name": "a", "match":\n {"atempts": [1]}, "respond": {}}]}', 3, "atempts"),
        (
            '{"rules": [\n{"name": "a", "match": {\n"attempts": [0]}, "respond": {}}]}',
            3,
            "delivery",
        ),
        (
            '{"rules": [\n{"name": "a", "respond": {\n"headers": [["Bad Name", "1"]]}}]}',
            3,
            "header",
        ),
        ('{"rules": [\n{"name": "a", "respond": {"close": "yes"}}]}', 2, "true or false"),
        ('{"rules": [\n{"name": "a", "respond": {}\n]}', 3, "not valid JSON"),
        ('{"rulez": []}', 1, "rulez"),
        ("[]", 1, "object"),
    ],
)
def test_malformed_files_are_refused_with_line_and_reason(
    text: str, line: int, reason: str
) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "rules.json")
    assert info.value.line == line, str(info.value)
    assert f"rules.json, line {line}: " in str(info.value)
    assert reason in str(info.value)


def test_a_rules_file_follows_changes_and_keeps_old_rules_on_a_bad_edit(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    optional = RulesFile(path, required=False)
    assert not optional.load()
    with pytest.raises(RulesError, match="does not exist"):
        RulesFile(path).load()
    path.write_text(json.dumps({"rules": [{"name": "a", "respond": {}}]}))
    assert optional.reload_if_changed() and len(optional.current.rules) == 1
    path.write_text("{broken")
    with pytest.raises(RulesError):
        optional.reload_if_changed()
    assert len(optional.current.rules) == 1
