"""One GraphQL answer as the client returns it: partial data and errors together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.core.fluent.errors import GraphQLResponseError, explain_error

__all__ = ["GraphQLResult"]


@dataclass(frozen=True, slots=True)
class GraphQLResult:
    """One GraphQL answer: partial ``data`` and ``errors`` together, as Fluent sends them."""

    data: Any
    errors: tuple[Mapping[str, Any], ...]
    status: int
    elapsed: float
    """Seconds for the whole call, including any token request and retries."""
    size: int
    """Response body size in bytes."""
    body: bytes = field(default=b"", repr=False, compare=False)
    """The response body exactly as it came (the Raw tab shows these bytes, so its size and
    the status line's are one number); empty for results rebuilt from history."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def explanations(self) -> list[str]:
        """Explanations of the known Fluent codes among the errors, in order, no duplicates."""
        seen: list[str] = []
        for error in self.errors:
            text = explain_error(error)
            if text and text not in seen:
                seen.append(text)
        return seen

    def error_summary(self) -> str:
        messages = [str(e.get("message", "(no message)")) for e in self.errors]
        head = "; ".join(messages[:3]) + (
            f" (+{len(messages) - 3} more)" if len(messages) > 3 else ""
        )
        extra = " ".join(self.explanations())
        return f"{head} {extra}".strip()

    def raise_for_errors(self) -> None:
        if self.errors:
            partial = " Partial data was returned." if self.data else ""
            raise GraphQLResponseError(
                f"The GraphQL API returned {len(self.errors)} error(s): "
                f"{self.error_summary()}{partial}",
                self,
            )
