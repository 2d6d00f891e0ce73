"""POST /webhooks/stripe with events signed by Stripe's own helper (no Stripe server needed).

localstripe never sends checkout.session.completed or charge.refunded, so those are built and
signed here with ``stripe.WebhookSignature.generate_signature_header``."""

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.payment import Payment, PaymentRefund, PaymentStatus, WebhookEvent
from src.models.user import User
from tests.support.api import ApiClient, RegisteredUser
from tests.support.stripe_events import (
    event,
    paid_session,
    post_stripe_event,
    refunded_charge,
)
from tests.support.stripe_refunds_fake import FakeStripeRefunds


@pytest.fixture
def checkout(api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-100"],)
    )
    return body


def only_payment(app: BillingApp) -> Payment:
    with app.app_context():
        payment: Payment | None = db.session.scalar(select(Payment))
        assert payment is not None
        db.session.expunge(payment)
        return payment


def test_a_completed_checkout_session_captures_and_saves_the_customer(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    checkout: dict[str, Any],
) -> None:
    session = paid_session(checkout["invoice"], user.id)
    response = post_stripe_event(client, event("checkout.session.completed", session))

    assert response.status_code == 200
    assert response.get_json()["status"] == "success"
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "paid"
    assert api.balance(user)["balance"] == 100
    payment = only_payment(app)
    assert (payment.provider, payment.provider_reference, payment.status) == (
        "stripe",
        session["payment_intent"],
        PaymentStatus.COMPLETED,
    )
    with app.app_context():
        saved = db.session.scalar(select(User.stripe_customer_id).where(User.id == user.id))
    assert saved == session["customer"]


def test_a_redelivered_event_is_already_processed(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    checkout: dict[str, Any],
    count_rows: Any,
) -> None:
    delivery = event("checkout.session.completed", paid_session(checkout["invoice"], user.id))
    first = post_stripe_event(client, delivery)
    again = post_stripe_event(client, delivery)

    assert first.get_json()["status"] == "success"
    assert again.status_code == 200
    assert again.get_json() == {"status": "already_processed", "event_id": delivery["id"]}
    assert api.balance(user)["balance"] == 100
    assert count_rows(WebhookEvent) == 1


def test_two_events_for_one_payment_credit_once(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, checkout: dict[str, Any]
) -> None:
    """Stripe sends checkout.session.completed and payment_intent.succeeded for one payment."""
    session = paid_session(checkout["invoice"], user.id)
    intent = {
        "id": session["payment_intent"],
        "object": "payment_intent",
        "status": "succeeded",
        "amount": session["amount_total"],
        "amount_received": session["amount_total"],
        "currency": "usd",
        "metadata": session["metadata"],
        "latest_charge": "ch_1",
    }
    first = post_stripe_event(client, event("checkout.session.completed", session))
    second = post_stripe_event(client, event("payment_intent.succeeded", intent))

    assert first.get_json()["status"] == "success"
    assert second.get_json()["status"] == "already_paid"
    assert api.balance(user)["balance"] == 100


def test_an_unpaid_session_grants_nothing(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, checkout: dict[str, Any]
) -> None:
    session = paid_session(checkout["invoice"], user.id, payment_status="unpaid")
    response = post_stripe_event(client, event("checkout.session.completed", session))
    assert response.get_json()["status"] == "ignored"
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"


def test_stripe_amounts_are_checked_against_the_invoice(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    checkout: dict[str, Any],
) -> None:
    session = paid_session(checkout["invoice"], user.id, amount_total=100)
    response = post_stripe_event(client, event("checkout.session.completed", session))
    again = post_stripe_event(client, event("checkout.session.completed", session))
    assert response.status_code == again.status_code == 200
    assert response.get_json()["status"] == "requires_refund"
    assert again.get_json()["status"] == "requires_refund"  # another event, the same payment
    assert api.balance(user)["balance"] == 0
    with app.app_context():
        kept = [p.status for p in db.session.scalars(select(Payment))]
    assert kept == [PaymentStatus.REQUIRES_REFUND]
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"


def test_a_refund_at_stripe_is_recorded_once(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    checkout: dict[str, Any],
    count_rows: Any,
) -> None:
    stripe_api = FakeStripeRefunds()  # the refunds are read from Stripe's API
    app.container.payments.stripe_client.override(providers.Object(stripe_api))
    session = paid_session(checkout["invoice"], user.id)
    post_stripe_event(client, event("checkout.session.completed", session))
    stripe_api.hold("re_1", 3000)
    partial = event(
        "charge.refunded", refunded_charge(session["payment_intent"], 3000, [("re_1", 3000)])
    )
    assert post_stripe_event(client, partial).get_json()["status"] == "recorded"
    assert post_stripe_event(client, partial).get_json()["status"] == "already_processed"
    payment = only_payment(app)
    assert (payment.status, payment.refunded_amount) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("30.00"),
    )

    total = session["amount_total"]
    stripe_api.hold("re_2", total - 3000)
    full = event(
        "charge.refunded",
        refunded_charge(session["payment_intent"], total, [("re_1", 3000), ("re_2", total - 3000)]),
    )
    assert post_stripe_event(client, full).get_json()["status"] == "recorded"
    app.container.payments.stripe_client.reset_override()
    payment = only_payment(app)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, Decimal("138.00"))
    assert count_rows(PaymentRefund) == 2
    # A full refund made in Stripe's dashboard takes the grants back, as an admin refund does
    # (tests/integration/test_provider_refunds_and_disputes.py covers it in full).
    assert api.balance(user)["balance"] == 0


def test_a_failure_for_a_payment_we_do_not_know_is_ignored(client: FlaskClient) -> None:
    intent = {
        "id": "pi_unknown",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "amount": 100,
        "currency": "usd",
        "metadata": {},
        "last_payment_error": {"code": "card_declined", "message": "Declined"},
    }
    response = post_stripe_event(client, event("payment_intent.payment_failed", intent))
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"


def test_unknown_event_types_are_ignored_with_200(client: FlaskClient) -> None:
    delivery = event("customer.created", {"id": "cus_1", "object": "customer"})
    response = post_stripe_event(client, delivery)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored", "event_id": delivery["id"]}


def test_bad_or_stale_signatures_are_400_and_nothing_is_read(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    checkout: dict[str, Any],
    count_rows: Any,
) -> None:
    delivery = event("checkout.session.completed", paid_session(checkout["invoice"], user.id))
    wrong = post_stripe_event(client, delivery, secret="whsec_not_ours")
    stale = post_stripe_event(client, delivery, timestamp=int(time.time()) - 400)
    missing = client.post("/api/v1/webhooks/stripe", json=delivery)

    for response in (wrong, stale, missing):
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_signature"
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"
    assert count_rows(WebhookEvent) == 0


def test_a_webhook_for_an_unknown_provider_is_404(client: FlaskClient) -> None:
    response = client.post("/api/v1/webhooks/paypal", data="{}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "provider_not_found"


def test_a_payment_we_did_not_start_is_ignored(client: FlaskClient) -> None:
    session = paid_session(
        {"id": str(uuid.uuid4()), "total_amount": "1.00", "currency": "USD"},
        uuid.uuid4(),
        metadata={},
        client_reference_id=None,
    )
    response = post_stripe_event(client, event("checkout.session.completed", session))
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"
