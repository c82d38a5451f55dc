"""One GraphQL request as Fluent takes it: its JSON payload, and a cURL command reproducing it."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from inspector.core.fluent.profiles import Profile

__all__ = ["curl_command", "is_mutation", "request_payload"]


def is_mutation(query: str, operation_name: str | None) -> bool:
    """Whether the operation that would run is a mutation (those are never resent on 5xx)."""
    # Imported here: this module is imported with the window, which must not wait for
    # graphql-core (~0.15 s) before its first paint.
    from graphql import GraphQLSyntaxError, OperationType, parse
    from graphql.language import OperationDefinitionNode

    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return bool(definition.operation == OperationType.MUTATION)
    return False


def request_payload(
    query: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
) -> dict[str, Any]:
    """The JSON body of a GraphQL POST (one definition, shared by the client and cURL)."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = dict(variables)
    if operation_name:
        payload["operationName"] = operation_name
    return payload


def curl_command(
    profile: Profile,
    query: str,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> str:
    """A shell command reproducing a GraphQL call, with the token left as a placeholder."""
    payload = request_payload(query, variables, operation_name)
    profile = profile.validated()
    return " ".join(
        [
            "curl",
            "-X POST",
            shlex.quote(profile.graphql_url),
            "-H",
            shlex.quote("Authorization: Bearer $FLUENT_TOKEN"),
            "-H",
            shlex.quote("Content-Type: application/json"),
            "--data",
            shlex.quote(json.dumps(payload)),
        ]
    )
