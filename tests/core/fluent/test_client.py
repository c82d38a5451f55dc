"""FluentClient against the offline sandbox over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inspector.core.fluent.client import FluentClient
from inspector.core.fluent.errors import (
    ApiTimeoutError,
    AuthError,
    GraphQLResponseError,
    HttpStatusError,
    IntrospectionError,
    NetworkError,
    ProfileError,
    explain_error,
)
from inspector.core.fluent.profiles import Profile, ProfileStore
from inspector.core.fluent.queries import template_for
from inspector.core.fluent.request import curl_command
from inspector.core.fluent.runner import ApiRunner, ClientPool
from inspector.core.fluent.schema import schema_from_introspection
from inspector.core.fluent.sync import SyncFluentClient
from inspector.core.fluent.transport import RetryPolicy
from inspector.core.sandbox import Sandbox
from inspector.core.secrets import SecretStore
from tests.support.keyring_double import MemoryKeyring

SECRET = "sandbox-secret"
PASSWORD = "demo-pass-Xq7"
FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)
ORDER_QUERY = template_for("ORDER").query_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(password=PASSWORD, client_secret=SECRET) as sb:
        yield sb


@pytest.fixture
def secrets() -> SecretStore:
    store = SecretStore(service="test-fluent-api", backend=MemoryKeyring())
    store.set("sb", "client_secret", SECRET)
    store.set("sb", "password", PASSWORD)
    return store


@pytest.fixture(autouse=True)
def _no_env_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUENT_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("FLUENT_PASSWORD", raising=False)


def profile_for(sandbox: Sandbox, **changes: object) -> Profile:
    fields: dict[str, object] = {
        "name": "sb",
        "base_url": sandbox.base_url,
        "client_id": "sandbox",
        "username": "demo",
    }
    fields.update(changes)
    return Profile(**fields)  # type: ignore[arg-type]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _with_client(client: FluentClient, fn):  # type: ignore[no-untyped-def]
    async with client:
        return await fn(client)


def first_order_id(sandbox: Sandbox) -> str:
    return next(iter(sandbox.data.orders))


# ---------------------------------------------------------------- profiles


def test_profile_store_round_trip_without_secrets(data_dir: Path) -> None:
    store = ProfileStore(data_dir)
    saved = store.add(
        Profile(
            "acme",
            "https://acme.sandbox.api.fluentretail.com/graphql/",
            "acme-client",
            "me",
            retailer_id=" 5 ",
        )
    )
    assert saved.base_url == "https://acme.sandbox.api.fluentretail.com"
    assert saved.retailer_id == "5"
    store.add(Profile("pasted", "https://x.api.fluentretail.com", bearer_token_mode=True))
    assert [p.name for p in store.list()] == ["acme", "pasted"]
    assert ProfileStore(data_dir).get("acme") == saved
    text = (data_dir / "profiles.json").read_text()
    assert "secret" not in text and "password" not in text
    with pytest.raises(ProfileError, match="already exists"):
        store.add(saved)
    store.remove("acme")
    with pytest.raises(ProfileError, match="no profile named 'acme'"):
        store.get("acme")


@pytest.mark.parametrize(
    ("url", "match"),
    [("ftp://x", "not an API base URL"), ("http://acme.api.fluentretail.com", "plain http")],
)
def test_profile_rejects_bad_urls(data_dir: Path, url: str, match: str) -> None:
    with pytest.raises(ProfileError, match=match):
        ProfileStore(data_dir).add(Profile("p", url, "c", "u"))


def test_profile_needs_client_and_user_unless_bearer(data_dir: Path) -> None:
    with pytest.raises(ProfileError, match="client id and a username"):
        Profile("p", "https://a.example").validated()
    with pytest.raises(ProfileError, match="not usable"):
        Profile("../evil", "https://a.example", "c", "u").validated()


def test_corrupt_profiles_file_is_reported(data_dir: Path) -> None:
    (data_dir / "profiles.json").write_text("{nope")
    with pytest.raises(ProfileError, match="unreadable"):
        ProfileStore(data_dir).list()


# ---------------------------------------------------------------- tokens


def test_token_is_requested_once_and_reused(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)

    async def go(c: FluentClient) -> list[object]:
        a = await c.execute(ORDER_QUERY, {"id": first_order_id(sandbox)})
        b = await c.execute(ORDER_QUERY, {"id": first_order_id(sandbox)})
        return [a, b]

    first, second = run(_with_client(client, go))
    assert first.ok and first.status == 200
    assert first.data["orderById"]["status"] == "COMPLETE"
    assert first.size > 0 and first.elapsed >= 0
    assert second.data == first.data
    assert sandbox.grants == ["password"]
    assert client.retailer_id == sandbox.retailer_id


def test_expiry_uses_the_refresh_token_once_then_a_new_one(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    clock = FakeClock()
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir, clock=clock)
    used_refresh: list[str] = []

    async def go(c: FluentClient) -> None:
        await c.execute(ORDER_QUERY, {"id": "0"})
        assert c._token is not None and c._token.refresh_token
        used_refresh.append(c._token.refresh_token)
        clock.now += 86400  # past expires_in
        await c.execute(ORDER_QUERY, {"id": "0"})
        assert c._token.refresh_token not in used_refresh
        used_refresh.append(c._token.refresh_token)  # type: ignore[arg-type]
        clock.now += 86400
        await c.execute(ORDER_QUERY, {"id": "0"})

    run(_with_client(client, go))
    assert sandbox.grants == ["password", "refresh_token", "refresh_token"]
    # The sandbox enforces single use: the first refresh token is dead now.
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": used_refresh[0],
            "client_id": "sandbox",
            "client_secret": SECRET,
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_refused_refresh_falls_back_to_the_password_grant(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    clock = FakeClock()
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir, clock=clock)

    async def go(c: FluentClient) -> object:
        await c.execute(ORDER_QUERY, {"id": "0"})
        clock.now += 86400
        sandbox.fail_next(400, path="/oauth/token", body={"error": "invalid_grant"})
        return await c.execute(ORDER_QUERY, {"id": "0"})

    assert run(_with_client(client, go)).ok
    assert sandbox.grants == ["password", "password"]


def test_401_re_authenticates_once(sandbox: Sandbox, secrets: SecretStore, data_dir: Path) -> None:
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)

    async def go(c: FluentClient) -> object:
        await c.execute(ORDER_QUERY, {"id": "0"})
        sandbox.expire_tokens()  # server-side expiry the client cannot know about
        return await c.execute(ORDER_QUERY, {"id": first_order_id(sandbox)})

    result = run(_with_client(client, go))
    assert result.ok and result.data["orderById"] is not None
    assert sandbox.grants == ["password", "refresh_token"]
    assert ("/graphql", 401) in sandbox.requests


def test_persistent_401_is_reported(sandbox: Sandbox, secrets: SecretStore, data_dir: Path) -> None:
    sandbox.fail_next(401, times=2)
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)
    with pytest.raises(AuthError, match="401 twice"):
        run(_with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": "0"})))


def test_wrong_password_and_missing_secret(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    secrets.set("sb", "password", "wrong")
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)
    with pytest.raises(AuthError, match="username or password is wrong"):
        run(_with_client(client, lambda c: c.access_token()))
    secrets.delete("sb", "password")
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)
    with pytest.raises(AuthError, match="FLUENT_PASSWORD"):
        run(_with_client(client, lambda c: c.access_token()))


def test_env_secrets_win_for_headless_use(
    sandbox: Sandbox, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = SecretStore(service="test-env", backend=MemoryKeyring())
    monkeypatch.setenv("FLUENT_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("FLUENT_PASSWORD", PASSWORD)
    client = FluentClient(profile_for(sandbox), empty, data_dir=data_dir)
    assert run(_with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": "0"}))).ok


def test_bearer_token_mode(sandbox: Sandbox, data_dir: Path) -> None:
    token = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "grant_type": "password",
            "username": "demo",
            "password": PASSWORD,
            "client_id": "sandbox",
            "client_secret": SECRET,
            "scope": "api",
        },
    ).json()["access_token"]
    store = SecretStore(service="test-bearer", backend=MemoryKeyring())
    store.set("sb", "token", token)
    profile = Profile("sb", sandbox.base_url, bearer_token_mode=True)
    client = FluentClient(profile, store, data_dir=data_dir)
    assert run(_with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": "0"}))).ok
    sandbox.expire_tokens()
    client = FluentClient(profile, store, data_dir=data_dir)
    with pytest.raises(AuthError, match="Paste a new token"):
        run(_with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": "0"})))


# ---------------------------------------------------------------- errors, back-off


def test_graphql_errors_come_with_partial_data(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    sandbox.deny_field("Order.customer", "CUSTOMER_VIEW")
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)
    result = run(
        _with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": first_order_id(sandbox)}))
    )
    assert result.status == 200 and not result.ok
    order = result.data["orderById"]
    assert order["status"] == "COMPLETE" and order["customer"] is None
    assert "CUSTOMER_VIEW" in result.errors[0]["message"]
    assert any(e.startswith("C0020E") and "permission" in e for e in result.explanations())
    with pytest.raises(GraphQLResponseError, match="Partial data") as info:
        result.raise_for_errors()
    assert info.value.result is result


def test_429_backs_off_honouring_retry_after(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sandbox.fail_next(429, times=2, retry_after=0)
    sandbox.fail_next(503, times=1)
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir, retry=FAST, sleep=sleep)
    assert run(_with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": "0"}))).ok
    statuses = [s for p, s in sandbox.requests if p == "/graphql"]
    assert statuses == [429, 429, 503, 200]
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0


def test_retries_are_bounded(sandbox: Sandbox, secrets: SecretStore, data_dir: Path) -> None:
    sandbox.fail_next(500, times=10)
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir, retry=FAST)
    with pytest.raises(HttpStatusError, match="server error") as info:
        run(_with_client(client, lambda c: c.execute(ORDER_QUERY, {"id": "0"})))
    assert info.value.status == 500
    assert [s for p, s in sandbox.requests if p == "/graphql"] == [500] * 4


def test_mutations_are_not_resent_after_a_500(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    sandbox.fail_next(500, times=10)
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir, retry=FAST)
    with pytest.raises(HttpStatusError):
        run(_with_client(client, lambda c: c.execute("mutation M { noop }")))
    assert [s for p, s in sandbox.requests if p == "/graphql"] == [500]


def test_timeout_is_reported(sandbox: Sandbox, secrets: SecretStore, data_dir: Path) -> None:
    client = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir, timeout=0.5)

    async def go(c: FluentClient) -> object:
        await c.access_token()
        sandbox.delay_next(30)
        return await c.execute(ORDER_QUERY, {"id": "0"})

    with pytest.raises(ApiTimeoutError, match=r"did not answer within 0.5 s"):
        run(_with_client(client, go))


def test_unreachable_host_is_a_network_error(secrets: SecretStore, data_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    profile = Profile("sb", f"http://127.0.0.1:{port}", "sandbox", "demo")
    client = FluentClient(profile, secrets, data_dir=data_dir)
    with pytest.raises(NetworkError, match="Could not reach"):
        run(_with_client(client, lambda c: c.access_token()))


def test_cancellation_aborts_a_running_query_and_the_client_stays_usable(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    runner = ApiRunner()
    try:
        client = SyncFluentClient(profile_for(sandbox), secrets, runner=runner, data_dir=data_dir)
        client.access_token()
        sandbox.delay_next(30)
        before = sandbox.arrived.get("/graphql", 0)
        future = client.submit_execute(ORDER_QUERY, {"id": "0"})
        deadline = time.monotonic() + 20
        while sandbox.arrived.get("/graphql", 0) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sandbox.arrived.get("/graphql", 0) == before + 1  # the request is in flight
        assert future.cancel()
        assert future.cancelled()
        result = client.execute(ORDER_QUERY, {"id": first_order_id(sandbox)})
        assert result.ok and result.data["orderById"] is not None
        client.close()
    finally:
        runner.close()


# ---------------------------------------------------------------- introspection


def test_introspection_uses_auth_and_is_cached_on_disk(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    unauthenticated = httpx.post(
        f"{sandbox.base_url}/graphql", json={"query": "{__schema{queryType{name}}}"}
    )
    assert unauthenticated.status_code == 401
    with SyncFluentClient(profile_for(sandbox), secrets, data_dir=data_dir) as client:
        data = client.introspect()
        cache = data_dir / "schemas" / "sb.json"
        assert cache.is_file()
        calls = len(sandbox.requests)
        assert client.introspect() == data  # from disk
        assert len(sandbox.requests) == calls
        client.introspect(refresh=True)
        assert len(sandbox.requests) == calls + 1
    schema = schema_from_introspection(data)
    assert "orderById" in schema.query_type.fields  # type: ignore[union-attr]
    # A new client (next app start) finds the cache.
    again = FluentClient(profile_for(sandbox), secrets, data_dir=data_dir)
    assert again.cached_schema() == data


def test_refused_introspection_is_explained(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path
) -> None:
    sandbox.refuse_introspection = True
    with SyncFluentClient(profile_for(sandbox), secrets, data_dir=data_dir) as client:
        with pytest.raises(IntrospectionError, match="Queries still run"):
            client.introspect()
        assert client.execute(ORDER_QUERY, {"id": "0"}).ok
    assert not (data_dir / "schemas" / "sb.json").exists()


# ---------------------------------------------------------------- misc


def test_no_secret_or_token_reaches_the_data_dir(
    sandbox: Sandbox, secrets: SecretStore, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    ProfileStore(data_dir).add(profile_for(sandbox))
    with SyncFluentClient(profile_for(sandbox), secrets, data_dir=data_dir) as client:
        client.execute(ORDER_QUERY, {"id": first_order_id(sandbox)})
        client.introspect()
        token = client.access_token()
    needles = [SECRET, PASSWORD, token]
    for path in data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(n.encode() in content for n in needles), path
    assert not any(n in caplog.text for n in needles)


def test_client_pool_reuses_one_client_per_profile(sandbox: Sandbox, secrets: SecretStore) -> None:
    runner = ApiRunner()
    try:
        pool = ClientPool(secrets, runner)
        first = pool.get(profile_for(sandbox))
        assert pool.get(profile_for(sandbox)) is first
        changed = pool.get(profile_for(sandbox, username="other"))
        assert changed is not first
        pool.close()
    finally:
        runner.close()


def test_curl_command_redacts_the_token(sandbox: Sandbox) -> None:
    command = curl_command(profile_for(sandbox), ORDER_QUERY, {"id": "1"}, "OrderFollowUp")
    assert command.startswith("curl -X POST")
    assert f"{sandbox.base_url}/graphql" in command
    assert "$FLUENT_TOKEN" in command
    payload = json.loads(command.split("--data ", 1)[1].strip("'"))
    assert payload["variables"] == {"id": "1"}


def test_error_code_explanations() -> None:
    assert "11,111" in (explain_error({"message": "C0001E: Query complexity too high"}) or "")
    assert "support" in (explain_error({"message": "x", "extensions": {"code": "S0042E"}}) or "")
    assert explain_error({"message": "plain"}) is None
