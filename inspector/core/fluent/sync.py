"""A blocking facade over :class:`~.client.FluentClient`, for the CLI and worker threads."""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Mapping
from typing import Any

from inspector.core.fluent.client import FluentClient
from inspector.core.fluent.profiles import Profile
from inspector.core.fluent.result import GraphQLResult
from inspector.core.fluent.runner import ApiRunner
from inspector.core.secrets import SecretStore

__all__ = ["SyncFluentClient"]


class SyncFluentClient:
    """Blocking facade over :class:`FluentClient` for the CLI and worker threads."""

    def __init__(
        self,
        profile: Profile,
        secrets: SecretStore,
        *,
        runner: ApiRunner | None = None,
        **client_kwargs: Any,
    ) -> None:
        self._own_runner = runner is None
        self.runner = runner if runner is not None else ApiRunner()
        self.client = FluentClient(profile, secrets, **client_kwargs)

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> GraphQLResult:
        return self.runner.run(self.client.execute(query, variables, operation_name))

    def submit_execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> concurrent.futures.Future[GraphQLResult]:
        return self.runner.submit(self.client.execute(query, variables, operation_name))

    def introspect(self, *, refresh: bool = False) -> dict[str, Any]:
        return self.runner.run(self.client.introspect(refresh=refresh))

    def access_token(self) -> str:
        return self.runner.run(self.client.access_token())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.runner.run(self.client.aclose(), timeout=5)
        if self._own_runner:
            self.runner.close()

    def __enter__(self) -> SyncFluentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
