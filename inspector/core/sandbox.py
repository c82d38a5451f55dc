"""An offline stand-in for a Fluent account: OAuth + GraphQL server and a signed webhook emitter.

:class:`Sandbox` serves, on loopback, ``/oauth/token`` (password and single-use refresh
grants) and ``/graphql`` (graphql-core over ``resources/sandbox/schema.graphql``, a faithful
subset of Fluent's 23.10.1 schema) from a consistent in-memory demo dataset. Its scenarios
post webhooks signed with both headers by the demo key to any URL, changing the data as an
order moves along, so follow-up queries see the new state.

It runs on its own thread and event loop, like the listener; test hooks force 401/429/500,
slow answers, GraphQL errors and permission errors that leave partial data.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import itertools
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    graphql,
)

from inspector.core.errors import InspectorError
from inspector.core.resources import resource_path
from inspector.core.signatures import sign_headers

__all__ = [
    "RETRY_SCHEDULE",
    "SCENARIOS",
    "Delivery",
    "Sandbox",
    "SandboxError",
    "load_demo_private_key",
    "sandbox_schema",
    "sandbox_schema_sdl",
]

log = logging.getLogger(__name__)

SCENARIOS: Final[Mapping[str, str]] = {
    "order-lifecycle": (
        "An order goes CREATED -> BOOKED, a fulfilment is created, picked and shipped, and the "
        "order completes; one webhook per step, the GraphQL data changing along."
    ),
    "wms": "Lightweight webhooks a warehouse system gets: a fulfilment to pick and its wave.",
    "carrier": "Lightweight webhooks a carrier integration gets: an article and its consignment.",
    "retry-storm": (
        "One order event delivered four times with the same event id, on Fluent's default "
        "retry schedule (immediately, then after 2, 4 and 8 s)."
    ),
}

RETRY_SCHEDULE: Final = (0.0, 2.0, 4.0, 8.0)
"""Seconds to wait before each delivery of the retry storm (Fluent's default schedule)."""

DEFAULT_CLIENT_ID: Final = "sandbox"
DEFAULT_CLIENT_SECRET: Final = "sandbox-secret"
DEFAULT_USERNAME: Final = "demo"
DEFAULT_PASSWORD: Final = "demo"


class SandboxError(InspectorError):
    """The sandbox could not start, or a scenario could not run."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook the sandbox posted."""

    event_id: str
    name: str
    entity_type: str
    entity_id: str
    attempt: int
    status: int | None
    """HTTP status of the answer; None when the request failed (see ``error``)."""
    error: str | None = None
    body: bytes = field(default=b"", repr=False)
    """The exact signed bytes."""


def sandbox_schema_sdl() -> str:
    return resource_path("sandbox", "schema.graphql").read_text(encoding="utf-8")


def sandbox_schema() -> GraphQLSchema:
    """The sandbox schema without resolvers (for validation and subset checks)."""
    return build_schema(sandbox_schema_sdl())


def load_demo_private_key(path: Path | None = None) -> RSAPrivateKey:
    """The demo private key (PKCS#8 PEM) the sandbox signs webhooks with."""
    try:
        key_path = path if path is not None else resource_path("demo", "demo-private.pem")
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (FileNotFoundError, OSError, ValueError, TypeError) as exc:
        raise SandboxError(
            f"The demo signing key could not be loaded ({exc}); reinstall the inspector or "
            "pass a key to the sandbox."
        ) from exc
    if not isinstance(key, RSAPrivateKey):
        raise SandboxError("The demo signing key is not an RSA key; replace it with an RSA key.")
    return key


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _attrs(**values: Any) -> list[dict[str, Any]]:
    kinds = {str: "STRING", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN"}
    return [{"name": k, "type": kinds.get(type(v), "JSON"), "value": v} for k, v in values.items()]


@dataclass(slots=True)
class _Fault:
    status: int
    times: int
    retry_after: float | None
    body: dict[str, Any] | None


class _Data:
    """The demo account. Entities are dicts shaped like the GraphQL types, linked directly."""

    def __init__(self, retailer_id: str) -> None:
        self._ids = itertools.count(10001)
        self.retailer: dict[str, Any] = {
            "id": retailer_id,
            "ref": "DEMO_RETAILER",
            "tradingName": "Demo Outfitters",
        }
        self.customer: dict[str, Any] = {
            "id": "5001",
            "ref": "jane.doe@example.com",
            "firstName": "Jane",
            "lastName": "Doe",
            "primaryEmail": "jane.doe@example.com",
            "primaryPhone": "+61 400 000 000",
        }
        self.customers = {self.customer["id"]: self.customer}
        self.carrier: dict[str, Any] = {"id": "30", "ref": "DEMO_POST", "name": "Demo Post"}
        self.carriers = {self.carrier["id"]: self.carrier}
        self.products: dict[str, dict[str, Any]] = {
            ref: {"__typename": "StandardProduct", "ref": ref, "name": name, "price": price}
            for ref, name, price in (
                ("TEE-BLK-M", "Organic tee, black, M", 39.0),
                ("CAP-NVY", "Cap, navy", 25.0),
                ("SOCK-3PK", "Socks, 3 pack", 15.0),
            )
        }
        self.locations: dict[str, dict[str, Any]] = {}
        for loc_id, ref, name, kind, city, postcode in (
            ("2001", "DC_MELBOURNE", "Melbourne DC", "WAREHOUSE", "Melbourne", "3000"),
            ("2002", "STORE_SYDNEY", "Sydney Store", "STORE", "Sydney", "2000"),
        ):
            self.locations[loc_id] = {
                "id": loc_id,
                "ref": ref,
                "type": kind,
                "status": "ACTIVE",
                "name": name,
                "supportPhoneNumber": "+61 3 9000 0000",
                "defaultCarrier": self.carrier["ref"],
                "defaultCarrierName": self.carrier["name"],
                "workflowRef": f"LOCATION::{kind}",
                "workflowVersion": 1,
                "createdOn": "2024-01-02T09:00:00.000Z",
                "updatedOn": "2024-01-02T09:00:00.000Z",
                "attributes": _attrs(openingHours="9-17"),
                "retailer": self.retailer,
                "primaryAddress": {
                    "__typename": "StoreAddress",
                    "ref": ref,
                    "name": name,
                    "street": "1 Demo Street",
                    "city": city,
                    "state": "VIC" if city == "Melbourne" else "NSW",
                    "postcode": postcode,
                    "country": "AU",
                    "latitude": -37.81 if city == "Melbourne" else -33.87,
                    "longitude": 144.96 if city == "Melbourne" else 151.21,
                    "timeZone": "Australia/Melbourne"
                    if city == "Melbourne"
                    else "Australia/Sydney",
                },
            }
        self.dc = self.locations["2001"]
        self.inventory_catalogue: dict[str, Any] = {
            "id": "3001",
            "ref": "DEFAULT:1",
            "type": "DEFAULT",
            "status": "ACTIVE",
            "name": "Default inventory",
            "description": "Demo inventory catalogue",
            "retailerRefs": [self.retailer["ref"]],
            "workflowRef": "INVENTORY_CATALOGUE::DEFAULT",
            "workflowVersion": 1,
            "createdOn": "2024-01-02T09:00:00.000Z",
            "updatedOn": "2024-01-02T09:00:00.000Z",
            "attributes": [],
        }
        self.positions: dict[str, dict[str, Any]] = {}
        self.quantities: dict[str, dict[str, Any]] = {}
        for loc in self.locations.values():
            for product in self.products.values():
                self._add_position(product["ref"], loc["ref"], 40 if loc is self.dc else 8)
        self.orders: dict[str, dict[str, Any]] = {}
        self.fulfilments: dict[str, dict[str, Any]] = {}
        self.articles: dict[str, dict[str, Any]] = {}
        self.consignments: dict[str, dict[str, Any]] = {}
        self.waves: dict[str, dict[str, Any]] = {}
        self.options: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.return_orders: dict[str, dict[str, Any]] = {}
        self._seed_history()

    def next_id(self) -> str:
        return str(next(self._ids))

    def _add_position(self, product_ref: str, location_ref: str, on_hand: int) -> None:
        ref = f"{product_ref}:{location_ref}"
        position: dict[str, Any] = {
            "id": self.next_id(),
            "ref": ref,
            "type": "DEFAULT",
            "status": "ACTIVE",
            "productRef": product_ref,
            "locationRef": location_ref,
            "onHand": on_hand,
            "workflowRef": "INVENTORY_POSITION::DEFAULT",
            "workflowVersion": 1,
            "createdOn": "2024-01-02T09:00:00.000Z",
            "updatedOn": "2024-01-02T09:00:00.000Z",
            "attributes": [],
            "catalogue": self.inventory_catalogue,
        }
        quantity: dict[str, Any] = {
            "id": self.next_id(),
            "ref": f"{ref}:LAST_ON_HAND",
            "type": "LAST_ON_HAND",
            "status": "ACTIVE",
            "quantity": on_hand,
            "condition": "NEW",
            "expectedOn": None,
            "storageAreaRef": None,
            "workflowRef": "INVENTORY_QUANTITY::LAST_ON_HAND",
            "workflowVersion": 1,
            "createdOn": "2024-01-02T09:00:00.000Z",
            "updatedOn": "2024-01-02T09:00:00.000Z",
            "attributes": [],
            "catalogue": self.inventory_catalogue,
            "position": position,
        }
        position["quantities"] = [quantity]
        self.positions[ref] = position
        self.quantities[quantity["ref"]] = quantity

    def new_order(self, products: list[tuple[str, int]], status: str = "CREATED") -> dict[str, Any]:
        order_id = self.next_id()
        now = _now()
        items = []
        for product_ref, quantity in products:
            product = self.products[product_ref]
            items.append(
                {
                    "id": self.next_id(),
                    "ref": f"{product_ref}-{order_id}",
                    "product": product,
                    "status": "CREATED",
                    "quantity": quantity,
                    "price": product["price"],
                    "paidPrice": product["price"],
                    "currency": "AUD",
                }
            )
        total = sum(i["price"] * i["quantity"] for i in items)
        order: dict[str, Any] = {
            "id": order_id,
            "ref": f"HD_{order_id}",
            "type": "HD",
            "status": status,
            "workflowRef": "ORDER::HD",
            "workflowVersion": 3,
            "createdOn": now,
            "updatedOn": now,
            "attributes": _attrs(channel="web", giftWrap=False),
            "retailer": self.retailer,
            "totalPrice": total,
            "totalTaxPrice": round(total / 11, 2),
            "customer": self.customer,
            "items": items,
            "fulfilments": [],
        }
        self.orders[order_id] = order
        return order

    def new_fulfilment(self, order: dict[str, Any], status: str = "CREATED") -> dict[str, Any]:
        fulfilment_id = self.next_id()
        now = _now()
        fulfilment: dict[str, Any] = {
            "id": fulfilment_id,
            "ref": f"{order['ref']}-F{len(order['fulfilments']) + 1}",
            "status": status,
            "type": "HD_WAREHOUSE",
            "deliveryType": "STANDARD",
            "eta": "2 days",
            "expiryTime": None,
            "workflowRef": "FULFILMENT::HD_WAREHOUSE",
            "workflowVersion": 2,
            "createdOn": now,
            "updatedOn": now,
            "attributes": [],
            "order": order,
            "fromLocation": {"ref": self.dc["ref"]},
            "fromAddress": self.dc["primaryAddress"],
            "toAddress": {
                "__typename": "StoreAddress",
                "ref": None,
                "name": "Jane Doe",
                "street": "7 Customer Lane",
                "city": "Brunswick",
                "state": "VIC",
                "postcode": "3056",
                "country": "AU",
                "latitude": None,
                "longitude": None,
                "timeZone": "Australia/Melbourne",
            },
            "items": [
                {
                    "id": self.next_id(),
                    "ref": item["ref"],
                    "status": "CREATED",
                    "requestedQuantity": item["quantity"],
                    "filledQuantity": 0,
                    "rejectedQuantity": 0,
                    "orderItem": item,
                }
                for item in order["items"]
            ],
            "articles": [],
            "waves": [],
        }
        order["fulfilments"].append(fulfilment)
        order["updatedOn"] = now
        self.fulfilments[fulfilment_id] = fulfilment
        return fulfilment

    def pick(self, fulfilment: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        for item in fulfilment["items"]:
            item["filledQuantity"] = item["requestedQuantity"]
            item["status"] = "PICKED"
            position = self.positions.get(f"{item['orderItem']['product']['ref']}:{self.dc['ref']}")
            if position is not None:
                position["onHand"] = max(0, position["onHand"] - item["requestedQuantity"])
                position["updatedOn"] = now
                position["quantities"][0]["quantity"] = position["onHand"]
        article_id = self.next_id()
        article: dict[str, Any] = {
            "id": article_id,
            "ref": f"{fulfilment['ref']}-A1",
            "type": "DEFAULT",
            "status": "CREATED",
            "name": "Parcel 1",
            "description": f"Parcel for {fulfilment['ref']}",
            "weight": 0.8,
            "height": 10.0,
            "length": 30.0,
            "width": 20.0,
            "quantity": 1,
            "workflowRef": "ARTICLE::DEFAULT",
            "workflowVersion": 1,
            "createdOn": now,
            "updatedOn": now,
            "attributes": [],
            "fulfilments": [fulfilment],
            "consignmentArticles": [],
        }
        fulfilment["articles"].append(article)
        fulfilment["status"] = "PICKED"
        fulfilment["updatedOn"] = now
        self.articles[article_id] = article
        return article

    def ship(self, fulfilment: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        consignment_id = self.next_id()
        consignment: dict[str, Any] = {
            "id": consignment_id,
            "ref": f"CON-{consignment_id}",
            "status": "ACTIVE",
            "consignmentReference": f"DP{consignment_id}AU",
            "trackingLabel": f"DP{consignment_id}AU",
            "labelUrl": f"https://labels.example.invalid/{consignment_id}.pdf",
            "orderSummaryUrl": None,
            "workflowRef": "CONSIGNMENT::DEFAULT",
            "workflowVersion": 1,
            "createdOn": now,
            "updatedOn": now,
            "carrier": self.carrier,
            "retailer": self.retailer,
            "consignmentArticles": [],
        }
        for article in fulfilment["articles"]:
            link = {"article": article, "consignment": consignment}
            consignment["consignmentArticles"].append(link)
            article["consignmentArticles"].append(link)
            article["status"] = "SHIPPED"
            article["updatedOn"] = now
        fulfilment["status"] = "SHIPPED"
        fulfilment["updatedOn"] = now
        self.consignments[consignment_id] = consignment
        return consignment

    def new_wave(self, fulfilments: list[dict[str, Any]]) -> dict[str, Any]:
        wave_id = self.next_id()
        now = _now()
        wave: dict[str, Any] = {
            "id": wave_id,
            "ref": f"WAVE-{wave_id}",
            "name": f"Morning wave {wave_id}",
            "status": "CREATED",
            "type": "DEFAULT",
            "attributes": [],
            "retailer": self.retailer,
            "location": self.dc,
            "fulfilments": fulfilments,
            "workflowRef": "WAVE::DEFAULT",
            "workflowVersion": 1,
            "createdOn": now,
            "updatedOn": now,
        }
        self.waves[wave_id] = wave
        return wave

    def _seed_history(self) -> None:
        # One finished order with a return, and a fulfilment-options request with a plan,
        # so every sandbox entity type has something to query from the start.
        order = self.new_order([("TEE-BLK-M", 1), ("CAP-NVY", 1)], status="COMPLETE")
        fulfilment = self.new_fulfilment(order)
        self.pick(fulfilment)
        self.ship(fulfilment)
        fulfilment["status"] = "COMPLETE"
        return_order: dict[str, Any] = {
            "id": self.next_id(),
            "ref": f"RO_{order['id']}",
            "retailer": {"id": self.retailer["id"]},
            "workflow": {"ref": "RETURN_ORDER::DEFAULT", "version": 1},
            "type": "DEFAULT",
            "status": "CREATED",
            "attributes": _attrs(reason="Too small"),
            "customer": {"ref": self.customer["ref"]},
            "order": {"ref": order["ref"]},
            "returnAuthorisationKey": f"RAK-{order['id']}",
            "returnAuthorisationKeyExpiry": "2031-01-01T00:00:00.000Z",
            "lodgedLocation": {"ref": "STORE_SYDNEY"},
            "destinationLocation": {"ref": self.dc["ref"]},
            "totalAmount": {"amount": 39.0},
            "createdOn": _now(),
            "updatedOn": _now(),
            "returnOrderItems": [
                {
                    "id": self.next_id(),
                    "ref": f"RO_{order['id']}-1",
                    "status": "CREATED",
                    "returnReason": {"value": "TOO_SMALL", "label": "Too small"},
                    "returnCondition": {"value": "NEW", "label": "As new"},
                    "unitQuantity": {"quantity": 1, "unit": "EACH"},
                }
            ],
            "returnOrderFulfilments": [],
        }
        self.return_orders[return_order["ref"]] = return_order
        option_id = self.next_id()
        option: dict[str, Any] = {
            "id": option_id,
            "ref": f"FO-{option_id}",
            "status": "CREATED",
            "type": "HD",
            "retailerId": int(self.retailer["id"]) if self.retailer["id"].isdigit() else 1,
            "orderType": "HD",
            "locationRef": None,
            "trackingCode": None,
            "products": [
                {"productRef": "SOCK-3PK", "catalogueRef": "DEFAULT:1", "requestedQuantity": 2}
            ],
            "attributes": [],
            "workflowRef": "FULFILMENT_OPTIONS::HD",
            "workflowVersion": 1,
            "createdOn": _now(),
            "updatedOn": _now(),
        }
        plan_id = self.next_id()
        plan: dict[str, Any] = {
            "id": plan_id,
            "ref": f"FP-{plan_id}",
            "status": "ACTIVE",
            "type": "HD",
            "splitCount": 0,
            "eta": "2 days",
            "retailerId": option["retailerId"],
            "attributes": [],
            "fulfilmentOption": option,
            "fulfilments": [
                {
                    "fulfilmentType": "HD_WAREHOUSE",
                    "locationRef": self.dc["ref"],
                    "eta": "2 days",
                    "items": [
                        {"productRef": "SOCK-3PK", "availableQuantity": 40, "requestedQuantity": 2}
                    ],
                }
            ],
            "workflowRef": "FULFILMENT_PLAN::HD",
            "workflowVersion": 1,
            "createdOn": _now(),
            "updatedOn": _now(),
        }
        option["plans"] = [plan]
        self.options[option_id] = option
        self.plans[plan_id] = plan


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


class Sandbox:
    """Offline Fluent account on loopback. ``start()`` binds; ``base_url`` is the API root."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        account: str = "DEMO",
        retailer_id: str = "1",
        token_ttl: float = 86400.0,
        issue_refresh_tokens: bool = True,
        signing_key: RSAPrivateKey | None = None,
        emit_timeout: float = 10.0,
    ) -> None:
        self._requested_port = port
        self.host = host
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.account = account
        self.retailer_id = retailer_id
        self.token_ttl = token_ttl
        """Lifetime of new access tokens in seconds (short values make expiry testable)."""
        self.issue_refresh_tokens = issue_refresh_tokens
        self.refuse_introspection = False
        """When True, ``__schema``/``__type`` queries get an error, as on locked-down accounts."""
        self.emit_timeout = emit_timeout
        self._signing_key = signing_key
        self.data = _Data(retailer_id)
        self._schema = self._build_schema()
        self._access: dict[str, float] = {}
        self._refresh: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[float]] = {}
        self._denied: dict[str, str] = {}
        self.grants: list[str] = []
        """Grant types of successful token requests, in order (for tests and the demo log)."""
        self.requests: list[tuple[str, int]] = []
        """(path, status) of every request served."""
        self.arrived: dict[str, int] = {}
        """Requests received per path, counted on arrival (before any forced delay)."""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self) -> Sandbox:
        with self._lock:
            if self._runner is not None:
                return self
            self._loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                assert self._loop is not None
                asyncio.set_event_loop(self._loop)
                self._loop.call_soon(ready.set)
                self._loop.run_forever()

            self._thread = threading.Thread(target=run, name="fluent-sandbox", daemon=True)
            self._thread.start()
            ready.wait()
            try:
                asyncio.run_coroutine_threadsafe(self._bind(), self._loop).result()
            except OSError as exc:
                self._stop_loop()
                raise SandboxError(
                    f"The sandbox could not listen on {self.host}:{self._requested_port} "
                    f"({exc.strerror or exc}); pick another port or stop what uses it."
                ) from exc
            log.info("sandbox serving %s", self.base_url)
            return self

    async def _bind(self) -> None:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post("/oauth/token", self._handle_token)
        app.router.add_post("/graphql", self._handle_graphql)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1]) if sockets else self._requested_port
        self._runner = runner

    def stop(self) -> None:
        with self._lock:
            if self._loop is None:
                return
            if self._runner is not None:
                runner = self._runner
                self._runner = None

                async def shutdown() -> None:
                    if self._closing is not None:
                        self._closing.set()
                    # Scenarios still playing are ended here, on their loop: a task left
                    # pending when the loop closes is reported as destroyed at exit.
                    current = asyncio.current_task()
                    playing = [t for t in asyncio.all_tasks() if t is not current]
                    for task in playing:
                        task.cancel()
                    await asyncio.gather(*playing, return_exceptions=True)
                    await runner.cleanup()

                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._stop_loop()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(10)
        loop.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the sandbox loop (data is only touched there) and return its result."""
        if self._loop is None:
            return fn()

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    # -- test hooks ------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        path: str = "/graphql",
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` (401, 429, 500...)."""
        self._call(
            lambda: self._faults.setdefault(path, []).append(
                _Fault(status, times, retry_after, body)
            )
        )

    def delay_next(self, seconds: float, *, times: int = 1, path: str = "/graphql") -> None:
        """Hold the next ``times`` answers on ``path`` for ``seconds`` (to provoke timeouts)."""
        self._call(lambda: self._delays.setdefault(path, []).extend([seconds] * times))

    def deny_field(self, type_field: str, permission: str) -> None:
        """Make ``Type.field`` fail with Fluent's C0020E permission error (partial data)."""
        self._call(lambda: self._denied.__setitem__(type_field, permission))

    def allow_all(self) -> None:
        self._call(self._denied.clear)

    def expire_tokens(self) -> None:
        """Invalidate every access token now (refresh tokens stay valid)."""
        self._call(self._access.clear)

    # -- OAuth -----------------------------------------------------------------------------

    async def _preamble(self, request: web.Request) -> web.StreamResponse | None:
        path = request.path
        self.arrived[path] = self.arrived.get(path, 0) + 1
        delays = self._delays.get(path)
        if delays:
            delay = delays.pop(0)
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        faults = self._faults.get(path)
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            body = fault.body or {"error": "forced", "error_description": f"HTTP {fault.status}"}
            return web.json_response(body, status=fault.status, headers=headers)
        return None

    def _record(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        self.requests.append((request.path, response.status))
        return response

    async def _handle_token(self, request: web.Request) -> web.StreamResponse:
        forced = await self._preamble(request)
        if forced is not None:
            return self._record(request, forced)
        form: dict[str, str] = {k: v for k, v in request.query.items()}
        with contextlib.suppress(ValueError):
            posted = await request.post()
            form.update({k: v for k, v in posted.items() if isinstance(v, str)})
        return self._record(request, self._token_answer(form))

    def _token_answer(self, form: Mapping[str, str]) -> web.Response:
        def oauth_error(status: int, error: str, description: str) -> web.Response:
            return web.json_response(
                {"error": error, "error_description": description}, status=status
            )

        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return oauth_error(401, "invalid_client", "Bad client credentials")
        grant = form.get("grant_type", "")
        if grant == "password":
            if form.get("username") != self.username or form.get("password") != self.password:
                return oauth_error(400, "invalid_grant", "Bad credentials")
            if form.get("scope", "api") != "api":
                return oauth_error(400, "invalid_scope", "Invalid scope")
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self._refresh:
                return oauth_error(400, "invalid_grant", f"Invalid refresh token: {refresh[:4]}…")
            self._refresh.discard(refresh)
        else:
            return oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        token = secrets.token_urlsafe(24)
        self._access[token] = time.monotonic() + self.token_ttl
        self.grants.append(grant)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(self.token_ttl) if self.token_ttl >= 1 else self.token_ttl,
            "scope": "api",
            "Retailer_id": self.retailer_id,
        }
        if self.issue_refresh_tokens:
            refresh_token = secrets.token_urlsafe(24)
            self._refresh.add(refresh_token)
            answer["refresh_token"] = refresh_token
        return web.json_response(answer)

    # -- GraphQL ---------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        expires = self._access.get(token.strip())
        if expires is None:
            return False
        if time.monotonic() >= expires:
            del self._access[token.strip()]
            return False
        return True

    async def _handle_graphql(self, request: web.Request) -> web.StreamResponse:
        forced = await self._preamble(request)
        if forced is not None:
            return self._record(request, forced)
        if not self._authorized(request):
            return self._record(
                request,
                web.json_response(
                    {"error": "invalid_token", "error_description": "Access token expired"},
                    status=401,
                ),
            )
        try:
            payload = await request.json()
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._record(
                request,
                web.json_response(
                    {"errors": [{"message": 'Body must be {"query": ...}'}]}, status=400
                ),
            )
        query: str = payload["query"]
        if self.refuse_introspection and ("__schema" in query or "__type(" in query):
            return self._record(
                request,
                web.json_response(
                    {
                        "errors": [
                            {
                                "message": "Validation error of type FieldUndefined: Field "
                                "'__schema' in type 'Query' is undefined",
                                "extensions": {"classification": "ValidationError"},
                            }
                        ]
                    }
                ),
            )
        variables = payload.get("variables")
        result = await graphql(
            self._schema,
            query,
            variable_values=variables if isinstance(variables, dict) else None,
            operation_name=payload.get("operationName") or None,
        )
        return self._record(request, web.json_response(result.formatted))

    def _build_schema(self) -> GraphQLSchema:
        schema = sandbox_schema()
        data = self.data

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
                self._wire_field(type_.name, field_name, field_def)
        return schema

    def _wire_field(self, type_name: str, field_name: str, field_def: GraphQLField) -> None:
        named = get_named_type(field_def.type)
        base: Callable[..., Any] | None = None
        if named is not None and named.name.endswith("Connection"):
            base = _connection(field_name)
        key = f"{type_name}.{field_name}"

        def resolve(source: Any, info: Any, **args: Any) -> Any:
            permission = self._denied.get(key)
            if permission is not None:
                raise GraphQLError(
                    f"C0020E: Permission denied. Missing permissions: [{permission}]",
                    extensions={"code": "C0020E"},
                )
            if base is not None:
                return base(source, info, **args)
            return source.get(field_name) if isinstance(source, Mapping) else None

        field_def.resolve = resolve

    # -- webhooks --------------------------------------------------------------------------

    def _key(self) -> RSAPrivateKey:
        if self._signing_key is None:
            self._signing_key = load_demo_private_key()
        return self._signing_key

    def event(
        self,
        name: str,
        entity: Mapping[str, Any],
        entity_type: str,
        *,
        root: Mapping[str, Any] | None = None,
        root_type: str = "ORDER",
        lightweight: bool = False,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A Fluent event for ``entity`` as the orchestration engine would send it."""
        root = root if root is not None else entity
        event: dict[str, Any] = {
            "id": event_id or str(uuid.uuid4()),
            "name": name,
            "accountId": self.account,
            "retailerId": self.retailer_id,
            "entityId": str(entity["id"]),
            "entityRef": str(entity.get("ref") or ""),
            "entityType": entity_type,
        }
        if lightweight:
            return event
        event.update(
            {
                "entitySubtype": str(entity.get("type") or ""),
                "entityStatus": str(entity.get("status") or ""),
                "type": "NORMAL",
                "rootEntityId": str(root["id"]),
                "rootEntityRef": str(root.get("ref") or ""),
                "rootEntityType": root_type,
                "source": "sandbox",
                "scheduledOn": _now(),
                "attributes": {},
                "meta": {"mode": "SYNC", "simulation": False, "models": []},
            }
        )
        return event

    async def _post(
        self, session: aiohttp.ClientSession, url: str, event: Mapping[str, Any], attempt: int
    ) -> Delivery:
        body = json.dumps(event, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", **dict(sign_headers(self._key(), body))}
        status: int | None = None
        error: str | None = None
        try:
            async with session.post(url, data=body, headers=headers) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        return Delivery(
            str(event["id"]),
            str(event["name"]),
            str(event["entityType"]),
            str(event["entityId"]),
            attempt,
            status,
            error,
            body,
        )

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _play(self, name: str, url: str, step: float, on_delivery: Any) -> list[Delivery]:
        deliveries: list[Delivery] = []
        timeout = aiohttp.ClientTimeout(total=self.emit_timeout)
        data = self.data
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def send(event: Mapping[str, Any], attempt: int = 1) -> None:
                delivery = await self._post(session, url, event, attempt)
                deliveries.append(delivery)
                if on_delivery is not None:
                    with contextlib.suppress(Exception):
                        on_delivery(delivery)

            steps: list[Callable[[], Awaitable[None]]] = []
            if name == "order-lifecycle":
                order = data.new_order([("TEE-BLK-M", 2), ("SOCK-3PK", 1)])
                state: dict[str, Any] = {}

                async def created() -> None:
                    await send(self.event("OrderCreated", order, "ORDER"))

                async def booked() -> None:
                    order["status"] = "BOOKED"
                    order["updatedOn"] = _now()
                    for item in order["items"]:
                        item["status"] = "NEW"
                    await send(self.event("OrderBooked", order, "ORDER"))

                async def fulfilment_created() -> None:
                    state["f"] = data.new_fulfilment(order)
                    order["status"] = "FULFILMENT_IN_PROGRESS"
                    await send(
                        self.event("FulfilmentCreated", state["f"], "FULFILMENT", root=order)
                    )

                async def picked() -> None:
                    data.pick(state["f"])
                    await send(self.event("FulfilmentPicked", state["f"], "FULFILMENT", root=order))

                async def shipped() -> None:
                    data.ship(state["f"])
                    await send(
                        self.event("FulfilmentShipped", state["f"], "FULFILMENT", root=order)
                    )

                async def complete() -> None:
                    state["f"]["status"] = "COMPLETE"
                    order["status"] = "COMPLETE"
                    order["updatedOn"] = _now()
                    for item in order["items"]:
                        item["status"] = "COMPLETE"
                    await send(self.event("OrderComplete", order, "ORDER"))

                steps = [created, booked, fulfilment_created, picked, shipped, complete]
            elif name == "wms":
                order = data.new_order([("CAP-NVY", 1)], status="BOOKED")
                fulfilment = data.new_fulfilment(order, status="AWAITING_WAVE")
                wave = data.new_wave([fulfilment])
                fulfilment["waves"].append(wave)

                async def to_wms() -> None:
                    await send(
                        self.event(
                            "SendFulfilmentToWMS", fulfilment, "FULFILMENT", lightweight=True
                        )
                    )

                async def wave_created() -> None:
                    await send(self.event("WaveCreated", wave, "WAVE", lightweight=True))

                steps = [to_wms, wave_created]
            elif name == "carrier":
                order = data.new_order([("SOCK-3PK", 2)], status="BOOKED")
                fulfilment = data.new_fulfilment(order)
                article = data.pick(fulfilment)
                fulfilment["status"] = "PACKED"
                consignment = data.ship(fulfilment)
                fulfilment["status"] = "AWAITING_COURIER_COLLECTION"

                async def article_ready() -> None:
                    await send(
                        self.event(
                            "ArticleReadyForCollection", article, "ARTICLE", lightweight=True
                        )
                    )

                async def consignment_booked() -> None:
                    await send(
                        self.event(
                            "ConsignmentBooked", consignment, "CONSIGNMENT", lightweight=True
                        )
                    )

                steps = [article_ready, consignment_booked]
            elif name == "retry-storm":
                order = data.new_order([("TEE-BLK-M", 1)])
                event = self.event("OrderCreated", order, "ORDER")
                for attempt, wait in enumerate(RETRY_SCHEDULE, start=1):
                    await self._pause(wait * step)
                    await send(event, attempt)
                return deliveries
            else:
                raise SandboxError(
                    f"Unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}."
                )
            for index, run_step in enumerate(steps):
                if index:
                    await self._pause(step)
                await run_step()
        return deliveries

    def play(
        self,
        scenario: str,
        url: str,
        *,
        step_seconds: float = 1.0,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> concurrent.futures.Future[list[Delivery]]:
        """Start a scenario posting to ``url``; cancel the returned future to stop it.

        ``step_seconds`` scales every pause (1.0: a second between lifecycle steps and the
        real 0/2/4/8 s retry schedule; tests pass a small value).
        """
        if scenario not in SCENARIOS:
            raise SandboxError(
                f"Unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}."
            )
        if self._loop is None:
            raise SandboxError("The sandbox is not running; start it first.")
        self._key()  # fail here, in the caller's thread, when the signing key is unusable
        return asyncio.run_coroutine_threadsafe(
            self._play(scenario, url, step_seconds, on_delivery), self._loop
        )

    def run_scenario(self, scenario: str, url: str, *, step_seconds: float = 1.0) -> list[Delivery]:
        """Play a scenario and wait for it to finish."""
        return self.play(scenario, url, step_seconds=step_seconds).result()
