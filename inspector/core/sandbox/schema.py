"""The sandbox's GraphQL schema and its resolvers over :class:`~.data.DemoData`.

``resources/sandbox/schema.graphql`` is a faithful subset of Fluent's 23.10.1 schema (a test
checks it against the bundled real one); every root field resolves from the demo data,
every other field reads its key, and ``*Connection`` fields paginate like Fluent's.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
)

from inspector.core.resources import resource_path
from inspector.core.sandbox.data import DemoData
from inspector.core.sandbox.errors import SandboxError

__all__ = ["resolved_schema", "sandbox_schema", "sandbox_schema_sdl"]


def sandbox_schema_sdl() -> str:
    return resource_path("sandbox", "schema.graphql").read_text(encoding="utf-8")


def sandbox_schema() -> GraphQLSchema:
    """The sandbox schema without resolvers (for validation and subset checks)."""
    return build_schema(sandbox_schema_sdl())


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode("ascii")


def _index(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode("ascii")
        return int(text.removeprefix("cursor:"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError(f"Invalid cursor {cursor!r}") from exc


def _connection(field_name: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **args: Any) -> dict[str, Any]:
        items = source.get(field_name, []) if isinstance(source, Mapping) else []
        for key in ("ref", "status"):
            wanted = args.get(key)
            if wanted:
                items = [i for i in items if i.get(key) in wanted]
        indexed = list(enumerate(items))
        after, before = _index(args.get("after")), _index(args.get("before"))
        if after is not None:
            indexed = [(i, n) for i, n in indexed if i > after]
        if before is not None:
            indexed = [(i, n) for i, n in indexed if i < before]
        has_next = has_previous = False
        first, last = args.get("first"), args.get("last")
        if first is not None:
            if first < 0 or first > 5000:
                raise GraphQLError("first must be between 0 and 5000")
            has_next = len(indexed) > first
            indexed = indexed[:first]
        if last is not None:
            has_previous = len(indexed) > last
            indexed = indexed[-last:] if last else []
        return {
            "edges": [{"node": node, "cursor": _cursor(i)} for i, node in indexed],
            "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_previous},
        }

    return resolve


def resolved_schema(data: DemoData, denied: Mapping[str, str]) -> GraphQLSchema:
    """The sandbox schema answering from ``data``.

    ``denied`` maps ``Type.field`` to a permission name; it is read on every resolve, so the
    caller's later changes (``Sandbox.deny_field``) take effect at once.
    """
    schema = sandbox_schema()

    def by_id(table: Callable[[], Mapping[str, Any]]) -> Callable[..., Any]:
        return lambda _root, _info, id: table().get(str(id))

    def by_ref(table: Callable[[], Mapping[str, Any]]) -> Callable[..., Any]:
        def resolve(_root: Any, _info: Any, **args: Any) -> Any:
            values = table()
            if args.get("ref") is not None:
                return next((v for v in values.values() if v["ref"] == args["ref"]), None)
            if args.get("id") is not None:
                return values.get(str(args["id"]))
            return None

        return resolve

    def in_catalogue(table: Callable[[], Mapping[str, Any]]) -> Callable[..., Any]:
        def resolve(_root: Any, _info: Any, ref: str, catalogue: Mapping[str, Any]) -> Any:
            item = table().get(ref)
            if item is None or item["catalogue"]["ref"] != catalogue.get("ref"):
                return None
            return item

        return resolve

    def return_order(_root: Any, _info: Any, ref: str, retailer: Mapping[str, Any]) -> Any:
        found = data.return_orders.get(ref)
        if found is None or str(found["retailer"]["id"]) != str(retailer.get("id")):
            return None
        return found

    def root_list(table: Callable[[], Mapping[str, Any]], name: str) -> Callable[..., Any]:
        paginate = _connection(name)
        return lambda root, info, **args: paginate({name: list(table().values())}, info, **args)

    roots: dict[str, Callable[..., Any]] = {
        "orderById": by_id(lambda: data.orders),
        "order": by_ref(lambda: data.orders),
        "orders": root_list(lambda: data.orders, "orders"),
        "fulfilmentById": by_id(lambda: data.fulfilments),
        "articleById": by_id(lambda: data.articles),
        "consignmentById": by_id(lambda: data.consignments),
        "carrierById": by_id(lambda: data.carriers),
        "customerById": by_id(lambda: data.customers),
        "locationById": by_id(lambda: data.locations),
        "location": by_ref(lambda: data.locations),
        "waveById": by_id(lambda: data.waves),
        "fulfilmentOptionById": by_id(lambda: data.options),
        "fulfilmentPlanById": by_id(lambda: data.plans),
        "retailerById": lambda _r, _i, id: (
            data.retailer if str(id) == data.retailer["id"] else None
        ),
        "inventoryCatalogue": lambda _r, _i, ref: (
            data.inventory_catalogue if ref == data.inventory_catalogue["ref"] else None
        ),
        "inventoryPosition": in_catalogue(lambda: data.positions),
        "inventoryPositions": root_list(lambda: data.positions, "inventoryPositions"),
        "inventoryQuantity": in_catalogue(lambda: data.quantities),
        "returnOrder": return_order,
    }
    query_type = schema.query_type
    assert query_type is not None
    for name, resolver in roots.items():
        query_type.fields[name].resolve = resolver
    missing = set(query_type.fields) - set(roots)
    if missing:
        raise SandboxError(f"sandbox schema has query fields without data: {sorted(missing)}")
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_ is query_type:
            continue
        if type_.name.startswith("__"):
            continue
        for field_name, field_def in type_.fields.items():
            _wire_field(type_.name, field_name, field_def, denied)
    return schema


def _wire_field(
    type_name: str, field_name: str, field_def: GraphQLField, denied: Mapping[str, str]
) -> None:
    named = get_named_type(field_def.type)
    base: Callable[..., Any] | None = None
    if named is not None and named.name.endswith("Connection"):
        base = _connection(field_name)
    key = f"{type_name}.{field_name}"

    def resolve(source: Any, info: Any, **args: Any) -> Any:
        permission = denied.get(key)
        if permission is not None:
            raise GraphQLError(
                f"C0020E: Permission denied. Missing permissions: [{permission}]",
                extensions={"code": "C0020E"},
            )
        if base is not None:
            return base(source, info, **args)
        return source.get(field_name) if isinstance(source, Mapping) else None

    field_def.resolve = resolve
