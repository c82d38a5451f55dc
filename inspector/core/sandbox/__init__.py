"""An offline stand-in for a Fluent account: OAuth + GraphQL server and a signed webhook emitter.

* :mod:`.data`: the consistent in-memory demo dataset, shaped like Fluent's GraphQL types.
* :mod:`.schema`: ``resources/sandbox/schema.graphql`` (a faithful subset of Fluent's
  23.10.1 schema) with resolvers over the data.
* :mod:`.webhooks`: Fluent-shaped events, signed with both headers by the demo key.
* :mod:`.scenarios`: the registry of what can be played (:data:`SCENARIOS`).
* :mod:`.server`: :class:`Sandbox`, serving it all on loopback from its own thread and loop.
"""

from __future__ import annotations

from inspector.core.sandbox.errors import SandboxError
from inspector.core.sandbox.scenarios import RETRY_SCHEDULE, SCENARIOS, Scenario
from inspector.core.sandbox.schema import sandbox_schema, sandbox_schema_sdl
from inspector.core.sandbox.server import Sandbox
from inspector.core.sandbox.webhooks import Delivery, load_demo_private_key

__all__ = [
    "RETRY_SCHEDULE",
    "SCENARIOS",
    "Delivery",
    "Sandbox",
    "SandboxError",
    "Scenario",
    "load_demo_private_key",
    "sandbox_schema",
    "sandbox_schema_sdl",
]
