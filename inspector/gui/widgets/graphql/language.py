"""The GraphQL language the editor needs, without Qt: validation and tolerant completion.

Validation parses and validates the text with graphql-core against a schema; errors carry
line:column. Completion works on a tolerant scan of the text before the cursor: it follows
the braces to find the enclosing selection path, resolves the types from the root operation
type, and offers the fields of that type, the arguments of the field whose parentheses
hold the cursor, or - inside an argument's value - the input object's fields and the enum
values that fit there. It therefore works on the half-written, invalid queries people
complete. Items come in case-insensitive order; the editor filters them by the typed prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphql import GraphQLError, GraphQLSchema

# graphql-core (~0.15 s to import) is imported inside the functions that use it: the editor
# is built with the window, and its first paint must not wait for it.

__all__ = [
    "PREFIX",
    "CompletionContext",
    "Diagnostic",
    "completion_context",
    "diagnose",
    "operation_at",
    "utf16",
]


def utf16(text: str, index: int) -> int:
    """Qt counts UTF-16 code units; Python counts code points."""
    prefix = text[:index]
    if prefix.isascii():
        return index
    return len(prefix.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in the query text, at a 1-based line and column (code points)."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.message}"


def _diagnostics_from(error: GraphQLError) -> list[Diagnostic]:
    message = error.message
    locations = error.locations or []
    if not locations:
        return [Diagnostic(1, 1, message)]
    return [Diagnostic(loc.line, loc.column, message) for loc in locations[:1]]


def diagnose(text: str, schema: GraphQLSchema | None) -> list[Diagnostic]:
    """Syntax errors always; schema errors (unknown fields, wrong arguments...) with a schema."""
    from graphql import GraphQLError, parse, validate

    if not text.strip():
        return []
    try:
        document = parse(text)
    except GraphQLError as error:
        return _diagnostics_from(error)
    if schema is None:
        return []
    try:
        errors = validate(schema, document)
    except (GraphQLError, TypeError) as exc:
        return [Diagnostic(1, 1, f"could not validate: {exc}")]
    found: list[Diagnostic] = []
    for problem in errors:
        found.extend(_diagnostics_from(problem))
    return sorted(found, key=lambda d: (d.line, d.column))


# --------------------------------------------------------------------------------------
# Completion

_SCAN = re.compile(
    r'(?P<ws>[\s,]+)|(?P<comment>#[^\n]*)|(?P<blockstring>"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$))'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"?)|(?P<spread>\.\.\.)|(?P<name>[_A-Za-z][_0-9A-Za-z]*)'
    r"|(?P<number>-?\d[\d.eE+-]*)|(?P<punct>[!$&()\[\]{}|:=@.])|(?P<other>.)",
    re.DOTALL,
)
_OPERATIONS = ("query", "mutation", "subscription")
PREFIX = re.compile(r"[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True, slots=True)
class CompletionContext:
    """What may be typed at a cursor: ``items`` to offer, ``prefix`` already typed."""

    items: tuple[str, ...]
    prefix: str
    kind: str
    """"field", "argument", "input field", "value", "type", "keyword" or "" (nothing)."""
    parent_type: str = ""
    """The type whose fields (or the field whose arguments, or the input or enum type whose
    fields or values) are offered."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for match in _SCAN.finditer(text):
        kind = match.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind in ("string", "blockstring", "number"):
            out.append("<value>")
        else:
            out.append(match.group())
    return out


def _fields_of(type_: Any) -> dict[str, Any]:
    from graphql import GraphQLInterfaceType, GraphQLObjectType

    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        return dict(type_.fields)
    return {}


def _ordered(names: Any) -> list[str]:
    # Case-insensitive, as people read (and as the completer matches) them.
    return sorted(names, key=lambda name: (name.casefold(), name))


def _value_key(tokens: list[str], index: int) -> str | None:
    """The argument or input field whose value the ``{`` / ``[`` at ``index`` opens."""
    if index >= 2 and tokens[index - 1] == ":":
        return tokens[index - 2]
    return None


def completion_context(
    schema: GraphQLSchema | None, text: str, offset: int | None = None
) -> CompletionContext:
    """What to offer at ``offset`` (default: end of ``text``) in a possibly invalid query."""
    from graphql import (
        GraphQLInputObjectType,
        GraphQLInterfaceType,
        GraphQLObjectType,
        GraphQLUnionType,
    )

    before = text if offset is None else text[:offset]
    match = PREFIX.search(before)
    prefix = ""
    if match is not None and (match.start() == 0 or before[match.start() - 1] != "$"):
        prefix = match.group()
        before = before[: match.start()]
    elif match is not None:
        return CompletionContext((), match.group(), "")
    if schema is None:
        return CompletionContext((), prefix, "")
    tokens = _tokens(before)

    # Frames: ("brace", descriptor) for selection sets, ("object", None) for object values,
    # ("paren", owner) for arguments / variable definitions, ("bracket", None) for lists.
    frames: list[tuple[str, Any]] = []
    opened: dict[int, int] = {}
    paren_starts: list[int] = []
    for index, token in enumerate(tokens):
        if token == "(":
            paren_starts.append(index)
            owner = tokens[index - 1] if index else ""
            is_directive = index >= 2 and tokens[index - 2] == "@"
            in_selection = any(kind == "brace" for kind, _ in frames)
            frames.append(
                ("paren", (owner, "directive" if is_directive else "field", in_selection))
            )
        elif token == ")":
            if paren_starts:
                opened[index] = paren_starts.pop()
            if frames and frames[-1][0] == "paren":
                frames.pop()
        elif token == "[":
            frames.append(("bracket", _value_key(tokens, index)))
        elif token == "]":
            if frames and frames[-1][0] == "bracket":
                frames.pop()
        elif token == "{":
            if frames and frames[-1][0] in ("paren", "object", "bracket"):
                frames.append(("object", _value_key(tokens, index)))
            else:
                frames.append(("brace", _selection_owner(tokens, index, opened, frames)))
        elif token == "}" and frames and frames[-1][0] in ("brace", "object"):
            frames.pop()

    parent = _resolve(schema, [d for kind, d in frames if kind == "brace"])
    last = tokens[-1] if tokens else ""
    top = frames[-1] if frames else None

    if top is not None and top[0] in ("paren", "object", "bracket"):
        return _in_arguments(schema, parent, frames, tokens, prefix)

    if top is None or top[0] != "brace":
        if not tokens or last == "}":
            return CompletionContext((*_OPERATIONS, "fragment"), prefix, "keyword")
        return CompletionContext((), prefix, "")
    if last == "on":
        names = sorted(
            name
            for name, t in schema.type_map.items()
            if not name.startswith("__")
            and isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        )
        return CompletionContext(tuple(names), prefix, "type")
    if last == "...":
        return CompletionContext(("on",), prefix, "keyword")
    if parent is None:
        return CompletionContext((), prefix, "")
    names = _ordered(_fields_of(parent))
    if not isinstance(parent, GraphQLInputObjectType):
        names.append("__typename")  # last: it is rarely what one looks for
    return CompletionContext(tuple(names), prefix, "field", parent.name)


def _in_arguments(
    schema: GraphQLSchema,
    parent: Any,
    frames: list[tuple[str, Any]],
    tokens: list[str],
    prefix: str,
) -> CompletionContext:
    """Inside parentheses: argument names, or within an argument's value the input fields
    (``catalogue: { ref: … }``) and enum values that fit at the cursor."""
    from graphql import (
        GraphQLInputObjectType,
        GraphQLInterfaceType,
        GraphQLObjectType,
        GraphQLUnionType,
        get_named_type,
    )

    last = tokens[-1] if tokens else ""
    start = max(i for i, (kind, _) in enumerate(frames) if kind == "paren")
    owner, owner_kind, in_selection = frames[start][1]
    if not in_selection:
        # Variable definitions: after "$name:" comes an input type.
        if last == ":" and start == len(frames) - 1:
            names = _ordered(
                name
                for name, t in schema.type_map.items()
                if not name.startswith("__")
                and not isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
                and not isinstance(t, GraphQLUnionType)
            )
            return CompletionContext(tuple(names), prefix, "type")
        return CompletionContext((), prefix, "")
    if owner_kind == "directive":
        directive = schema.get_directive(owner)
        scope: dict[str, Any] = dict(directive.args) if directive is not None else {}
        scope_name = f"@{owner}"
    else:
        field = _fields_of(parent).get(owner)
        scope = dict(field.args) if field is not None else {}
        scope_name = f"{getattr(parent, 'name', '')}.{owner}"
    # Walk into the value: each "{" or "[" after "name:" is that argument's (or input
    # field's) value; a "{" in a list is one element of the list's type.
    element: Any = None
    for kind, key in frames[start + 1 :]:
        if key is not None:
            entry = scope.get(key)
            element = get_named_type(entry.type) if entry is not None else None
        if kind == "object":
            is_input = isinstance(element, GraphQLInputObjectType)
            scope = dict(element.fields) if is_input else {}
            scope_name = element.name if is_input else ""
    if last == ":":
        entry = scope.get(tokens[-2]) if len(tokens) >= 2 else None
        return _values(get_named_type(entry.type) if entry is not None else None, prefix)
    if frames[-1][0] == "bracket":
        return _values(element, prefix)
    kind = "argument" if start == len(frames) - 1 else "input field"
    return CompletionContext(tuple(_ordered(scope)), prefix, kind, scope_name)


def _values(type_: Any, prefix: str) -> CompletionContext:
    """The literal values one can type for ``type_``: enum values, or true/false."""
    from graphql import GraphQLEnumType

    if isinstance(type_, GraphQLEnumType):
        return CompletionContext(tuple(_ordered(type_.values)), prefix, "value", type_.name)
    if getattr(type_, "name", "") == "Boolean":
        return CompletionContext(("false", "true"), prefix, "value", "Boolean")
    return CompletionContext((), prefix, "")


def _selection_owner(
    tokens: list[str], index: int, opened: dict[int, int], frames: list[tuple[str, Any]]
) -> tuple[str, str]:
    """What the ``{`` at ``index`` selects on: ("op", kind), ("type", T) or ("field", f)."""
    j = index - 1
    while j >= 0:
        if tokens[j] == ")" and j in opened:
            j = opened[j] - 1
            continue
        if j >= 1 and tokens[j - 1] == "@":  # a directive: skip it
            j -= 2
            continue
        break
    at_top = not any(kind == "brace" for kind, _ in frames)
    if j < 0:
        return ("op", "query")
    word = tokens[j]
    before = tokens[j - 1] if j >= 1 else ""
    if at_top:
        if word in _OPERATIONS:
            return ("op", word)
        if before in _OPERATIONS:
            return ("op", before)
        if before == "on":
            return ("type", word)
        return ("op", "query")
    if before == "on":
        return ("type", word)
    if word == "...":
        return ("same", "")
    return ("field", word)


def _resolve(schema: GraphQLSchema, path: list[tuple[str, str]]) -> Any:
    from graphql import get_named_type

    current: Any = None
    for kind, name in path:
        if kind == "op":
            current = {
                "query": schema.query_type,
                "mutation": schema.mutation_type,
                "subscription": schema.subscription_type,
            }.get(name)
        elif kind == "type":
            current = schema.get_type(name)
        elif kind == "field":
            field = _fields_of(current).get(name)
            current = get_named_type(field.type) if field is not None else None
        # "same": an inline fragment without a type condition keeps the type.
    return current


def operation_at(query: str, position: int) -> str | None:
    """With several operations in ``query``, the name of the one holding ``position``.

    None when there is only one (the server picks it) or the text does not parse.
    """
    from graphql import GraphQLError, OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) < 2:
        return None
    for operation in operations:
        loc = operation.loc
        if loc is not None and loc.start <= position <= loc.end and operation.name:
            return str(operation.name.value)
    first = operations[0]
    return str(first.name.value) if first.name else None
