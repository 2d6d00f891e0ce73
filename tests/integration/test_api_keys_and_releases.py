"""Scoped, revocable API keys (CLI and admin API) and releases owned by whoever charged."""

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.api_key import ApiKey
from tests.support.api import ApiClient, RegisteredUser
from tests.support.tokens import buy_tokens, consume


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "TRIAL_CREDITS": 0}


@pytest.fixture
def funded(api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]) -> RegisteredUser:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    return user


def create_key(runner: FlaskCliRunner, name: str, *scopes: str) -> str:
    args = ["apikeys", "create", name]
    for scope in scopes:
        args += ["--scope", scope]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    key: str = result.output.strip().splitlines()[-1]
    return key


def service(
    client: FlaskClient, method: str, key: str, user_id: Any, path: str, **body: Any
) -> Any:
    url = f"/api/v1/service/users/{user_id}/tokens/{path}"
    headers = {"X-API-Key": key}
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, json=body, headers=headers)


def charge(client: FlaskClient, key: str, user_id: Any, reference: str = "job-1") -> str:
    used = service(client, "POST", key, user_id, "consume", amount=5, reference=reference)
    assert used.status_code == 201, used.get_json()
    usage_id: str = used.get_json()["usage_id"]
    return usage_id


def release(client: FlaskClient, key: str, user_id: Any, usage_id: str) -> Any:
    return service(client, "POST", key, user_id, f"usages/{usage_id}/refund", reason="failed")


def test_a_use_is_given_back_only_by_the_key_that_charged_it(
    api: ApiClient, client: FlaskClient, runner: FlaskCliRunner, funded: RegisteredUser
) -> None:
    farm, other = create_key(runner, "farm"), create_key(runner, "other")
    usage_id = charge(client, farm, funded.id)

    by_other = release(client, other, funded.id, usage_id)
    by_user = client.post(
        f"/api/v1/user/tokens/usages/{usage_id}/refund", json={}, headers=funded.headers
    )
    assert by_other.status_code == 403 and by_other.get_json()["error"]["code"] == "forbidden"
    assert by_user.status_code == 403 and by_user.get_json()["error"]["code"] == "forbidden"
    assert api.balance(funded)["balance"] == 45

    by_farm = release(client, farm, funded.id, usage_id)
    again = release(client, farm, funded.id, usage_id)
    assert by_farm.status_code == 200 and by_farm.get_json()["balance"] == 50
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_refunded"
    assert api.balance(funded)["balance"] == 50


def test_a_use_charged_with_the_users_token_is_given_back_by_an_admin_only(
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    funded: RegisteredUser,
    admin: RegisteredUser,
) -> None:
    farm = create_key(runner, "farm")
    usage_id = consume(client, funded, 5, "own").get_json()["usage_id"]

    assert release(client, farm, funded.id, usage_id).status_code == 403
    url = f"/api/v1/admin/users/{funded.id}/tokens/usages/{usage_id}/refund"
    first = client.post(url, json={"reason": "support"}, headers=admin.headers)
    second = client.post(url, json={}, headers=admin.headers)

    assert first.status_code == 200 and first.get_json()["balance"] == 50
    assert second.status_code == 409
    assert api.balance(funded)["balance"] == 50


def test_an_admin_gives_back_a_use_a_key_charged(
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    funded: RegisteredUser,
    admin: RegisteredUser,
) -> None:
    farm = create_key(runner, "farm")
    usage_id = charge(client, farm, funded.id)

    response = client.post(
        f"/api/v1/admin/users/{funded.id}/tokens/usages/{usage_id}/refund",
        json={},
        headers=admin.headers,
    )

    assert response.status_code == 200 and api.balance(funded)["balance"] == 50
    assert release(client, farm, funded.id, usage_id).status_code == 409


def test_scopes_gate_writes_and_reads(
    api: ApiClient, client: FlaskClient, runner: FlaskCliRunner, funded: RegisteredUser
) -> None:
    reader = create_key(runner, "reader", "usage:read")
    writer = create_key(runner, "writer", "usage:write")
    both = create_key(runner, "both")  # default: every scope

    refused = service(client, "POST", reader, funded.id, "consume", amount=1, reference="r")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_scope"
    usage_id = charge(client, writer, funded.id)
    assert service(client, "GET", writer, funded.id, "balance").status_code == 403
    assert service(client, "GET", writer, funded.id, "transactions").status_code == 403

    balance = service(client, "GET", reader, funded.id, "balance")
    ledger = service(client, "GET", reader, funded.id, "transactions")
    assert balance.status_code == 200 and balance.get_json()["balance"] == 45
    assert ledger.status_code == 200 and ledger.get_json()["items"][0]["type"] == "usage"
    assert release(client, reader, funded.id, usage_id).status_code == 403
    assert service(client, "GET", both, funded.id, "balance").status_code == 200
    assert api.balance(funded)["balance"] == 45


def test_the_cli_revokes_a_key_at_once(
    app: BillingApp, client: FlaskClient, runner: FlaskCliRunner, funded: RegisteredUser
) -> None:
    farm = create_key(runner, "farm")
    assert service(client, "GET", farm, funded.id, "balance").status_code == 200
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id))

    result = runner.invoke(args=["apikeys", "revoke", str(key_id)])
    assert result.exit_code == 0, result.output

    response = service(client, "GET", farm, funded.id, "balance")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_api_key"
    listing = runner.invoke(args=["apikeys", "list"])
    assert "revoked" in listing.output and "usage:read usage:write" in listing.output
    assert runner.invoke(args=["apikeys", "revoke", "not-a-uuid"]).exit_code != 0


def test_the_cli_refuses_an_unknown_scope(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["apikeys", "create", "x", "--scope", "usage:admin"])
    assert result.exit_code != 0


def test_admins_create_list_and_revoke_keys(
    client: FlaskClient, funded: RegisteredUser, admin: RegisteredUser
) -> None:
    created = client.post(
        "/api/v1/admin/api-keys",
        json={"name": "farm", "scopes": ["usage:write"]},
        headers=admin.headers,
    )
    assert created.status_code == 201
    body = created.get_json()
    assert (body["name"], body["scopes"]) == ("farm", ["usage:write"])
    assert body["key"].startswith(f"bk_{body['prefix']}_")
    assert charge(client, body["key"], funded.id)

    listing = client.get("/api/v1/admin/api-keys", headers=admin.headers).get_json()["items"]
    assert [(k["id"], k["scopes"], k["revoked_at"]) for k in listing] == [
        (body["id"], ["usage:write"], None)
    ]
    assert "key" not in listing[0] and listing[0]["last_used_at"] is not None

    revoked = client.delete(f"/api/v1/admin/api-keys/{body['id']}", headers=admin.headers)
    assert revoked.status_code == 204 and revoked.data == b""
    refused = service(client, "POST", body["key"], funded.id, "consume", amount=1, reference="z")
    assert refused.status_code == 401
    listing = client.get("/api/v1/admin/api-keys", headers=admin.headers).get_json()["items"]
    assert listing[0]["revoked_at"] is not None
    again = client.delete(f"/api/v1/admin/api-keys/{body['id']}", headers=admin.headers)
    assert again.status_code == 204


@pytest.mark.parametrize(
    "payload",
    [{"name": "x", "scopes": ["usage:admin"]}, {"name": "x", "scopes": []}, {"name": "x"}],
)
def test_bad_key_bodies_are_refused(
    client: FlaskClient, admin: RegisteredUser, payload: dict[str, Any]
) -> None:
    response = client.post("/api/v1/admin/api-keys", json=payload, headers=admin.headers)
    assert response.status_code in (400, 422)


def test_key_admin_is_for_admins_and_real_keys(
    client: FlaskClient, user: RegisteredUser, admin: RegisteredUser
) -> None:
    assert client.get("/api/v1/admin/api-keys").status_code == 401
    assert client.get("/api/v1/admin/api-keys", headers=user.headers).status_code == 403
    created = client.post(
        "/api/v1/admin/api-keys", json={"name": "x", "scopes": ["usage:read"]}, headers=user.headers
    )
    assert created.status_code == 403
    missing = client.delete(
        "/api/v1/admin/api-keys/00000000-0000-4000-8000-000000000000", headers=admin.headers
    )
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "api_key_not_found"


def test_last_used_at_is_written_at_most_once_a_minute(
    app: BillingApp, client: FlaskClient, runner: FlaskCliRunner, funded: RegisteredUser
) -> None:
    farm = create_key(runner, "farm")

    def last_used() -> Any:
        with app.app_context():
            return db.session.scalar(select(ApiKey.last_used_at))

    assert last_used() is None
    service(client, "GET", farm, funded.id, "balance")
    first = last_used()
    for _ in range(3):
        assert service(client, "GET", farm, funded.id, "balance").status_code == 200
    assert first is not None and last_used() == first

    earlier = utc_now() - timedelta(minutes=2)
    with app.app_context():
        db.session.execute(update(ApiKey).values(last_used_at=earlier))
        db.session.commit()
    service(client, "GET", farm, funded.id, "balance")
    assert last_used() > earlier + timedelta(minutes=1)
