"""What changed between two captures: body (JSON-aware), headers, and both verdicts.

Pure and Qt-free. The GUI's side-by-side view and ``fluent-inspector diff`` both start from
:func:`diff_captures`; :func:`encode_diff` is the ``--json`` shape and :func:`render_text`
the terminal's.

Body. When both bodies are JSON they are compared as values, so key order and whitespace
never show up: objects key by key, arrays position by position (a length difference gives
added/removed entries for the extra positions and a note, because positional comparison of
arrays of different lengths can blame the wrong items). Each difference names its path in
JSONPath form: ``$.attributes.TrackingNumber``, ``$.items[2].ref``, ``$["odd key"]``.
Numbers compare by value (``1`` equals ``1.0``), but ``true`` never equals ``1``. When
either body is not JSON (or is nested too deeply to compare) the fallback is a unified text
diff of the bodies decoded as UTF-8 (bad bytes replaced), with one ``$`` entry when they
differ.

Headers. Names compare case-insensitively (HTTP says they are), values exactly; a name
sent several times compares as its list of values, shown joined by ", ".

JSON shape (:func:`encode_diff`, pinned by tests)::

    {"body": [{"path", "change": "added|removed|changed", "old", "new"}],
     "headers": [{"name", "change", "old", "new"}],
     "signatures": {"a": {"flex.signature": "valid", "fluent-signature": ...}, "b": {...}},
     "notes": ["$.items: 3 items in A, 2 in B; compared by position"],
     "text_diff": null | ["--- a", "+++ b", "@@ ...", ...]}

``old`` is null for an added value and ``new`` for a removed one (``change`` tells these
apart from a real null). ``notes`` and ``text_diff`` are the two additions the first three
keys could not carry.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from inspector.core import codec
from inspector.core.capture import Capture, Headers, SignatureHeader
from inspector.core.redact import badge
from inspector.core.text import escape_control

__all__ = [
    "MAX_SHOWN_VALUE",
    "BodyChange",
    "BodyDiff",
    "CaptureDiff",
    "Change",
    "HeaderChange",
    "diff_bodies",
    "diff_captures",
    "diff_headers",
    "diff_json",
    "encode_diff",
    "json_path",
    "render_text",
]

MAX_SHOWN_VALUE = 120
"""Characters of a value :func:`render_text` shows before cutting it with "…"."""

# Deeper than any real event; past it the recursive comparison would near Python's limit.
_MAX_DEPTH = 200
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Change(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class BodyChange:
    """One value that differs; ``old`` is None when added, ``new`` None when removed."""

    path: str
    change: Change
    old: Any = None
    new: Any = None


@dataclass(frozen=True, slots=True)
class HeaderChange:
    """One header that differs; ``name`` as A spelled it (B's when only B has it)."""

    name: str
    change: Change
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class BodyDiff:
    is_json: bool
    """Both bodies were JSON and were compared as values; False: a text diff."""
    changes: tuple[BodyChange, ...] = ()
    notes: tuple[str, ...] = ()
    """Array length differences (JSON only)."""
    text_diff: tuple[str, ...] = ()
    """Unified diff lines, without line ends (text fallback only; empty when the same)."""

    @property
    def same(self) -> bool:
        return not self.changes


@dataclass(frozen=True, slots=True)
class CaptureDiff:
    """A compared with B. The verdicts are each capture's own (``a.signatures``)."""

    a: Capture
    b: Capture
    body: BodyDiff
    headers: tuple[HeaderChange, ...]

    @property
    def same(self) -> bool:
        return self.body.same and not self.headers


# --------------------------------------------------------------------------- JSON


def json_path(parent: str, key: str | int) -> str:
    """``parent`` extended by an object key or an array index, in JSONPath notation."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def _equal(a: object, b: object) -> bool:
    # bool is an int in Python; in JSON true and 1 are different values.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _walk(a: object, b: object, path: str, notes: list[str], depth: int) -> Iterator[BodyChange]:
    if depth > _MAX_DEPTH:
        raise RecursionError(path)
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            child = json_path(path, key)
            if key not in b:
                yield BodyChange(child, Change.REMOVED, old=a[key])
            else:
                yield from _walk(a[key], b[key], child, notes, depth + 1)
        for key in b:
            if key not in a:
                yield BodyChange(json_path(path, key), Change.ADDED, new=b[key])
    elif isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _walk(x, y, json_path(path, index), notes, depth + 1)
        if len(a) != len(b):
            notes.append(
                f"{path}: {len(a)} item{'s' * (len(a) != 1)} in A, "
                f"{len(b)} in B; compared by position"
            )
        for index in range(len(b), len(a)):
            yield BodyChange(json_path(path, index), Change.REMOVED, old=a[index])
        for index in range(len(a), len(b)):
            yield BodyChange(json_path(path, index), Change.ADDED, new=b[index])
    elif not _equal(a, b):
        yield BodyChange(path, Change.CHANGED, old=a, new=b)


def diff_json(a: object, b: object) -> tuple[list[BodyChange], list[str]]:
    """(changes, notes) between two parsed JSON values; A's key order, then B's new keys.

    Raises RecursionError for values nested past what this compares (callers fall back).
    """
    notes: list[str] = []
    return list(_walk(a, b, "$", notes, 0)), notes


# --------------------------------------------------------------------------- bodies


_NOT_JSON = object()


def _parsed(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _NOT_JSON


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def diff_bodies(a: bytes, b: bytes) -> BodyDiff:
    """JSON-aware when both bodies are JSON, else a unified text diff."""
    if a == b:
        # Same bytes: nothing to parse. is_json still says how they would be compared.
        return BodyDiff(is_json=_parsed(a) is not _NOT_JSON)
    left, right = _parsed(a), _parsed(b)
    if left is not _NOT_JSON and right is not _NOT_JSON:
        try:
            changes, notes = diff_json(left, right)
        except RecursionError:
            pass
        else:
            return BodyDiff(is_json=True, changes=tuple(changes), notes=tuple(notes))
    text_a, text_b = _text(a), _text(b)
    lines = difflib.unified_diff(
        text_a.splitlines(), text_b.splitlines(), "a", "b", lineterm="", n=2
    )
    return BodyDiff(
        is_json=False,
        changes=(BodyChange("$", Change.CHANGED, old=text_a, new=text_b),),
        text_diff=tuple(lines),
    )


# --------------------------------------------------------------------------- headers


def _by_name(headers: Headers) -> dict[str, tuple[str, list[str]]]:
    """lower-case name -> (name as first received, values in order)."""
    found: dict[str, tuple[str, list[str]]] = {}
    for name, value in headers:
        found.setdefault(name.lower(), (name, []))[1].append(value)
    return found


def diff_headers(a: Headers, b: Headers) -> list[HeaderChange]:
    """Header differences: names case-insensitive, values exact; A's order, then B's."""
    left, right = _by_name(a), _by_name(b)
    changes: list[HeaderChange] = []
    for key, (name, values) in left.items():
        other = right.get(key)
        if other is None:
            changes.append(HeaderChange(name, Change.REMOVED, ", ".join(values), None))
        elif other[1] != values:
            changes.append(
                HeaderChange(name, Change.CHANGED, ", ".join(values), ", ".join(other[1]))
            )
    for key, (name, values) in right.items():
        if key not in left:
            changes.append(HeaderChange(name, Change.ADDED, None, ", ".join(values)))
    return changes


# --------------------------------------------------------------------------- captures


def diff_captures(a: Capture, b: Capture) -> CaptureDiff:
    return CaptureDiff(
        a=a,
        b=b,
        body=diff_bodies(a.body, b.body),
        headers=tuple(diff_headers(a.headers, b.headers)),
    )


def encode_diff(diff: CaptureDiff) -> dict[str, Any]:
    """The ``diff --json`` object (see the module docstring)."""
    return {
        "body": [
            {"path": c.path, "change": c.change.value, "old": c.old, "new": c.new}
            for c in diff.body.changes
        ],
        "headers": [
            {"name": h.name, "change": h.change.value, "old": h.old, "new": h.new}
            for h in diff.headers
        ],
        "signatures": {"a": codec.verdict_names(diff.a), "b": codec.verdict_names(diff.b)},
        "notes": list(diff.body.notes),
        "text_diff": None if diff.body.is_json else list(diff.body.text_diff),
    }


def _cut(text: str, limit: int = MAX_SHOWN_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(value: object) -> str:
    return _cut(json.dumps(value, ensure_ascii=False))


def _side(label: str, capture: Capture, short_id: str) -> str:
    parts = [label, short_id, codec.iso(capture.received_at)]
    if capture.event is not None:
        event = capture.event
        parts.append(" ".join(p for p in (event.name, event.entity_type, event.entity_ref) if p))
        if event.entity_status:
            parts.append(f"[{event.entity_status}]")
    parts.append(f"-> {capture.response.status}")
    shown = [(h, badge(capture.signature(h).verdict, h, capture.redacted)) for h in SignatureHeader]
    verdicts = ", ".join(f"{h.value} {b.symbol} {b.label}" for h, b in shown)
    parts.append(verdicts)
    return "  ".join(parts)


_MARK = {Change.ADDED: "+", Change.REMOVED: "-", Change.CHANGED: "~"}


def render_text(diff: CaptureDiff, *, a_id: str | None = None, b_id: str | None = None) -> str:
    """The diff for a terminal, every request-borne part escaped (see core/text.py).

    ``a_id``/``b_id`` are the ids to print (default the full ids; the CLI gives what the
    user typed, or a short form).
    """
    lines = [
        _side("A", diff.a, a_id or diff.a.id),
        _side("B", diff.b, b_id or diff.b.id),
        "",
    ]
    body = diff.body
    kind = "JSON, key order and whitespace ignored" if body.is_json else "text"
    if body.same:
        lines.append(f"Body: the same ({kind})")
    elif body.is_json:
        count = len(body.changes)
        lines.append(f"Body ({kind}): {count} difference{'s' * (count != 1)}")
        for c in body.changes:
            if c.change is Change.ADDED:
                value = _shown(c.new)
            elif c.change is Change.REMOVED:
                value = _shown(c.old)
            else:
                value = f"{_shown(c.old)} -> {_shown(c.new)}"
            lines.append(f"  {_MARK[c.change]} {c.path}: {value}")
        lines.extend(f"  note: {note}" for note in body.notes)
    else:
        lines.append("Body (text; not both JSON):")
        lines.extend(f"  {line}" for line in body.text_diff)
    lines.append("")
    if not diff.headers:
        lines.append("Headers: the same (names compared case-insensitively)")
    else:
        count = len(diff.headers)
        lines.append(f"Headers: {count} difference{'s' * (count != 1)}")
        for h in diff.headers:
            if h.change is Change.ADDED:
                value = _cut(h.new or "")
            elif h.change is Change.REMOVED:
                value = _cut(h.old or "")
            else:
                # Half each, so "old -> new" fits one line (signatures are 172 characters).
                half = MAX_SHOWN_VALUE // 2
                value = f"{_cut(h.old or '', half)} -> {_cut(h.new or '', half)}"
            lines.append(f"  {_MARK[h.change]} {h.name}: {value}")
    return "\n".join(escape_control(line) for line in lines)
