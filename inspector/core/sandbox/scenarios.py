"""What the sandbox can play: a registry of named scenarios, each a coroutine over a :class:`Stage`.

A scenario changes the demo data as an order moves along and sends one webhook per step, so
a follow-up query made after a webhook sees the state the webhook announced. Adding one is
writing a coroutine and decorating it with :func:`scenario`; the CLI and the sandbox read
names and descriptions from :data:`SCENARIOS`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from inspector.core.sandbox.data import DemoData, timestamp
from inspector.core.sandbox.errors import SandboxError
from inspector.core.sandbox.webhooks import Delivery, fluent_event, post_event

__all__ = ["RETRY_SCHEDULE", "SCENARIOS", "Scenario", "Stage", "get_scenario", "scenario"]

RETRY_SCHEDULE: Final = (0.0, 2.0, 4.0, 8.0)
"""Seconds to wait before each delivery of the retry storm (Fluent's default schedule)."""


@dataclass(slots=True)
class Stage:
    """What a scenario plays on: the account's data, and where and how to send webhooks."""

    data: DemoData
    account: str
    retailer_id: str
    session: aiohttp.ClientSession
    key: RSAPrivateKey
    url: str
    step: float
    """Scale of every pause (1.0: real time; tests pass a small value)."""
    on_delivery: Callable[[Delivery], None] | None = None
    deliveries: list[Delivery] = field(default_factory=list)

    def event(
        self, name: str, entity: Mapping[str, Any], entity_type: str, **kwargs: Any
    ) -> dict[str, Any]:
        """A Fluent event from this account; keywords as :func:`~.webhooks.fluent_event`."""
        return fluent_event(self.account, self.retailer_id, name, entity, entity_type, **kwargs)

    async def send(self, event: Mapping[str, Any], attempt: int = 1) -> None:
        delivery = await post_event(self.session, self.key, self.url, event, attempt)
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            # A broken progress callback must not stop the scenario.
            with contextlib.suppress(Exception):
                self.on_delivery(delivery)

    async def pause(self, seconds: float = 1.0) -> None:
        """Wait ``seconds`` scaled by ``step`` (the gap between two webhooks)."""
        if seconds * self.step > 0:
            await asyncio.sleep(seconds * self.step)


Play = Callable[[Stage], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    """One line, for ``sandbox --help`` and the demo."""
    play: Play


SCENARIOS: Final[dict[str, Scenario]] = {}
"""Every scenario by name, in the order they were registered."""


def scenario(name: str, description: str) -> Callable[[Play], Play]:
    """Register the decorated coroutine as scenario ``name``."""

    def register(play: Play) -> Play:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(name, description, play)
        return play

    return register


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise SandboxError(
            f"Unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}."
        ) from None


@scenario(
    "order-lifecycle",
    "An order goes CREATED -> BOOKED, a fulfilment is created, picked and shipped, and the "
    "order completes; one webhook per step, the GraphQL data changing along.",
)
async def order_lifecycle(stage: Stage) -> None:
    data = stage.data
    order = data.new_order([("TEE-BLK-M", 2), ("SOCK-3PK", 1)])
    await stage.send(stage.event("OrderCreated", order, "ORDER"))

    await stage.pause()
    order["status"] = "BOOKED"
    order["updatedOn"] = timestamp()
    for item in order["items"]:
        item["status"] = "NEW"
    await stage.send(stage.event("OrderBooked", order, "ORDER"))

    await stage.pause()
    fulfilment = data.new_fulfilment(order)
    order["status"] = "FULFILMENT_IN_PROGRESS"
    await stage.send(stage.event("FulfilmentCreated", fulfilment, "FULFILMENT", root=order))

    await stage.pause()
    data.pick(fulfilment)
    await stage.send(stage.event("FulfilmentPicked", fulfilment, "FULFILMENT", root=order))

    await stage.pause()
    data.ship(fulfilment)
    await stage.send(stage.event("FulfilmentShipped", fulfilment, "FULFILMENT", root=order))

    await stage.pause()
    fulfilment["status"] = "COMPLETE"
    order["status"] = "COMPLETE"
    order["updatedOn"] = timestamp()
    for item in order["items"]:
        item["status"] = "COMPLETE"
    await stage.send(stage.event("OrderComplete", order, "ORDER"))


@scenario("wms", "Lightweight webhooks a warehouse system gets: a fulfilment to pick and its wave.")
async def wms(stage: Stage) -> None:
    data = stage.data
    order = data.new_order([("CAP-NVY", 1)], status="BOOKED")
    fulfilment = data.new_fulfilment(order, status="AWAITING_WAVE")
    wave = data.new_wave([fulfilment])
    fulfilment["waves"].append(wave)
    await stage.send(stage.event("SendFulfilmentToWMS", fulfilment, "FULFILMENT", lightweight=True))
    await stage.pause()
    await stage.send(stage.event("WaveCreated", wave, "WAVE", lightweight=True))


@scenario(
    "carrier", "Lightweight webhooks a carrier integration gets: an article and its consignment."
)
async def carrier(stage: Stage) -> None:
    data = stage.data
    order = data.new_order([("SOCK-3PK", 2)], status="BOOKED")
    fulfilment = data.new_fulfilment(order)
    article = data.pick(fulfilment)
    fulfilment["status"] = "PACKED"
    consignment = data.ship(fulfilment)
    fulfilment["status"] = "AWAITING_COURIER_COLLECTION"
    await stage.send(stage.event("ArticleReadyForCollection", article, "ARTICLE", lightweight=True))
    await stage.pause()
    await stage.send(stage.event("ConsignmentBooked", consignment, "CONSIGNMENT", lightweight=True))


@scenario(
    "retry-storm",
    "One order event delivered four times with the same event id, on Fluent's default "
    "retry schedule (immediately, then after 2, 4 and 8 s).",
)
async def retry_storm(stage: Stage) -> None:
    order = stage.data.new_order([("TEE-BLK-M", 1)])
    event = stage.event("OrderCreated", order, "ORDER")
    for attempt, wait in enumerate(RETRY_SCHEDULE, start=1):
        await stage.pause(wait)
        await stage.send(event, attempt)
