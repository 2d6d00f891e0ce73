"""GET /user/entitlement and the order consume follows: subscription, trial, tokens."""

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import update

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.subscription import Subscription
from src.models.token_ledger import TokenTransaction
from tests.support.api import ApiClient, RegisteredUser
from tests.support.catalog import CatalogBuilder
from tests.support.tokens import buy_tokens, consume
from tests.support.webhooks import capture_payload, post_webhook

ENTITLEMENT = "/api/v1/user/entitlement"


def subscribe(api: ApiClient, user: RegisteredUser, plan_id: Any) -> None:
    checkout = api.checkout(user, plan_id=plan_id)
    assert post_webhook(api.client, capture_payload(checkout["invoice"])).status_code == 200


def test_a_new_user_starts_with_three_trial_uses(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, count_rows: Any
) -> None:
    assert client.get(ENTITLEMENT, headers=user.headers).get_json() == {
        "source": "trial",
        "subscription": None,
        "trial_remaining": 3,
        "token_balance": 0,
    }
    sources = [consume(client, user, 5, f"try-{i}").get_json()["source"] for i in range(3)]
    fourth = consume(client, user, 5, "try-3")

    assert sources == ["trial"] * 3
    assert fourth.status_code == 402
    assert client.get(ENTITLEMENT, headers=user.headers).get_json()["source"] is None
    assert count_rows(TokenTransaction) == 0  # trial uses charge no tokens


def test_refunding_a_trial_use_gives_the_credit_back(
    client: FlaskClient, user: RegisteredUser, admin: RegisteredUser
) -> None:
    usage = consume(client, user, 1, "trial-job").get_json()
    response = client.post(
        f"/api/v1/admin/users/{user.id}/tokens/usages/{usage['usage_id']}/refund",
        json={},
        headers=admin.headers,
    )
    assert response.get_json()["trial_remaining"] == 3


def test_tokens_come_after_the_trial(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    for i in range(3):
        consume(client, user, 2, f"free-{i}")
    paid = consume(client, user, 2, "paid").get_json()
    assert (paid["source"], paid["charged_tokens"], paid["balance"]) == ("tokens", 2, 48)
    assert client.get(ENTITLEMENT, headers=user.headers).get_json()["source"] == "tokens"


def test_an_active_subscription_covers_uses_and_charges_nothing(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    subscribe(api, user, demo_catalog["pro-monthly"])
    body = client.get(ENTITLEMENT, headers=user.headers).get_json()
    assert body["source"] == "subscription" and body["subscription"]["status"] == "active"

    use = consume(client, user, 500, "covered").get_json()
    assert (use["source"], use["charged_tokens"]) == ("subscription", 0)
    assert client.get(ENTITLEMENT, headers=user.headers).get_json()["trial_remaining"] == 3
    assert count_rows(TokenTransaction) == 0


def test_a_metered_plan_pays_each_use_with_tokens(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    catalog: CatalogBuilder,
    demo_catalog: dict[str, Any],
) -> None:
    subscribe(api, user, catalog.plan(metered=True, name="Metered"))
    assert consume(client, user, 1, "no-tokens-yet").status_code == 402  # no trial either
    buy_tokens(api, user, demo_catalog["tokens-50"])
    use = consume(client, user, 4, "metered").get_json()
    assert (use["source"], use["charged_tokens"], use["balance"]) == ("tokens", 4, 46)
    assert client.get(ENTITLEMENT, headers=user.headers).get_json()["source"] == "tokens"


def test_an_expired_subscription_no_longer_covers(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    subscribe(api, user, demo_catalog["pro-monthly"])
    with app.app_context():  # set-up: the month has passed
        db.session.execute(update(Subscription).values(expires_at=utc_now() - timedelta(days=1)))
        db.session.commit()
    body = client.get(ENTITLEMENT, headers=user.headers).get_json()
    assert (body["subscription"], body["source"]) == (None, "trial")
    assert consume(client, user, 1, "after-expiry").get_json()["source"] == "trial"
