"""The sandbox's one error type, in its own module so every sandbox module can raise it."""

from __future__ import annotations

from inspector.core.errors import InspectorError

__all__ = ["SandboxError"]


class SandboxError(InspectorError):
    """The sandbox could not start, or a scenario could not run."""
