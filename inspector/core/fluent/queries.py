"""Follow-up GraphQL queries per Fluent entity type (schemas live in :mod:`.schema`).

Lightweight webhooks carry ids and refs only; each template fetches what a developer needs
first (status, refs, dates, attributes, key relations with a first page). The query text
lives in ``resources/queries/<name>.graphql`` so users can read and copy it.

Mapping (reference §4): legacy entities by ``entityId``; catalogue-scoped entities by
``entityRef`` plus the root entity's ref as catalogue; return orders by ``entityRef`` plus
``retailerId``; billing entities by ``entityRef``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Any

from inspector.core.errors import QueryTemplateError
from inspector.core.events import EventSummary
from inspector.core.resources import resource_path

__all__ = [
    "ENTITY_TYPES",
    "Lookup",
    "QueryTemplate",
    "QueryTemplateError",
    "normalize_entity_type",
    "template_for",
    "variables_for",
]


class Lookup(enum.Enum):
    """How a template finds its entity; decides which event fields become variables."""

    BY_ID = "id"
    """``{"id": entityId}``"""
    BY_REF = "ref"
    """``{"ref": entityRef}``"""
    BY_REF_IN_CATALOGUE = "ref+catalogue"
    """``{"ref": entityRef, "catalogueRef": rootEntityRef}``"""
    BY_REF_IN_CONTROL_GROUP = "ref+controlGroup"
    """``{"ref": entityRef, "controlGroupRef": rootEntityRef}``"""
    BY_REF_AND_RETAILER = "ref+retailer"
    """``{"ref": entityRef, "retailerId": retailerId}``"""
    BY_REF_IN_RETURN_ORDER = "ref+returnOrder"
    """``{"ref": entityRef, "returnOrderRef": rootEntityRef, "retailerId": retailerId}``"""


@dataclass(frozen=True, slots=True)
class QueryTemplate:
    """A ready-to-run follow-up query for one entity type."""

    name: str
    """Operation name, e.g. ``OrderFollowUp``."""
    query_text: str
    entity_type: str
    """Canonical entity type, e.g. ``ORDER``."""
    lookup: Lookup
    root_field: str
    """The Query field the template calls, e.g. ``orderById``."""


# (file stem, operation name, lookup, root field) per canonical entity type.
_TEMPLATES: dict[str, tuple[str, str, Lookup, str]] = {
    "ORDER": ("order", "OrderFollowUp", Lookup.BY_ID, "orderById"),
    "FULFILMENT": ("fulfilment", "FulfilmentFollowUp", Lookup.BY_ID, "fulfilmentById"),
    "ARTICLE": ("article", "ArticleFollowUp", Lookup.BY_ID, "articleById"),
    "CONSIGNMENT": ("consignment", "ConsignmentFollowUp", Lookup.BY_ID, "consignmentById"),
    "LOCATION": ("location", "LocationFollowUp", Lookup.BY_ID, "locationById"),
    "WAVE": ("wave", "WaveFollowUp", Lookup.BY_ID, "waveById"),
    "FULFILMENT_OPTIONS": (
        "fulfilment_options",
        "FulfilmentOptionsFollowUp",
        Lookup.BY_ID,
        "fulfilmentOptionById",
    ),
    "FULFILMENT_PLAN": (
        "fulfilment_plan",
        "FulfilmentPlanFollowUp",
        Lookup.BY_ID,
        "fulfilmentPlanById",
    ),
    "PRODUCT_CATALOGUE": (
        "product_catalogue",
        "ProductCatalogueFollowUp",
        Lookup.BY_REF,
        "productCatalogue",
    ),
    "CATEGORY": ("category", "CategoryFollowUp", Lookup.BY_REF_IN_CATALOGUE, "category"),
    "PRODUCT": ("product", "ProductFollowUp", Lookup.BY_REF_IN_CATALOGUE, "product"),
    "INVENTORY_CATALOGUE": (
        "inventory_catalogue",
        "InventoryCatalogueFollowUp",
        Lookup.BY_REF,
        "inventoryCatalogue",
    ),
    "INVENTORY_POSITION": (
        "inventory_position",
        "InventoryPositionFollowUp",
        Lookup.BY_REF_IN_CATALOGUE,
        "inventoryPosition",
    ),
    "INVENTORY_QUANTITY": (
        "inventory_quantity",
        "InventoryQuantityFollowUp",
        Lookup.BY_REF_IN_CATALOGUE,
        "inventoryQuantity",
    ),
    "VIRTUAL_CATALOGUE": (
        "virtual_catalogue",
        "VirtualCatalogueFollowUp",
        Lookup.BY_REF,
        "virtualCatalogue",
    ),
    "VIRTUAL_POSITION": (
        "virtual_position",
        "VirtualPositionFollowUp",
        Lookup.BY_REF_IN_CATALOGUE,
        "virtualPosition",
    ),
    "CONTROL_GROUP": ("control_group", "ControlGroupFollowUp", Lookup.BY_REF, "controlGroup"),
    "CONTROL": ("control", "ControlFollowUp", Lookup.BY_REF_IN_CONTROL_GROUP, "control"),
    "RETURN_ORDER": (
        "return_order",
        "ReturnOrderFollowUp",
        Lookup.BY_REF_AND_RETAILER,
        "returnOrder",
    ),
    "RETURN_FULFILMENT": (
        "return_fulfilment",
        "ReturnFulfilmentFollowUp",
        Lookup.BY_REF_IN_RETURN_ORDER,
        "returnFulfilment",
    ),
    "BILLING_ACCOUNT": (
        "billing_account",
        "BillingAccountFollowUp",
        Lookup.BY_REF,
        "billingAccount",
    ),
    "CREDIT_MEMO": ("credit_memo", "CreditMemoFollowUp", Lookup.BY_REF, "creditMemo"),
    "INVOICE": ("invoice", "InvoiceFollowUp", Lookup.BY_REF, "invoice"),
    "PAYMENT": ("payment", "PaymentFollowUp", Lookup.BY_REF, "payment"),
    "PAYMENT_TRANSACTION": (
        "payment_transaction",
        "PaymentTransactionFollowUp",
        Lookup.BY_REF,
        "paymentTransaction",
    ),
}

ENTITY_TYPES: tuple[str, ...] = tuple(_TEMPLATES)
"""Canonical entity types that have a follow-up template."""

# Spellings seen in the wild for the same entity type.
_ALIASES = {
    "FULFILMENTOPTION": "FULFILMENT_OPTIONS",
    "FULFILMENTOPTIONS": "FULFILMENT_OPTIONS",
    "FULFILMENT_OPTION": "FULFILMENT_OPTIONS",
    "FULFILMENTPLAN": "FULFILMENT_PLAN",
    "RETURNORDER": "RETURN_ORDER",
    "RETURNFULFILMENT": "RETURN_FULFILMENT",
    "INVENTORYPOSITION": "INVENTORY_POSITION",
    "INVENTORYQUANTITY": "INVENTORY_QUANTITY",
    "VIRTUALPOSITION": "VIRTUAL_POSITION",
    "BILLINGACCOUNT": "BILLING_ACCOUNT",
    "CREDITMEMO": "CREDIT_MEMO",
    "PAYMENTTRANSACTION": "PAYMENT_TRANSACTION",
    # Product subtypes sometimes arrive as the entity type itself.
    "STANDARD_PRODUCT": "PRODUCT",
    "VARIANT_PRODUCT": "PRODUCT",
    "GROUP_PRODUCT": "PRODUCT",
}

_NO_GRAPHQL = {
    "BATCH": (
        "BATCH events belong to Fluent's Batch (Job) REST API, which GraphQL does not expose; "
        "look the batch up with GET /api/v4.1/job/{jobId}/batch/{batchId} instead."
    ),
    "JOB": "JOB events belong to Fluent's Job REST API, which GraphQL does not expose.",
}


def normalize_entity_type(entity_type: str) -> str:
    """Canonical spelling: upper case, aliases (``FULFILMENTOPTION``...) resolved."""
    key = entity_type.strip().upper().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


@cache
def _load_text(stem: str) -> str:
    return resource_path("queries", f"{stem}.graphql").read_text(encoding="utf-8")


def template_for(entity_type: str) -> QueryTemplate:
    """The follow-up query for an entity type (any known spelling).

    Raises :class:`QueryTemplateError` for types without one (BATCH, unknown types).
    """
    canonical = normalize_entity_type(entity_type)
    entry = _TEMPLATES.get(canonical)
    if entry is None:
        if canonical in _NO_GRAPHQL:
            raise QueryTemplateError(_NO_GRAPHQL[canonical])
        shown = entity_type.strip() or "(empty)"
        raise QueryTemplateError(
            f"There is no follow-up query for entity type {shown!r}. Write the query by hand; "
            f"known types: {', '.join(ENTITY_TYPES)}."
        )
    stem, name, lookup, root_field = entry
    try:
        text = _load_text(stem)
    except FileNotFoundError as exc:
        raise QueryTemplateError(
            f"The query template {stem}.graphql is missing from this installation ({exc}); "
            "reinstall the inspector."
        ) from exc
    return QueryTemplate(name, text, canonical, lookup, root_field)


def variables_for(event: EventSummary) -> dict[str, Any]:
    """Variables for the event's follow-up template, taken from the event's ids and refs.

    Raises :class:`QueryTemplateError` when the type has no template or the event lacks a
    field the lookup needs (the message names the field).
    """
    template = template_for(event.entity_type)
    lookup = template.lookup

    def need(value: str, field: str) -> str:
        if not value:
            raise QueryTemplateError(
                f"This {template.entity_type} event has no {field}, which the follow-up query "
                f"needs ({template.root_field}). Fill the variable in by hand."
            )
        return value

    if lookup is Lookup.BY_ID:
        return {"id": need(event.entity_id, "entityId")}
    ref = need(event.entity_ref, "entityRef")
    if lookup is Lookup.BY_REF:
        return {"ref": ref}
    if lookup is Lookup.BY_REF_IN_CATALOGUE:
        return {"ref": ref, "catalogueRef": need(event.root_entity_ref, "rootEntityRef")}
    if lookup is Lookup.BY_REF_IN_CONTROL_GROUP:
        return {"ref": ref, "controlGroupRef": need(event.root_entity_ref, "rootEntityRef")}
    if lookup is Lookup.BY_REF_AND_RETAILER:
        return {"ref": ref, "retailerId": need(event.retailer_id, "retailerId")}
    return {
        "ref": ref,
        "returnOrderRef": need(event.root_entity_ref, "rootEntityRef"),
        "retailerId": need(event.retailer_id, "retailerId"),
    }
