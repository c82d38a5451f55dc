"""core/payload.py: Fluent's Event model - required string fields and root-entity rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inspector.core.demo import sample_body
from inspector.core.events import parse_event
from inspector.core.payload import (
    REQUIRED_FIELDS,
    Reason,
    check_body,
    check_event,
    inspect_body,
    problem_fields,
    stored_fields,
    summary_line,
)
from tests.support.captures import event_body


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(event_body())
    event.update(changes)
    return event


def test_a_well_formed_event_has_no_problems() -> None:
    assert check_body(event_body()) == []
    assert summary_line([]) == "Payload: follows Fluent's Event model."


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_each_missing_required_field_is_named(field: str) -> None:
    event = _event()
    del event[field]
    problems = check_body(json.dumps(event).encode())
    assert [(p.field, p.reason) for p in problems] == [(field, Reason.MISSING)]
    assert problem_fields(problems) == (field,)
    assert field in summary_line(problems)


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
@pytest.mark.parametrize("value", [42, None, ["x"], {"x": 1}, True])
def test_each_required_field_must_be_a_string(field: str, value: object) -> None:
    problems = check_event(_event(**{field: value}))
    assert [(p.field, p.reason) for p in problems] == [(field, Reason.NOT_A_STRING)]


def test_several_problems_are_all_listed_in_field_order() -> None:
    event = _event(entityId=5)
    del event["accountId"], event["name"]
    assert problem_fields(check_event(event)) == ("name", "accountId", "entityId")


def test_optional_fields_may_be_absent_or_null_but_not_another_type() -> None:
    event = _event(source=None)
    for key in ("entitySubtype", "scheduledOn", "attributes"):
        event.pop(key, None)
    assert check_event(event) == []
    problems = check_event(_event(entityStatus=3, attributes=[{"name": "a"}]))
    assert [(p.field, p.reason) for p in problems] == [
        ("entityStatus", Reason.NOT_A_STRING),
        ("attributes", Reason.NOT_AN_OBJECT),
    ]


def test_root_type_must_be_a_root_entity_type() -> None:
    problems = check_event(_event(entityType="ARTICLE", rootEntityType="FULFILMENT"))
    assert [(p.field, p.reason) for p in problems] == [("rootEntityType", Reason.NOT_A_ROOT_TYPE)]
    # The other spelling of FULFILMENT_OPTIONS seen in real traffic is accepted.
    assert (
        check_event(
            _event(
                entityType="FULFILMENTOPTION",
                rootEntityType="FULFILMENT_OPTIONS",
                entityId="3",
                rootEntityId="3",
                entityRef="FO",
                rootEntityRef="FO",
            )
        )
        == []
    )


def test_root_fields_come_together() -> None:
    event = _event(entityType="FULFILMENT")
    del event["rootEntityId"], event["rootEntityType"]
    problems = check_event(event)
    assert [(p.field, p.reason) for p in problems] == [
        ("rootEntityId", Reason.ROOT_INCOMPLETE),
        ("rootEntityType", Reason.ROOT_INCOMPLETE),
    ]
    # No root fields at all is allowed (lightweight events).
    for key in ("rootEntityRef",):
        del event[key]
    assert check_event(event) == []


def test_a_root_entity_is_its_own_root() -> None:
    problems = check_event(_event(entityType="ORDER", entityRef="R-1", rootEntityRef="R-2"))
    assert [(p.field, p.reason) for p in problems] == [("rootEntityRef", Reason.ROOT_NOT_SELF)]
    # A child entity names another root: fine.
    assert check_event(_event(entityType="FULFILMENT", entityRef="F-1")) == []


@pytest.mark.parametrize("body", [b"", b"<html>", b"[1, 2]", b"\xff\xfe", b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_one_problem(body: bytes) -> None:
    problems = check_body(body)
    assert [(p.field, p.reason) for p in problems] == [("", Reason.NOT_AN_EVENT)]
    assert problem_fields(problems) == ()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"a": 1}',
        b'  {"name": "N", "id": 3}',
        b"{bad",
        b'{"name": "\xe9"}',
        b'{"a":' * 70 + b"1" + b"}" * 70,
        b'{"id": "1", "name": "N", "entityType": "ORDER", "rootEntityType": "FOO"}',
        sample_body(),
    ],
)
def test_inspect_body_is_parse_event_and_stored_fields_in_one_parse(body: bytes) -> None:
    assert inspect_body(body) == (parse_event(body), stored_fields(body))
