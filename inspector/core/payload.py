"""Payload checks: does a webhook body follow Fluent's Event model?

Pure and Qt-free; never raises. The GUI calls :func:`check_body` on a capture's body for the
warning badge (:func:`problem_fields` gives the field names it shows) and the Summary tab
(:func:`summary_line`); the CLI and tests use the same functions.

What is checked (``fluent-reference.md`` §3):

- the required fields ``id``, ``name``, ``accountId``, ``retailerId``, ``entityId``,
  ``entityRef``, ``entityType`` are present and strings (:data:`REQUIRED_FIELDS`);
- the optional text fields, when present and not null, are strings; ``attributes`` is a JSON
  object (webhooks send an object; GraphQL's ``[{name, type, value}]`` list is the other
  shape, and a body carrying it was not built as a webhook);
- root-entity rules: ``rootEntityType`` is one of the root types (:data:`ROOT_TYPES`);
  ``rootEntityId``/``rootEntityRef``/``rootEntityType`` come together (a lone root ref
  cannot be followed up); and an event about a root entity names itself as its root.

Stricter than :attr:`EventSummary.missing` on purpose: the summary accepts a number for a
required field so the table can still show it, while this check says it is not a string.
Unknown fields and unknown entity types are not problems: the model lets Fluent add them.

Stored. The store keeps :func:`stored_fields` of every capture whose body is a JSON object in
``captures.payload_problems`` (schema 5; filled at insert, and for older rows by the
migration), so ``CaptureQuery(payload_problems=True)`` filters the whole store and the table
shows the badge without reading bodies. A body that is not a JSON object stores "": the
check is about would-be events that do not follow the model, not about other traffic.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from inspector.core.events import (
    MAX_EVENT_BYTES,
    REQUIRED_FIELDS,
    EventSummary,
    event_from_json,
    load_event_json,
)

__all__ = [
    "OPTIONAL_TEXT_FIELDS",
    "REQUIRED_FIELDS",
    "ROOT_FIELDS",
    "ROOT_TYPES",
    "PayloadProblem",
    "Reason",
    "check_body",
    "check_event",
    "inspect_body",
    "problem_fields",
    "stored_fields",
    "summary_line",
]

ROOT_TYPES = frozenset(
    {
        "ORDER",
        "LOCATION",
        "FULFILMENT_OPTIONS",
        "PRODUCT_CATALOGUE",
        "INVENTORY_CATALOGUE",
        "VIRTUAL_CATALOGUE",
        "CONTROL_GROUP",
        "RETURN_ORDER",
        "BILLING_ACCOUNT",
        "JOB",
    }
)
"""Entity types that are their own root (reference §3)."""

OPTIONAL_TEXT_FIELDS = (
    "entitySubtype",
    "entityStatus",
    "type",
    "rootEntityId",
    "rootEntityRef",
    "rootEntityType",
    "source",
    "scheduledOn",
)

ROOT_FIELDS = ("rootEntityId", "rootEntityRef", "rootEntityType")
# The entity field each root field must equal when the event is about a root entity.
_SELF = {"rootEntityId": "entityId", "rootEntityRef": "entityRef", "rootEntityType": "entityType"}
# FULFILMENTOPTION is the other spelling of FULFILMENT_OPTIONS seen in real traffic.
_ALIASES = {"FULFILMENTOPTION": "FULFILMENT_OPTIONS"}


class Reason(enum.Enum):
    """Why a field is a problem; the value is what JSON and filters use."""

    NOT_AN_EVENT = "not_an_event"
    """The body is not a JSON object (field ``""``)."""
    MISSING = "missing"
    NOT_A_STRING = "not_a_string"
    NOT_AN_OBJECT = "not_an_object"
    NOT_A_ROOT_TYPE = "not_a_root_type"
    ROOT_INCOMPLETE = "root_incomplete"
    ROOT_NOT_SELF = "root_not_self"


@dataclass(frozen=True, slots=True)
class PayloadProblem:
    """One field that breaks the Event model, and a sentence saying how."""

    field: str
    """The JSON key (``entityRef``), or ``""`` for the body as a whole."""
    reason: Reason
    message: str


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else "a string"


def check_event(data: object) -> list[PayloadProblem]:
    """Problems of an already-parsed body, in field order; ``[]`` when it follows the model."""
    if not isinstance(data, dict):
        return [PayloadProblem("", Reason.NOT_AN_EVENT, "The body is not a JSON object.")]
    problems: list[PayloadProblem] = []
    for name in REQUIRED_FIELDS:
        if name not in data:
            problems.append(PayloadProblem(name, Reason.MISSING, f"{name} is required."))
        elif not isinstance(data[name], str):
            problems.append(
                PayloadProblem(
                    name,
                    Reason.NOT_A_STRING,
                    f"{name} must be a string, not {_kind(data[name])}.",
                )
            )
    for name in OPTIONAL_TEXT_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(
                PayloadProblem(
                    name, Reason.NOT_A_STRING, f"{name} must be a string, not {_kind(value)}."
                )
            )
    attributes = data.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        problems.append(
            PayloadProblem(
                "attributes",
                Reason.NOT_AN_OBJECT,
                f"attributes must be a JSON object in a webhook, not {_kind(attributes)}.",
            )
        )
    problems.extend(_root_problems(data))
    return problems


def _canonical(entity_type: str) -> str:
    return _ALIASES.get(entity_type, entity_type)


def _root_problems(data: dict[str, object]) -> list[PayloadProblem]:
    root_type = data.get("rootEntityType")
    problems: list[PayloadProblem] = []
    if isinstance(root_type, str) and root_type and _canonical(root_type) not in ROOT_TYPES:
        problems.append(
            PayloadProblem(
                "rootEntityType",
                Reason.NOT_A_ROOT_TYPE,
                f"rootEntityType {root_type} is not a root entity type.",
            )
        )
    given = [name for name in ROOT_FIELDS if data.get(name) not in (None, "")]
    if given and len(given) < len(ROOT_FIELDS):
        absent = [name for name in ROOT_FIELDS if name not in given]
        problems.extend(
            PayloadProblem(
                name,
                Reason.ROOT_INCOMPLETE,
                f"{name} is missing while {', '.join(given)} "
                f"{'is' if len(given) == 1 else 'are'} given: the root cannot be looked up.",
            )
            for name in absent
        )
    entity_type = data.get("entityType")
    if isinstance(entity_type, str) and _canonical(entity_type) in ROOT_TYPES:
        # A root entity's event names itself as the root; anything else points elsewhere
        # (often a copy-paste from a child entity's event in a custom rule).
        for name in given:
            own, value = data.get(_SELF[name]), data.get(name)
            if name == "rootEntityType" and isinstance(value, str):
                value, own = _canonical(value), _canonical(entity_type)
            if isinstance(own, str) and isinstance(value, str) and own and value != own:
                problems.append(
                    PayloadProblem(
                        name,
                        Reason.ROOT_NOT_SELF,
                        f"{name} is {value} but this {entity_type} event's "
                        f"{_SELF[name]} is {own}: a root entity is its own root.",
                    )
                )
    return problems


def check_body(body: bytes) -> list[PayloadProblem]:
    """Problems of a raw webhook body; a body that is not a JSON object gives one
    :attr:`Reason.NOT_AN_EVENT` problem. Never raises."""
    if len(body) > MAX_EVENT_BYTES:
        return [PayloadProblem("", Reason.NOT_AN_EVENT, "The body is too large to be an event.")]
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return [PayloadProblem("", Reason.NOT_AN_EVENT, "The body is not JSON.")]
    return check_event(data)


def problem_fields(problems: Sequence[PayloadProblem]) -> tuple[str, ...]:
    """The field names with a problem, each once, in order (the badge's text)."""
    return tuple(dict.fromkeys(p.field for p in problems if p.field))


def stored_fields(body: bytes) -> str:
    """The ``captures.payload_problems`` column: the problem field names joined by ", "
    ("" for a body that follows the model, and for one that is not a JSON object at all)."""
    if body[:1] != b"{" and body.lstrip()[:1] != b"{":
        return ""
    return ", ".join(problem_fields(check_body(body)))


def inspect_body(body: bytes) -> tuple[EventSummary | None, str]:
    """``(parse_event(body), stored_fields(body))`` from one JSON parse: the listener needs
    both for every request, and parsing the body twice was a visible share of its time."""
    data = load_event_json(body)
    if data is None:
        # Not an object within the event limits (rare for webhooks): the plain check decides.
        return None, stored_fields(body)
    return event_from_json(data, body), ", ".join(problem_fields(check_event(data)))


def summary_line(problems: Sequence[PayloadProblem]) -> str:
    """One line for a summary: ``"Payload: fine"`` or the problems' sentences."""
    if not problems:
        return "Payload: follows Fluent's Event model."
    return "Payload: " + " ".join(p.message for p in problems)
