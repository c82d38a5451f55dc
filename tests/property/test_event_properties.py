"""Event parsing over generated input: any bytes and any JSON give an EventSummary or None
("not an event"), never an exception; an event's fields come back as sent."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from inspector.core.events import MAX_DEPTH, REQUIRED_FIELDS, EventSummary, parse_event, summarize

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

# Objects that look like events: the keys Fluent sends, with values of any JSON type.
EVENT_KEYS = (*REQUIRED_FIELDS, "entityStatus", "rootEntityRef", "type", "attributes")
event_like = st.dictionaries(st.sampled_from(EVENT_KEYS), json_values, max_size=len(EVENT_KEYS))


def _summary_or_none(result: object) -> None:
    assert result is None or isinstance(result, EventSummary)


@given(st.binary(max_size=500))
@example(b"{" * (MAX_DEPTH + 1))
@example(b'{"name": "X", "id": ' + b"9" * 5000 + b"}")  # past Python's int digits limit
@example(b"\xef\xbb\xbf{}")
@example(b'{"name": "X", "id": "\\ud800"}')  # an escaped lone surrogate
def test_any_bytes_give_a_summary_or_not_an_event(body: bytes) -> None:
    _summary_or_none(parse_event(body))


@given(json_values)
def test_any_json_gives_a_summary_or_not_an_event(value: object) -> None:
    _summary_or_none(parse_event(json.dumps(value).encode()))
    _summary_or_none(summarize(value))


@settings(max_examples=40)
@given(event_like, st.text(max_size=30))
@example({"name": "X", "id": [[[[]]]]}, "N")
def test_any_event_shaped_object_is_summarised_without_raising(
    data: dict[str, object], name: str
) -> None:
    # A name and one entity key make an object an event (looks_like_event).
    data = {"entityType": "ORDER", **data, "name": name}
    summary = parse_event(json.dumps(data).encode())
    assert isinstance(summary, EventSummary)
    assert summary.name == name
    strings = {k for k in REQUIRED_FIELDS if isinstance(data.get(k), str | int)}
    assert set(summary.missing) == set(REQUIRED_FIELDS) - strings


@given(st.fixed_dictionaries({k: st.text(max_size=20) for k in REQUIRED_FIELDS}))
def test_a_complete_event_comes_back_as_sent(data: dict[str, str]) -> None:
    summary = parse_event(json.dumps(data, ensure_ascii=False).encode())
    assert summary is not None and summary.is_complete
    assert (summary.id, summary.name, summary.entity_ref, summary.entity_type) == (
        data["id"],
        data["name"],
        data["entityRef"],
        data["entityType"],
    )
