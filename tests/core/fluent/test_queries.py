"""Follow-up query templates: every one valid against Fluent's real 23.10.1 schema."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from inspector.core.events import EventSummary
from inspector.core.fluent.queries import (
    ENTITY_TYPES,
    Lookup,
    QueryTemplateError,
    normalize_entity_type,
    template_for,
    variables_for,
)
from inspector.core.fluent.schema import (
    bundled_schema,
    bundled_schema_introspection,
    schema_from_introspection,
)
from inspector.core.sandbox import sandbox_schema

SANDBOX_TYPES = (
    "ORDER",
    "FULFILMENT",
    "ARTICLE",
    "CONSIGNMENT",
    "LOCATION",
    "WAVE",
    "FULFILMENT_OPTIONS",
    "FULFILMENT_PLAN",
    "INVENTORY_POSITION",
    "INVENTORY_QUANTITY",
    "INVENTORY_CATALOGUE",
    "RETURN_ORDER",
)


def real_schema() -> GraphQLSchema:
    return bundled_schema()


def test_reference_entity_types_all_have_templates() -> None:
    # Reference §3 minus BATCH, which GraphQL does not expose.
    expected = {
        "ORDER",
        "FULFILMENT",
        "ARTICLE",
        "CONSIGNMENT",
        "LOCATION",
        "WAVE",
        "FULFILMENT_OPTIONS",
        "FULFILMENT_PLAN",
        "PRODUCT_CATALOGUE",
        "CATEGORY",
        "PRODUCT",
        "INVENTORY_CATALOGUE",
        "INVENTORY_POSITION",
        "INVENTORY_QUANTITY",
        "VIRTUAL_CATALOGUE",
        "VIRTUAL_POSITION",
        "CONTROL_GROUP",
        "CONTROL",
        "RETURN_ORDER",
        "RETURN_FULFILMENT",
        "BILLING_ACCOUNT",
        "CREDIT_MEMO",
        "INVOICE",
        "PAYMENT",
        "PAYMENT_TRANSACTION",
    }
    assert set(ENTITY_TYPES) == expected


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_every_template_is_valid_against_the_real_schema(entity_type: str) -> None:
    template = template_for(entity_type)
    document = parse(template.query_text)
    errors = validate(real_schema(), document)
    assert errors == [], [e.message for e in errors]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    assert operations[0].name is not None and operations[0].name.value == template.name
    root_fields = [s.name.value for s in operations[0].selection_set.selections]  # type: ignore[attr-defined]
    assert root_fields == [template.root_field]
    # Declared variables are exactly those variables_for provides.
    declared = {v.variable.name.value for v in operations[0].variable_definitions}
    event = EventSummary(
        entity_type=entity_type,
        entity_id="1",
        entity_ref="R",
        root_entity_ref="ROOT",
        retailer_id="7",
    )
    assert set(variables_for(event)) == declared


@pytest.mark.parametrize("entity_type", SANDBOX_TYPES)
def test_sandbox_templates_are_valid_against_the_sandbox_schema(entity_type: str) -> None:
    errors = validate(sandbox_schema(), parse(template_for(entity_type).query_text))
    assert errors == [], [e.message for e in errors]


def test_variables_follow_the_reference_mapping() -> None:
    order = EventSummary(entity_type="ORDER", entity_id="123", entity_ref="HD_1")
    assert variables_for(order) == {"id": "123"}
    position = EventSummary(
        entity_type="INVENTORY_POSITION",
        entity_id="9",
        entity_ref="SKU:LOC",
        root_entity_ref="DEFAULT:1",
        root_entity_type="INVENTORY_CATALOGUE",
    )
    assert variables_for(position) == {"ref": "SKU:LOC", "catalogueRef": "DEFAULT:1"}
    ret = EventSummary(entity_type="RETURN_ORDER", entity_ref="RO_1", retailer_id="5")
    assert variables_for(ret) == {"ref": "RO_1", "retailerId": "5"}
    assert variables_for(EventSummary(entity_type="INVOICE", entity_ref="INV-1")) == {
        "ref": "INV-1"
    }
    control = EventSummary(entity_type="CONTROL", entity_ref="C1", root_entity_ref="CG")
    assert variables_for(control) == {"ref": "C1", "controlGroupRef": "CG"}
    rf = EventSummary(
        entity_type="RETURN_FULFILMENT", entity_ref="RF1", root_entity_ref="RO1", retailer_id="2"
    )
    assert variables_for(rf) == {"ref": "RF1", "returnOrderRef": "RO1", "retailerId": "2"}


def test_aliases_and_case_are_normalised() -> None:
    assert normalize_entity_type("fulfilmentOption") == "FULFILMENT_OPTIONS"
    assert normalize_entity_type(" FULFILMENTOPTION ") == "FULFILMENT_OPTIONS"
    assert template_for("order").entity_type == "ORDER"
    assert template_for("FULFILMENTOPTION").lookup is Lookup.BY_ID


def test_missing_event_field_names_it() -> None:
    event = EventSummary(entity_type="CATEGORY", entity_ref="shirts")
    with pytest.raises(QueryTemplateError, match="rootEntityRef"):
        variables_for(event)
    with pytest.raises(QueryTemplateError, match="entityId"):
        variables_for(EventSummary(entity_type="ORDER", entity_ref="HD_1"))


def test_types_without_templates_say_what_to_do() -> None:
    with pytest.raises(QueryTemplateError, match="Batch"):
        template_for("BATCH")
    with pytest.raises(QueryTemplateError, match="by hand"):
        template_for("SPACESHIP")


def test_schema_from_introspection_accepts_both_shapes_and_rejects_junk() -> None:
    whole = bundled_schema_introspection()
    assert schema_from_introspection(whole).query_type is not None
    assert schema_from_introspection(whole["data"]).query_type is not None
    with pytest.raises(QueryTemplateError, match="introspection"):
        schema_from_introspection({"data": {"orders": []}})


def test_bundled_schema_is_fluents_23_10_1() -> None:
    # The shipped copy is the real schema: 128 query fields and 104 mutations (fluent-dts).
    schema = bundled_schema()
    assert schema.query_type is not None and schema.mutation_type is not None
    assert len(schema.query_type.fields) == 128
    assert len(schema.mutation_type.fields) == 104
    assert bundled_schema() is schema  # built once
