"""Concurrent captures of one invoice credit once (real threads against PostgreSQL)."""

from typing import Any

from dependency_injector import providers
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.payment import Payment, PaymentStatus
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_ledger import TokenTransaction
from src.services.token_service import TokenService
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently
from tests.support.webhooks import capture_payload, post_webhook


def test_fifty_concurrent_deliveries_of_one_payment_credit_once(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-500"],)
    )
    payload = capture_payload(checkout["invoice"], "PAY-RACE")

    responses = run_concurrently(app, 50, lambda client, _: post_webhook(client, payload))

    statuses = sorted(response.get_json()["status"] for response in responses)
    assert [response.status_code for response in responses] == [200] * 50
    assert statuses == ["already_paid"] * 49 + ["success"]
    assert api.balance(user) == {"balance": 500, "total_purchased": 500, "total_spent": 0}
    assert count_rows(TokenTransaction) == 1
    assert count_rows(Payment) == 1


def test_ten_concurrent_different_payments_settle_once(
    app: BillingApp, api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """Confirmed money is never refused: one captures, the rest are requires_refund. (Each
    refusal is now recorded under the invoice's lock, so fifty distinct payments of one
    invoice at once would queue past DB_LOCK_TIMEOUT_MS: 503, retried by the sender.)"""
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-100"],))

    responses = run_concurrently(
        app,
        10,
        lambda client, i: post_webhook(client, capture_payload(checkout["invoice"], f"PAY-{i}")),
    )

    assert [response.status_code for response in responses] == [200] * 10
    answers = sorted(response.get_json()["status"] for response in responses)
    assert answers == ["requires_refund"] * 9 + ["success"]
    assert api.balance(user)["balance"] == 100
    with app.app_context():
        statuses = sorted(p.status.value for p in db.session.scalars(select(Payment)))
    assert statuses == ["completed"] + ["requires_refund"] * 9


class FailingTokenService(TokenService):
    """Fails on the credit: after the invoice was marked paid and the subscription activated."""

    def credit_many(self, *args: Any, **kwargs: Any) -> Any:
        super().credit_many(*args, **kwargs)
        raise RuntimeError("ledger disk full")


def test_a_failing_activation_rolls_back_the_whole_capture(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-50"],)
    )
    app.container.tokens.token_service.override(
        providers.Factory(FailingTokenService, tokens=app.container.tokens.token_repository)
    )
    response = post_webhook(client, capture_payload(checkout["invoice"], "PAY-FAULT"))
    app.container.tokens.token_service.reset_override()

    assert response.status_code == 500
    assert "ledger disk full" not in response.get_data(as_text=True)
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"
    assert api.balance(user) == {"balance": 0, "total_purchased": 0, "total_spent": 0}
    with app.app_context():
        subscription = db.session.scalar(select(Subscription))
        payment = db.session.scalar(select(Payment))
    assert subscription is not None and subscription.status is SubscriptionStatus.PENDING
    assert payment is not None
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "internal_error")

    retry = post_webhook(client, capture_payload(checkout["invoice"], "PAY-FAULT"))
    assert retry.status_code == 200 and retry.get_json()["status"] == "success"
    assert api.balance(user)["balance"] == 50
