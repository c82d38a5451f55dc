"""The sandbox's one error type, in its own module so every sandbox module can raise it."""

from __future__ import annotations

from inspector.core.errors import SandboxError

__all__ = ["SandboxError"]
