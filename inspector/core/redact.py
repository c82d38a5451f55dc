"""Redacting an export (``export --redact``, the export dialog's *Redact…*): header values and
JSON values replaced by ``"[redacted]"``, so captures can be shared in a support ticket.

What is replaced, and why it is replaced rather than deleted: the name of a header stays
(with its position and case) and a JSON value becomes the string ``"[redacted]"``, so whoever
reads the file still sees that ``Authorization`` arrived and what shape the body had.

Where: every header list of a capture (request, our answer, the forward target's answer,
replays) and every JSON body (request, answer, forward, replays and the edited bodies they
sent), since any of them can echo customer data. A body that is not JSON is left as it was
and the mark says the paths did not apply. The event summary is parsed again from the
redacted body, so no exported field keeps an old value.

The record says it: :class:`~inspector.core.capture.Redaction` (the export's ``redacted``
field). A changed body is no longer what Fluent signed, so re-verifying it says "invalid" -
by design - and every badge shows "redacted" instead (:func:`badge`).

JSON paths are a small documented subset of JSONPath (RFC 9535), enough to name customer
data in a Fluent event:

    $                 the whole body
    .name  ['name']   a member of an object (``['…']`` for any name: dots, spaces, quotes)
    [N]               an element of an array (N from 0; negative counts from the end)
    [*]  .*           every element of an array, every member of an object
    ..name ..['name'] every member with that name at any depth below

Filters (``[?…]``), slices (``[0:2]``) and unions (``[0,1]``) are refused with a message
that says where the path breaks and what is supported.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from inspector.core.capture import (
    Capture,
    ForwardRecord,
    Headers,
    Redaction,
    ReplayRecord,
    SignatureHeader,
    Verdict,
)
from inspector.core.errors import RedactError
from inspector.core.events import parse_event

__all__ = [
    "PLACEHOLDER",
    "REDACTED",
    "SUPPORTED",
    "Badge",
    "JsonPath",
    "RedactSpec",
    "RedactedBadge",
    "Redactor",
    "badge",
    "badge_detail",
    "parse_path",
    "parse_spec",
    "redact_json",
]

PLACEHOLDER = "[redacted]"
"""What a redacted header value or JSON value becomes."""
SUPPORTED = "$, .name, ['name'], [N], [*], .*, ..name"
"""The JSON path subset, as error messages and help texts list it."""

# RFC 9110 token: what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INDEX = re.compile(r"-?[0-9]+")


# --------------------------------------------------------------------------- JSON paths


@dataclass(frozen=True, slots=True)
class _Member:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Every:
    pass


@dataclass(frozen=True, slots=True)
class _Descendants:
    name: str


_Step = _Member | _Index | _Every | _Descendants


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[_Step, ...]


def _bad(text: str, at: int, why: str) -> RedactError:
    return RedactError(
        f"unsupported JSON path {text!r} at character {at + 1}: {why}. "
        f"Supported: {SUPPORTED} (e.g. $.customer.email, $.items[*].address, ..email)."
    )


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The name in ``['…']`` or ``["…"]`` starting at ``start`` (the quote); returns it and
    the index after the closing ``]``. Backslash escapes the next character."""
    quote = text[start]
    name: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            name.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            if text[i + 1 : i + 2] != "]":
                raise _bad(text, i + 1, "expected ']' after the quoted name")
            return "".join(name), i + 2
        name.append(char)
        i += 1
    raise _bad(text, start, "the quoted name is not closed")


def _bracket(text: str, i: int) -> tuple[_Step, int]:
    """The step in ``[…]`` at ``i`` (the ``[``)."""
    inner = text[i + 1 : i + 2]
    if inner in ("'", '"'):
        name, end = _quoted(text, i + 1)
        return _Member(name), end
    if text.startswith("[*]", i):
        return _Every(), i + 3
    found = _INDEX.match(text, i + 1)
    if found and text[found.end() : found.end() + 1] == "]":
        return _Index(int(found.group())), found.end() + 1
    if inner == "?":
        raise _bad(text, i, "filters ([?…]) are not supported")
    close = text.find("]", i)
    content = text[i + 1 : close] if close >= 0 else text[i + 1 :]
    if ":" in content:
        raise _bad(text, i, "slices ([a:b]) are not supported")
    if "," in content:
        raise _bad(text, i, "unions ([a,b]) are not supported")
    raise _bad(text, i, "expected ['name'], [N] or [*]")


def parse_path(text: str) -> JsonPath:
    """Parse one JSON path of the subset (module docstring); RedactError says what is wrong.

    A path may start with ``..`` instead of ``$..`` (``..email``), the usual shorthand."""
    source = text.strip()
    if source.startswith(".."):
        source = "$" + source
    if not source.startswith("$"):
        raise _bad(text, 0, "a JSON path starts with '$'")
    steps: list[_Step] = []
    i = 1
    while i < len(source):
        if source.startswith("..", i):
            i += 2
            if source[i : i + 1] == "[" and source[i + 1 : i + 2] in ("'", '"'):
                name, i = _quoted(source, i + 1)
            else:
                found = _NAME.match(source, i)
                if not found:
                    raise _bad(source, i, "expected a name after '..'")
                name, i = found.group(), found.end()
            steps.append(_Descendants(name))
        elif source[i] == ".":
            if source[i + 1 : i + 2] == "*":
                steps.append(_Every())
                i += 2
                continue
            found = _NAME.match(source, i + 1)
            if not found:
                raise _bad(source, i + 1, "expected a name after '.' (use ['…'] for others)")
            steps.append(_Member(found.group()))
            i = found.end()
        elif source[i] == "[":
            step, i = _bracket(source, i)
            steps.append(step)
        else:
            raise _bad(source, i, f"unexpected {source[i]!r}")
    return JsonPath(text.strip(), tuple(steps))


def _replace(node: Any, steps: tuple[_Step, ...]) -> tuple[Any, int]:
    """``node`` with every value the steps select replaced by the placeholder (in place where
    it can be), and how many were replaced. Recursion is bounded by the path's length: a
    descendant step walks the document with a stack of its own."""
    if not steps:
        return PLACEHOLDER, 1
    step, rest = steps[0], steps[1:]
    count = 0
    if isinstance(step, _Member):
        if isinstance(node, dict) and step.name in node:
            node[step.name], count = _replace(node[step.name], rest)
    elif isinstance(step, _Index):
        if isinstance(node, list) and -len(node) <= step.index < len(node):
            node[step.index], count = _replace(node[step.index], rest)
    elif isinstance(step, _Every):
        if isinstance(node, dict):
            for key in node:
                node[key], found = _replace(node[key], rest)
                count += found
        elif isinstance(node, list):
            for index, item in enumerate(node):
                node[index], found = _replace(item, rest)
                count += found
    else:
        # Every object at any depth, collected before any is changed.
        holders: list[dict[str, Any]] = []
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, dict):
                if step.name in current:
                    holders.append(current)
                stack.extend(current.values())
            elif isinstance(current, list):
                stack.extend(current)
        for holder in holders:
            holder[step.name], found = _replace(holder[step.name], rest)
            count += found
    return node, count


def redact_json(document: Any, paths: Iterable[JsonPath]) -> tuple[Any, int]:
    """The parsed JSON ``document`` with the paths' values replaced (it is changed in place:
    pass a fresh parse), and how many values were replaced."""
    total = 0
    for path in paths:
        document, count = _replace(document, path.steps)
        total += count
    return document, total


# --------------------------------------------------------------------------- a spec


@dataclass(frozen=True, slots=True)
class RedactSpec:
    """What to redact: header names (lower case) and JSON paths, each once, in given order."""

    headers: tuple[str, ...] = ()
    paths: tuple[JsonPath, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.headers or self.paths)

    @property
    def summary(self) -> str:
        """``Authorization, $.customer.email`` (how confirmations list it)."""
        return ", ".join([*self.headers, *(p.text for p in self.paths)])


def _split(text: str) -> list[str]:
    """Comma-separated items; a comma inside ``[…]`` or quotes belongs to the item."""
    items: list[str] = []
    current: list[str] = []
    quote = ""
    depth = 0
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"') and depth:
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == "," and not depth:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def parse_spec(values: Iterable[str]) -> RedactSpec:
    """A spec from ``--redact`` values (each comma-separated; the flag may repeat): an item
    starting with ``$`` or ``..`` is a JSON path, anything else a header name."""
    headers: list[str] = []
    paths: list[JsonPath] = []
    for value in values:
        for item in _split(value):
            if item.startswith(("$", "..")):
                path = parse_path(item)
                if path.text not in (p.text for p in paths):
                    paths.append(path)
            elif _TOKEN.fullmatch(item):
                if item.lower() not in headers:
                    headers.append(item.lower())
            else:
                raise RedactError(
                    f"{item!r} is neither a header name nor a JSON path: header names are "
                    "letters, digits and !#$%&'*+-.^_`|~; JSON paths start with '$' "
                    f"({SUPPORTED})."
                )
    return RedactSpec(tuple(headers), tuple(paths))


# --------------------------------------------------------------------------- captures


def _dump(document: Any, original: bytes) -> bytes:
    # Pretty-printed bodies stay readable; Fluent's compact ones stay compact.
    indent = 2 if b"\n" in original else None
    separators = None if indent else (",", ":")
    try:
        return json.dumps(
            document, ensure_ascii=False, indent=indent, separators=separators
        ).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a "\ud800" escape) has no UTF-8: keep it escaped.
        return json.dumps(document, indent=indent, separators=separators).encode("ascii")


@dataclass(slots=True)
class Redactor:
    """Redacts captures by one spec, counting what happened for the final message."""

    spec: RedactSpec
    exported: int = 0
    changed_bodies: int = 0
    not_json: int = 0
    """Captures with a request body the JSON paths could not apply to (not JSON)."""
    _names: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        self._names = frozenset(self.spec.headers)

    def headers(self, headers: Headers) -> Headers:
        if not self._names:
            return headers
        return tuple(
            (name, PLACEHOLDER if name.lower() in self._names else value) for name, value in headers
        )

    def body(self, body: bytes) -> tuple[bytes, str]:
        """(the redacted body, ``changed`` / ``unchanged`` / ``not_json``)."""
        if not self.spec.paths or not body.strip():
            return body, "unchanged"
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return body, "not_json"
        document, count = redact_json(document, self.spec.paths)
        if not count:
            # Nothing matched: the exact bytes stay, and so do their signatures.
            return body, "unchanged"
        return _dump(document, body), "changed"

    def _other_body(self, body: bytes) -> bytes:
        return self.body(body)[0]

    def _forward(self, forward: ForwardRecord | None) -> ForwardRecord | None:
        if forward is None:
            return None
        return replace(
            forward, headers=self.headers(forward.headers), body=self._other_body(forward.body)
        )

    def _replay(self, replay: ReplayRecord) -> ReplayRecord:
        return replace(
            replay,
            headers=self.headers(replay.headers),
            body=self._other_body(replay.body),
            sent_body=None if replay.sent_body is None else self._other_body(replay.sent_body),
        )

    def apply(self, capture: Capture) -> Capture:
        """The capture as it is exported: redacted, and marked (an earlier mark is merged)."""
        self.exported += 1
        body, state = self.body(capture.body)
        if state == "changed":
            self.changed_bodies += 1
        elif state == "not_json":
            self.not_json += 1
        earlier = capture.redacted
        if earlier is not None:
            headers = tuple(dict.fromkeys([*earlier.headers, *self.spec.headers]))
            paths = tuple(dict.fromkeys([*earlier.paths, *(p.text for p in self.spec.paths)]))
            if earlier.body == "changed" or state == "changed":
                state = "changed"
            mark = Redaction(headers, paths, state)
        else:
            mark = Redaction(self.spec.headers, tuple(p.text for p in self.spec.paths), state)
        response = capture.response
        return replace(
            capture,
            headers=self.headers(capture.headers),
            body=body,
            event=parse_event(body) if state == "changed" else capture.event,
            response=replace(
                response,
                headers=self.headers(response.headers),
                body=self._other_body(response.body),
            ),
            forward=self._forward(capture.forward),
            replays=tuple(self._replay(r) for r in capture.replays),
            redacted=mark,
        )

    @property
    def note(self) -> str:
        """What the final message adds: "(redacted: …)" and, when some bodies were not
        JSON, that the paths did not apply to them."""
        text = f"redacted: {self.spec.summary}"
        if self.not_json:
            noun = "capture" if self.not_json == 1 else "captures"
            text += (
                f"; the JSON paths did not apply to {self.not_json:,} {noun} whose body is not JSON"
            )
        return text


# --------------------------------------------------------------------------- badges


class RedactedBadge(enum.Enum):
    """What a badge shows instead of a verdict when redaction changed what was signed."""

    REDACTED = "redacted"

    @property
    def symbol(self) -> str:
        return "⊘"

    @property
    def label(self) -> str:
        return "redacted"


REDACTED = RedactedBadge.REDACTED
Badge = Verdict | RedactedBadge


def badge(verdict: Verdict, header: SignatureHeader, redaction: Redaction | None) -> Badge:
    """The verdict as a badge shows it: "redacted" when the capture's redaction changed the
    body or removed that header (a re-verified redacted body is "invalid" by design)."""
    if redaction is not None and not redaction.signature_applies(header.value):
        return REDACTED
    return verdict


def badge_detail(verdict: Verdict, key: str | None, redaction: Redaction) -> str:
    """The sentence for a "redacted" badge: why, and what the stored verdict says."""
    was = f"'{verdict.label}'" + (f" with key '{key}'" if verdict is Verdict.VALID and key else "")
    what = "the body was changed" if redaction.body == "changed" else "this header was removed"
    return (
        f"redacted — signature no longer applies: {what} when it was exported with "
        f"redaction (the stored verdict reads {was})"
    )
