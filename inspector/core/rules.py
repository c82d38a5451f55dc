"""Response rules: scripted answers (and per-rule forwarding) for the listener.

The file (``listen --rules FILE``, or ``rules.json`` in the data dir for the window)::

    {"rules": [
      {"name": "fail twice", "match": {"path": "/hooks/*", "method": "POST",
       "event": "OrderCreated", "entity_type": "ORDER", "attempts": [1, 2]},
       "respond": {"status": 500, "headers": [["Retry-After", "1"]], "body": "..."}},
      {"name": "slow", "match": {"path": "/slow"}, "respond": {"status": 200, "delay_ms": 1500}},
      {"name": "hang up", "match": {"path": "/drop"}, "respond": {"close": true}},
      {"name": "to my handler", "match": {"path": "/wms/*"}, "forward": "http://localhost:3000"}
    ]}

Every ``match`` key is optional; ``path`` is a glob on the path (``fnmatch``: ``*`` also
crosses ``/``); ``event``/``entity_type`` match the Fluent event's ``name``/``entityType``;
``attempts`` lists delivery numbers of the same event id (1 = first). The first matching
rule answers. A file that does not parse is refused as a whole, with its line and the
reason: a half-applied rules file would answer Fluent in ways nobody wrote down.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from inspector.core.capture import Headers
from inspector.core.errors import RulesError

__all__ = [
    "EXAMPLE_RULES",
    "MAX_DELAY_MS",
    "NO_RULES",
    "Match",
    "Respond",
    "Rule",
    "RuleSet",
    "RulesError",
    "RulesFile",
    "load_rules",
    "parse_rules",
]

MAX_DELAY_MS = 60_000
# The example, as the editor's "Insert example" offers it (and the tests parse it).
EXAMPLE_RULES = """{"rules": [
  {"name": "fail twice", "match": {"path": "/hooks/*", "method": "POST", "event": "OrderCreated",
   "entity_type": "ORDER", "attempts": [1, 2]},
   "respond": {"status": 500, "headers": [["Retry-After", "1"]],
               "body": "{\\"error\\":\\"try later\\"}"}},
  {"name": "slow", "match": {"path": "/slow"}, "respond": {"status": 200, "delay_ms": 1500}},
  {"name": "hang up", "match": {"path": "/drop"}, "respond": {"close": true}},
  {"name": "to my handler", "match": {"path": "/wms/*"}, "forward": "http://localhost:3000"}
]}
"""
_MATCH_KEYS = ("path", "method", "event", "entity_type", "attempts")
_RESPOND_KEYS = ("status", "headers", "body", "delay_ms", "close")
_RULE_KEYS = ("name", "match", "respond", "forward")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class Match:
    path: str | None = None
    method: str | None = None
    event: str | None = None
    entity_type: str | None = None
    attempts: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class Respond:
    status: int = 200
    headers: Headers = ()
    body: bytes = b""
    delay_ms: int = 0
    close: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Match
    respond: Respond | None = None
    forward: str | None = None
    line: int = 0

    def matches(
        self,
        method: str,
        path: str,
        event_name: str | None,
        entity_type: str | None,
        attempt: int,
    ) -> bool:
        m = self.match
        if m.method is not None and m.method != method.upper():
            return False
        if m.path is not None and not fnmatchcase(path, m.path):
            return False
        if m.event is not None and m.event != event_name:
            return False
        if m.entity_type is not None and m.entity_type != entity_type:
            return False
        return m.attempts is None or attempt in m.attempts


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()

    def first_match(
        self,
        method: str,
        path: str,
        event_name: str | None,
        entity_type: str | None,
        attempt: int,
    ) -> Rule | None:
        for rule in self.rules:
            if rule.matches(method, path, event_name, entity_type, attempt):
                return rule
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)


NO_RULES = RuleSet()


# --------------------------------------------------------------------------- positions


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


_DECODER = json.JSONDecoder()
# The standard library's string scanner (typeshed does not declare it).
_scanstring: Any = getattr(json.decoder, "scanstring")  # noqa: B009


def _members(text: str, start: int) -> dict[str | int, tuple[int, int]]:
    """Where each member of the object or array at ``start`` is: key (or index) to (offset
    of the key or element, offset of its value). The text is known to be valid JSON."""
    found: dict[str | int, tuple[int, int]] = {}
    opener = text[start]
    i = _skip(text, start + 1)
    index = 0
    while i < len(text) and text[i] not in "}]":
        if opener == "{":
            key_at = i
            key, i = _scanstring(text, i + 1)
            i = _skip(text, i)
            i = _skip(text, i + 1)  # the colon
            found[key] = (key_at, i)
        else:
            found[index] = (i, i)
            index += 1
        _, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
    return found


class _Locator:
    """Line numbers of places in the file, found when an error needs one."""

    def __init__(self, text: str) -> None:
        self.text = text

    def line(self, *where: str | int) -> int:
        offset = _skip(self.text, 0)
        for depth, step in enumerate(where):
            if self.text[offset] not in "{[":
                break
            members = _members(self.text, offset)
            if step not in members:
                break
            key_at, value_at = members[step]
            offset = value_at if depth < len(where) - 1 else key_at
        return self.text.count("\n", 0, offset) + 1


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.where = _Locator(text)
        self.source = source

    def fail(self, reason: str, *where: str | int) -> RulesError:
        line = self.where.line(*where)
        return RulesError(
            f"{self.source}, line {line}: {reason}. Fix the rules file; until then the "
            "previous rules (or none) stay in force.",
            line,
        )

    def rule(self, index: int, data: object, names: set[str]) -> Rule:
        here: tuple[str | int, ...] = ("rules", index)
        if not isinstance(data, dict):
            raise self.fail(f"rule {index + 1} must be an object", *here)
        for key in data:
            if key not in _RULE_KEYS:
                raise self.fail(
                    f"rule {index + 1} has an unknown key {key!r} (known: {', '.join(_RULE_KEYS)})",
                    *here,
                    key,
                )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f'rule {index + 1} needs a "name" (a non-empty string)', *here)
        label = f"rule {name!r}"
        if name in names:
            raise self.fail(f"{label} is named twice: rule names must be unique", *here, "name")
        names.add(name)
        has_respond, has_forward = "respond" in data, "forward" in data
        if has_respond == has_forward:
            raise self.fail(f'{label} needs exactly one of "respond" or "forward"', *here)
        match = self.match(label, data.get("match", {}), (*here, "match"))
        if has_forward:
            target = data["forward"]
            if not isinstance(target, str):
                raise self.fail(f'{label}: "forward" must be a URL string', *here, "forward")
            # Imported here: core.forward brings httpx, which the window's rules editor
            # (built at start) does not need before a forward rule is read.
            from inspector.core.forward import check_target_url

            try:
                url = check_target_url(target, f"{label}'s forward URL")
            except ValueError as exc:
                raise self.fail(str(exc).rstrip("."), *here, "forward") from None
            return Rule(name, match, forward=url, line=self.where.line(*here))
        respond = self.respond(label, data["respond"], (*here, "respond"))
        return Rule(name, match, respond=respond, line=self.where.line(*here))

    def match(self, label: str, data: object, here: tuple[str | int, ...]) -> Match:
        if not isinstance(data, dict):
            raise self.fail(f'{label}: "match" must be an object', *here)
        for key, value in data.items():
            if key not in _MATCH_KEYS:
                raise self.fail(
                    f"{label}: unknown match key {key!r} (known: {', '.join(_MATCH_KEYS)})",
                    *here,
                    key,
                )
            if key != "attempts" and not isinstance(value, str):
                raise self.fail(f"{label}: match {key!r} must be a string", *here, key)
        attempts = data.get("attempts")
        wanted: frozenset[int] | None = None
        if attempts is not None:
            if (
                not isinstance(attempts, list)
                or not attempts
                or not all(
                    isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in attempts
                )
            ):
                raise self.fail(
                    f'{label}: "attempts" must be a list of delivery numbers (1 = first), '
                    "e.g. [1, 2]",
                    *here,
                    "attempts",
                )
            wanted = frozenset(attempts)
        path = data.get("path")
        if path is not None and not path.startswith(("/", "*")):
            raise self.fail(
                f'{label}: match "path" must start with / (got {path!r})', *here, "path"
            )
        method = data.get("method")
        return Match(
            path=path,
            method=method.upper() if method is not None else None,
            event=data.get("event"),
            entity_type=data.get("entity_type"),
            attempts=wanted,
        )

    def respond(self, label: str, data: object, here: tuple[str | int, ...]) -> Respond:
        if not isinstance(data, dict):
            raise self.fail(f'{label}: "respond" must be an object', *here)
        for key in data:
            if key not in _RESPOND_KEYS:
                raise self.fail(
                    f"{label}: unknown respond key {key!r} (known: {', '.join(_RESPOND_KEYS)})",
                    *here,
                    key,
                )
        status = data.get("status", 200)
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            raise self.fail(
                f'{label}: "status" must be an HTTP status from 200 to 599', *here, "status"
            )
        delay = data.get("delay_ms", 0)
        if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY_MS:
            raise self.fail(
                f'{label}: "delay_ms" must be a whole number of milliseconds from 0 to '
                f"{MAX_DELAY_MS:,}",
                *here,
                "delay_ms",
            )
        close = data.get("close", False)
        if not isinstance(close, bool):
            raise self.fail(f'{label}: "close" must be true or false', *here, "close")
        body = data.get("body", "")
        if isinstance(body, str):
            raw = body.encode("utf-8")
        elif isinstance(body, dict | list):
            raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
        else:
            raise self.fail(f'{label}: "body" must be a string (or a JSON object)', *here, "body")
        return Respond(
            status, self.headers(label, data.get("headers", []), here), raw, delay, close
        )

    def headers(self, label: str, data: object, here: tuple[str | int, ...]) -> Headers:
        problem = f'{label}: "headers" must be a list of [name, value] pairs of strings'
        if not isinstance(data, list):
            raise self.fail(problem, *here, "headers")
        pairs: list[tuple[str, str]] = []
        for item in data:
            if not (
                isinstance(item, list)
                and len(item) == 2
                and all(isinstance(part, str) for part in item)
            ):
                raise self.fail(problem, *here, "headers")
            name, value = item
            if not name or not set(name) <= _TOKEN:
                raise self.fail(f"{label}: {name!r} is not a valid header name", *here, "headers")
            if any(c in value for c in "\r\n\0"):
                raise self.fail(
                    f"{label}: the value of header {name!r} has a line break", *here, "headers"
                )
            if name.lower() in ("content-length", "transfer-encoding"):
                raise self.fail(
                    f"{label}: header {name!r} is set by the listener from the body; leave it out",
                    *here,
                    "headers",
                )
            pairs.append((name, value))
        return tuple(pairs)


def parse_rules(text: str, source: str = "rules file") -> RuleSet:
    """The rules in ``text``; RulesError with the line and the reason when unusable."""
    if not text.strip():
        return NO_RULES
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(
            f"{source}, line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}). "
            "Fix the rules file; until then the previous rules (or none) stay in force.",
            exc.lineno,
        ) from None
    parser = _Parser(text, source)
    if not isinstance(data, dict):
        raise parser.fail('the file must be an object: {"rules": [...]}')
    for key in data:
        if key != "rules":
            raise parser.fail(f'unknown top-level key {key!r}: the file is {{"rules": [...]}}', key)
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise parser.fail('"rules" must be a list of rules', "rules")
    names: set[str] = set()
    return RuleSet(tuple(parser.rule(i, rule, names) for i, rule in enumerate(rules)))


def load_rules(path: Path) -> RuleSet:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(
            f"The rules file {path} does not exist: check the path, or create it "
            '(an empty one is {"rules": []}).'
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"Cannot read the rules file {path}: {exc}. Check the file.") from None
    return parse_rules(text, str(path))


class RulesFile:
    """A rules file the listener follows: re-read when it changes (a stat per check), so
    the window's rules editor and a text editor both apply without a restart.

    ``required``: the file must exist at start (``--rules FILE``); otherwise a missing file
    simply means no rules (the window's ``rules.json`` before anything was saved).
    """

    def __init__(self, path: Path, *, required: bool = True) -> None:
        self.path = Path(path)
        self.required = required
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self.current: RuleSet = NO_RULES

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load(self) -> RuleSet:
        """Read the file now (at start): RulesError when it is unusable."""
        with self._lock:
            stamp = self._stat()
            if stamp is None and not self.required:
                self._stamp, self.current = None, NO_RULES
                return self.current
            self.current = load_rules(self.path)
            self._stamp = stamp
            return self.current

    def reload_if_changed(self) -> bool:
        """Re-read a changed file; True if the rules were replaced. RulesError (keeping the
        current rules) when the changed file is unusable."""
        with self._lock:
            stamp = self._stat()
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            self.current = NO_RULES if stamp is None else load_rules(self.path)
            return True


def rules_text(rules: Sequence[dict[str, Any]]) -> str:
    """A rules file for the given rule objects, one rule per line group (the editor's
    starting point)."""
    return json.dumps({"rules": list(rules)}, indent=2) + "\n"
