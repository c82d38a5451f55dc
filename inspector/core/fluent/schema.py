"""GraphQL schemas for completion and validation: from introspection, cached, or bundled.

* :func:`schema_from_introspection` builds a client schema from an account's introspection
  (Fluent's own, patched where graphql-core is stricter than Fluent).
* :class:`SchemaCache` keeps each profile's introspection on disk, so the editor does not
  introspect on every start.
* :func:`bundled_schema` is Fluent's real 23.10.1 schema, shipped with the inspector: the
  fallback until (or unless) an account's own introspection answers.
"""

from __future__ import annotations

import copy
import gzip
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from inspector.core.errors import QueryTemplateError
from inspector.core.resources import resource_path

if TYPE_CHECKING:
    # graphql-core (~0.15 s to import) loads when a schema is built, not with this module:
    # the window imports it at start for its constants and cache, before any schema is needed.
    from graphql import GraphQLSchema

__all__ = [
    "BUNDLED_SCHEMA_LABEL",
    "SCHEMAS_DIRNAME",
    "SchemaCache",
    "bundled_schema",
    "bundled_schema_introspection",
    "schema_from_introspection",
]

log = logging.getLogger(__name__)

SCHEMAS_DIRNAME: Final = "schemas"


def _relax_deprecations(data: dict[str, Any]) -> None:
    # Fluent's schema deprecates Payment.workflowRef (and a few others) while the
    # interface field stays live; graphql-core >= 3.3 then refuses the whole schema.
    # Un-deprecating the implementation keeps every name and type as Fluent has it.
    types = {t.get("name"): t for t in data.get("__schema", {}).get("types", [])}
    for type_ in types.values():
        if type_.get("kind") != "OBJECT" or not type_.get("interfaces"):
            continue
        live: set[str] = set()
        for ref in type_["interfaces"]:
            iface = types.get(ref.get("name"), {})
            live.update(f["name"] for f in iface.get("fields") or [] if not f.get("isDeprecated"))
        for field in type_.get("fields") or []:
            if field.get("isDeprecated") and field.get("name") in live:
                field["isDeprecated"] = False
                field["deprecationReason"] = None


def schema_from_introspection(introspection: Mapping[str, Any]) -> GraphQLSchema:
    """Build a schema usable for validation/completion from an introspection result.

    Accepts the ``data`` object (``{"__schema": ...}``) or the whole response
    (``{"data": {"__schema": ...}}``). Raises :class:`QueryTemplateError` when it is not one.
    """
    data: Any = introspection.get("data", introspection)
    if not isinstance(data, Mapping) or not isinstance(data.get("__schema"), Mapping):
        raise QueryTemplateError(
            "The schema file is not a GraphQL introspection result (no __schema); "
            "fetch the schema again."
        )
    patched = copy.deepcopy(dict(data))
    _relax_deprecations(patched)
    try:
        from graphql import build_client_schema

        return build_client_schema(cast(Any, patched))
    except (TypeError, ValueError, KeyError) as exc:
        raise QueryTemplateError(
            f"The introspected schema could not be read ({exc}); fetch the schema again."
        ) from exc


#: How the editor names the bundled schema, so users know completion may differ from their account.
BUNDLED_SCHEMA_LABEL = "Fluent 23.10.1 (bundled)"
_BUNDLED_SCHEMA_FILE = ("fluent", "schema-23.10.1.introspection.json.gz")


def bundled_schema_introspection() -> dict[str, Any]:
    """The introspection result (``{"data": {"__schema": ...}}``) of Fluent 23.10.1.

    Shipped gzip-compressed (80 KB instead of 2.2 MB) from the MIT-licensed fluent-dts
    project; see ``resources/fluent/LICENSE-fluent-dts``. A fresh dict each call.
    """
    with gzip.open(resource_path(*_BUNDLED_SCHEMA_FILE), "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def bundled_schema() -> GraphQLSchema:
    """Fluent's real 23.10.1 schema: the fallback for completion and validation until (or
    unless) the account's own introspection answers. Built once per process (~0.3 s)."""
    return schema_from_introspection(bundled_schema_introspection())


class SchemaCache:
    """One profile's introspection ``data`` in ``<data_dir>/schemas/<profile>.json``.

    The entry remembers the base URL it came from: a profile pointed elsewhere (a new demo
    sandbox, another account) does not get the old account's schema.
    """

    def __init__(self, data_dir: Path, profile_name: str) -> None:
        self.path = Path(data_dir) / SCHEMAS_DIRNAME / f"{profile_name}.json"

    def read(self, base_url: str) -> dict[str, Any] | None:
        try:
            cached = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(cached, dict)
            or cached.get("base_url") != base_url
            or not isinstance(cached.get("data"), dict)
        ):
            return None
        data: dict[str, Any] = cached["data"]
        return data

    def write(self, base_url: str, data: dict[str, Any]) -> None:
        payload = {
            "base_url": base_url,
            "fetched_at": datetime.now(UTC).isoformat(),
            "data": data,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            # A cache that cannot be written only costs a re-fetch next time.
            log.warning("could not cache the schema at %s: %s", self.path, exc)
