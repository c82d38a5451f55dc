"""The sandbox's demo account: a consistent in-memory dataset shaped like Fluent's GraphQL types.

Entities are plain dicts linked directly to each other (an order holds its fulfilments, a
fulfilment its order), so resolvers only read keys and scenarios change the state in place.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

__all__ = ["DemoData", "timestamp"]


def timestamp() -> str:
    """The current time as Fluent writes it (UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _attrs(**values: Any) -> list[dict[str, Any]]:
    kinds = {str: "STRING", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN"}
    return [{"name": k, "type": kinds.get(type(v), "JSON"), "value": v} for k, v in values.items()]


class DemoData:
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
        now = timestamp()
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
        now = timestamp()
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
        now = timestamp()
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
        now = timestamp()
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
        now = timestamp()
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
            "createdOn": timestamp(),
            "updatedOn": timestamp(),
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
            "createdOn": timestamp(),
            "updatedOn": timestamp(),
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
            "createdOn": timestamp(),
            "updatedOn": timestamp(),
        }
        option["plans"] = [plan]
        self.options[option_id] = option
        self.plans[plan_id] = plan
