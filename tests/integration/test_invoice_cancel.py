"""POST /user/invoices/<id>/cancel: abandon a pending invoice and free the plan slot."""

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOnSubscription
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from tests.support.api import ApiClient, RegisteredUser
from tests.support.webhooks import capture_payload, post_webhook


def cancel(client: FlaskClient, user: RegisteredUser, invoice_id: str) -> Any:
    return client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)


def test_cancelling_drops_every_pending_item_and_frees_the_plan_slot(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(
        user,
        plan_id=demo_catalog["pro-monthly"],
        token_bundle_ids=(demo_catalog["tokens-50"],),
        add_on_ids=(demo_catalog["priority-support"],),
    )
    response = cancel(client, user, checkout["invoice"]["id"])

    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    with app.app_context():
        assert db.session.scalar(select(Subscription.status)) is SubscriptionStatus.CANCELED
        assert db.session.scalar(select(TokenBundlePurchase.status)) is PurchaseStatus.CANCELLED
        assert db.session.scalar(select(AddOnSubscription.status)) is SubscriptionStatus.CANCELED
    api.checkout(user, plan_id=demo_catalog["starter-monthly"])


def test_a_cancelled_invoice_cannot_be_paid_afterwards(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    invoice = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    cancel(client, user, invoice["id"])
    late = post_webhook(client, capture_payload(invoice))
    # The money arrived anyway: acknowledged, nothing granted, kept as requires_refund.
    assert late.status_code == 200
    assert (late.get_json()["status"], late.get_json()["reason"]) == (
        "requires_refund",
        "invoice_not_payable",
    )
    assert api.balance(user)["balance"] == 0


def test_a_paid_or_cancelled_invoice_cannot_be_cancelled(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    paid = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    post_webhook(client, capture_payload(paid))
    gone = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    cancel(client, user, gone["id"])

    for invoice_id in (paid["id"], gone["id"]):
        response = cancel(client, user, invoice_id)
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "invoice_not_cancellable"
    assert api.balance(user)["balance"] == 50


def test_another_users_invoice_cannot_be_cancelled(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    theirs = api.checkout(api.register(), token_bundle_ids=(demo_catalog["tokens-50"],))
    response = cancel(client, user, theirs["invoice"]["id"])
    assert response.status_code == 404
    assert cancel(client, user, str(uuid.uuid4())).status_code == 404
