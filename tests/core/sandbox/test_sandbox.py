"""The offline sandbox: a faithful schema subset, OAuth rules, and signed webhook scenarios."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    is_required_argument,
)

from inspector.core.capture import Verdict
from inspector.core.events import parse_event
from inspector.core.fluent.profiles import Profile
from inspector.core.fluent.queries import template_for, variables_for
from inspector.core.fluent.schema import bundled_schema
from inspector.core.fluent.sync import SyncFluentClient
from inspector.core.keys import load_public_key
from inspector.core.resources import resource_path
from inspector.core.sandbox import (
    RETRY_SCHEDULE,
    SCENARIOS,
    Sandbox,
    SandboxError,
    sandbox_schema,
)
from inspector.core.secrets import SecretStore
from inspector.core.signatures import verify_headers


def real_schema() -> GraphQLSchema:
    return bundled_schema()


# ---------------------------------------------------------------- schema subset


def test_sandbox_schema_is_a_faithful_subset_of_fluents() -> None:
    real, ours = real_schema(), sandbox_schema()
    assert ours.mutation_type is None and ours.subscription_type is None
    problems: list[str] = []
    for name, type_ in ours.type_map.items():
        if name.startswith("__"):
            continue
        theirs = real.get_type(name)
        if theirs is None or type(theirs) is not type(type_):
            problems.append(f"{name}: missing or different kind in Fluent's schema")
            continue
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(theirs, GraphQLObjectType | GraphQLInterfaceType)
            real_ifaces = {i.name for i in theirs.interfaces}
            for iface in type_.interfaces:
                if iface.name not in real_ifaces:
                    problems.append(f"{name} implements {iface.name}, Fluent's does not")
            for field_name, field in type_.fields.items():
                real_field = theirs.fields.get(field_name)
                if real_field is None:
                    problems.append(f"{name}.{field_name} does not exist in Fluent's schema")
                    continue
                if str(real_field.type) != str(field.type):
                    problems.append(f"{name}.{field_name}: {field.type} != {real_field.type}")
                for arg_name, arg in field.args.items():
                    real_arg = real_field.args.get(arg_name)
                    if real_arg is None or str(real_arg.type) != str(arg.type):
                        problems.append(f"{name}.{field_name}({arg_name}) differs")
                for arg_name, real_arg in real_field.args.items():
                    if is_required_argument(real_arg) and arg_name not in field.args:
                        problems.append(f"{name}.{field_name} lacks required arg {arg_name}")
        elif isinstance(type_, GraphQLInputObjectType):
            assert isinstance(theirs, GraphQLInputObjectType)
            for field_name, field in type_.fields.items():
                real_field = theirs.fields.get(field_name)
                if real_field is None or str(real_field.type) != str(field.type):
                    problems.append(f"input {name}.{field_name} differs")
            for field_name, real_field in theirs.fields.items():
                if str(real_field.type).endswith("!") and field_name not in type_.fields:
                    problems.append(f"input {name} lacks required {field_name}")
        elif isinstance(type_, GraphQLEnumType):
            assert isinstance(theirs, GraphQLEnumType)
            if not set(type_.values) <= set(theirs.values):
                problems.append(f"enum {name} has values Fluent's lacks")
        elif isinstance(type_, GraphQLUnionType):
            assert isinstance(theirs, GraphQLUnionType)
            if not {t.name for t in type_.types} <= {t.name for t in theirs.types}:
                problems.append(f"union {name} has members Fluent's lacks")
    assert problems == []
    for required in (
        "Order",
        "Fulfilment",
        "Article",
        "Consignment",
        "Location",
        "Wave",
        "InventoryPosition",
        "ReturnOrder",
        "FulfilmentOption",
        "FulfilmentPlan",
    ):
        assert required in ours.type_map


# ---------------------------------------------------------------- OAuth rules


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def _token(sandbox: Sandbox, **form: str) -> httpx.Response:
    base = {"client_id": "sandbox", "client_secret": "sandbox-secret"}
    return httpx.post(f"{sandbox.base_url}/oauth/token", data={**base, **form})


def test_oauth_password_and_single_use_refresh(sandbox: Sandbox) -> None:
    answer = _token(sandbox, grant_type="password", username="demo", password="demo", scope="api")
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["scope"] == "api"
    assert body["Retailer_id"] == "1" and body["expires_in"] > 0
    refreshed = _token(sandbox, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200
    reused = _token(sandbox, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    wrong_client = _token(sandbox, client_secret="nope", grant_type="password")
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"


def test_graphql_requires_a_valid_token_even_for_introspection(sandbox: Sandbox) -> None:
    query = {"query": "{ __schema { queryType { name } } }"}
    assert httpx.post(f"{sandbox.base_url}/graphql", json=query).status_code == 401
    token = _token(
        sandbox, grant_type="password", username="demo", password="demo", scope="api"
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    ok = httpx.post(f"{sandbox.base_url}/graphql", json=query, headers=headers)
    assert ok.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    sandbox.expire_tokens()
    assert httpx.post(f"{sandbox.base_url}/graphql", json=query, headers=headers).status_code == 401


def test_short_token_ttl_expires(sandbox: Sandbox) -> None:
    sandbox.token_ttl = 0.0  # already expired when issued
    token = _token(
        sandbox, grant_type="password", username="demo", password="demo", scope="api"
    ).json()["access_token"]
    answer = httpx.post(
        f"{sandbox.base_url}/graphql",
        json={"query": '{ orderById(id: "1") { id } }'},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 401


def test_busy_port_is_a_clear_error(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="could not listen"):
        Sandbox(port=sandbox.port).start()


# ---------------------------------------------------------------- scenarios


class Receiver:
    """A small aiohttp webhook receiver on loopback that records raw requests."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.received: list[tuple[list[tuple[str, str]], bytes, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        event = json.loads(body)
        # Snapshot the entity's status as the receiver sees it when the webhook arrives.
        root_id = event.get("rootEntityId") or event["entityId"]
        order = self.sandbox.data.orders.get(root_id)
        self.received.append(
            (list(request.headers.items()), body, order["status"] if order else "")
        )
        return web.json_response({"ok": True})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def __enter__(self) -> Receiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def demo_public_key():  # type: ignore[no-untyped-def]
    return load_public_key(resource_path("demo", "demo-public.b64").read_text(), "demo")


def test_order_lifecycle_emits_signed_webhooks_and_data_changes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    key = demo_public_key()
    with Receiver(sandbox) as receiver:
        deliveries = sandbox.run_scenario("order-lifecycle", receiver.url, step_seconds=0)
    assert [d.status for d in deliveries] == [200] * 6
    assert [d.name for d in deliveries] == [
        "OrderCreated",
        "OrderBooked",
        "FulfilmentCreated",
        "FulfilmentPicked",
        "FulfilmentShipped",
        "OrderComplete",
    ]
    assert len(receiver.received) == 6
    for headers, body, _status in receiver.received:
        flex, fluent = verify_headers(headers, body, [key])
        assert flex.verdict is Verdict.VALID and fluent.verdict is Verdict.VALID
        event = parse_event(body)
        assert event is not None and event.is_complete
    statuses = [status for _h, _b, status in receiver.received]
    assert statuses == [
        "CREATED",
        "BOOKED",
        "FULFILMENT_IN_PROGRESS",
        "FULFILMENT_IN_PROGRESS",
        "FULFILMENT_IN_PROGRESS",
        "COMPLETE",
    ]
    # A follow-up now sees the final state through GraphQL.
    last = parse_event(receiver.received[-1][1])
    shipped = parse_event(receiver.received[4][1])
    assert last is not None and shipped is not None
    secrets = SecretStore(service="test-sandbox-followup")
    secrets.set("sb", "client_secret", "sandbox-secret")
    secrets.set("sb", "password", "demo")
    profile = Profile("sb", sandbox.base_url, "sandbox", "demo")
    with SyncFluentClient(profile, secrets, data_dir=tmp_path) as c:
        order = c.execute(template_for("ORDER").query_text, variables_for(last))
        fulfilment = c.execute(template_for("FULFILMENT").query_text, variables_for(shipped))
    secrets.forget_session()
    assert order.ok and order.data["orderById"]["status"] == "COMPLETE"
    assert order.data["orderById"]["fulfilments"]["edges"][0]["node"]["status"] == "COMPLETE"
    node = fulfilment.data["fulfilmentById"]
    assert node["articles"]["edges"][0]["node"]["status"] == "SHIPPED"
    assert all(
        e["node"]["filledQuantity"] == e["node"]["requestedQuantity"]
        for e in node["items"]["edges"]
    )


@pytest.mark.parametrize(
    ("scenario", "types"),
    [("wms", ["FULFILMENT", "WAVE"]), ("carrier", ["ARTICLE", "CONSIGNMENT"])],
)
def test_lightweight_scenarios_carry_ids_only_and_resolve(
    sandbox: Sandbox, scenario: str, types: list[str], tmp_path: Path
) -> None:
    with Receiver(sandbox) as receiver:
        deliveries = sandbox.run_scenario(scenario, receiver.url, step_seconds=0)
    assert [d.entity_type for d in deliveries] == types
    assert all(d.status == 200 for d in deliveries)
    secrets = SecretStore(service="test-sandbox-light")
    secrets.set("sb", "client_secret", "sandbox-secret")
    secrets.set("sb", "password", "demo")
    profile = Profile("sb", sandbox.base_url, "sandbox", "demo")
    with SyncFluentClient(profile, secrets, data_dir=tmp_path) as client:
        for _headers, body, _status in receiver.received:
            event = parse_event(body)
            assert event is not None and event.is_complete
            assert set(json.loads(body)) == {
                "id",
                "name",
                "accountId",
                "retailerId",
                "entityId",
                "entityRef",
                "entityType",
            }
            result = client.execute(
                template_for(event.entity_type).query_text, variables_for(event)
            )
            assert result.ok
            (entity,) = result.data.values()
            assert entity["id"] == event.entity_id
    secrets.forget_session()


def test_retry_storm_repeats_one_event_id_on_the_schedule(sandbox: Sandbox) -> None:
    assert RETRY_SCHEDULE == (0.0, 2.0, 4.0, 8.0)
    key = demo_public_key()
    with Receiver(sandbox) as receiver:
        deliveries = sandbox.run_scenario("retry-storm", receiver.url, step_seconds=0.001)
    assert [d.attempt for d in deliveries] == [1, 2, 3, 4]
    assert len({d.event_id for d in deliveries}) == 1
    bodies = {body for _h, body, _s in receiver.received}
    assert len(receiver.received) == 4 and len(bodies) == 1
    headers, body, _ = receiver.received[0]
    assert all(v.verdict is Verdict.VALID for v in verify_headers(headers, body, [key]))


def test_unreachable_target_is_reported_per_delivery(sandbox: Sandbox) -> None:
    deliveries = sandbox.run_scenario("wms", "http://127.0.0.1:9/hook", step_seconds=0)
    assert all(d.status is None and d.error for d in deliveries)


def test_unknown_scenario(sandbox: Sandbox) -> None:
    assert set(SCENARIOS) == {"order-lifecycle", "wms", "carrier", "retry-storm"}
    with pytest.raises(SandboxError, match="order-lifecycle"):
        sandbox.play("black-friday", "http://127.0.0.1:9/")


def test_every_scenario_is_registered_with_a_one_line_description() -> None:
    for name, entry in SCENARIOS.items():
        assert entry.name == name
        assert entry.description and "\n" not in entry.description
        assert callable(entry.play)
