"""Money the provider gives back on its own: a refund made in Stripe's dashboard
(``charge.refunded``, its refunds read from Stripe's API) and chargebacks
(``charge.dispute.created`` / ``.closed``). Every event is delivered twice; the grants are
taken back, or given back, once. Also: an admin refund of a generic-webhook payment."""

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOnSubscription
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentRefund, PaymentStatus
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_ledger import TokenTransaction
from tests.support.api import ApiClient, RegisteredUser
from tests.support.stripe_events import event, paid_session, post_stripe_event, refunded_charge
from tests.support.stripe_refunds_fake import FakeStripeRefunds
from tests.support.webhooks import capture_payload, post_webhook


@pytest.fixture
def stripe_api(app: BillingApp) -> Iterator[FakeStripeRefunds]:
    fake = FakeStripeRefunds()
    app.container.payments.stripe_client.override(providers.Object(fake))
    yield fake
    app.container.payments.stripe_client.reset_override()


@pytest.fixture
def checkout(api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]) -> dict[str, Any]:
    """An invoice for a plan, an add-on and 100 tokens."""
    body: dict[str, Any] = api.checkout(
        user,
        plan_id=demo_catalog["pro-monthly"],
        token_bundle_ids=(demo_catalog["tokens-100"],),
        add_on_ids=(demo_catalog["priority-support"],),
    )
    return body


@pytest.fixture
def paid(client: FlaskClient, user: RegisteredUser, checkout: dict[str, Any]) -> dict[str, Any]:
    """The invoice paid through a Stripe Checkout Session."""
    session = paid_session(checkout["invoice"], user.id)
    response = post_stripe_event(client, event("checkout.session.completed", session))
    assert response.get_json()["status"] == "success"
    return session


def twice(client: FlaskClient, payload: dict[str, Any]) -> tuple[str, str]:
    first = post_stripe_event(client, payload)
    again = post_stripe_event(client, payload)
    assert first.status_code == again.status_code == 200
    return first.get_json()["status"], again.get_json()["status"]


def state(app: BillingApp) -> dict[str, Any]:
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None
        return {
            "payment": payment.status,
            "refunded": payment.refunded_amount,
            "invoice": db.session.scalar(select(Invoice.status)),
            "subscription": db.session.scalar(select(Subscription.status)),
            "add_on": db.session.scalar(select(AddOnSubscription.status)),
            "entries": db.session.scalar(select(db.func.count()).select_from(TokenTransaction)),
        }


def dispute(session: dict[str, Any], dispute_id: str = "dp_1", **fields: Any) -> dict[str, Any]:
    return {
        "id": dispute_id,
        "object": "dispute",
        "charge": f"ch_{uuid.uuid4().hex[:10]}",
        "payment_intent": session["payment_intent"],
        "amount": session["amount_total"],
        "currency": "usd",
        "status": "needs_response",
        **fields,
    }


def test_a_full_refund_in_the_dashboard_takes_the_grants_back_once(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    paid: dict[str, Any],
    stripe_api: FakeStripeRefunds,
) -> None:
    total = paid["amount_total"]
    stripe_api.hold("re_dash", total)
    # The event's own copy lists nothing (recent API versions do not embed it).
    report = event("charge.refunded", refunded_charge(paid["payment_intent"], total, []))

    assert twice(client, report) == ("recorded", "already_processed")

    after = state(app)
    assert (after["payment"], after["refunded"], after["invoice"]) == (
        PaymentStatus.REFUNDED,
        Decimal(total) / 100,
        InvoiceStatus.REFUNDED,
    )
    assert (after["subscription"], after["add_on"]) == (
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.CANCELED,
    )
    assert api.balance(user)["balance"] == 0
    assert after["entries"] == 2  # the purchase and its one reversal
    with app.app_context():
        row = db.session.scalar(select(PaymentRefund))
        assert row is not None
        assert (row.provider_refund_id, row.tokens_reversed) == ("re_dash", 100)
    assert stripe_api.v1.refunds.asked[0]["charge"] == report["data"]["object"]["id"]


def test_a_partial_refund_in_the_dashboard_is_only_recorded(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    paid: dict[str, Any],
    stripe_api: FakeStripeRefunds,
) -> None:
    stripe_api.hold("re_part", 3000)
    stripe_api.hold("re_failed", 500, status="failed")
    report = event("charge.refunded", refunded_charge(paid["payment_intent"], 3000, []))

    assert twice(client, report) == ("recorded", "already_processed")

    after = state(app)
    assert (after["payment"], after["refunded"], after["invoice"]) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("30.00"),
        InvoiceStatus.PAID,
    )
    assert api.balance(user)["balance"] == 100


def test_our_own_refund_listed_at_stripe_is_not_counted_again(
    app: BillingApp,
    client: FlaskClient,
    paid: dict[str, Any],
    stripe_api: FakeStripeRefunds,
) -> None:
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None
        app.container.payments.payment_service().record_refund(
            payment, Decimal("40.00"), "re_ours", "admin", None
        )
        db.session.commit()
    stripe_api.hold("re_ours", 4000, metadata={"refund_id": str(uuid.uuid4())})
    report = event("charge.refunded", refunded_charge(paid["payment_intent"], 4000, []))

    assert twice(client, report) == ("recorded", "already_processed")
    assert state(app)["refunded"] == Decimal("40.00")


def test_a_dispute_takes_the_grants_back_and_a_won_dispute_gives_them_back(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    opened = event("charge.dispute.created", dispute(paid))
    assert twice(client, opened) == ("recorded", "already_processed")
    during = state(app)
    assert (during["payment"], during["invoice"], during["subscription"], during["add_on"]) == (
        PaymentStatus.DISPUTED,
        InvoiceStatus.REFUNDED,
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.CANCELED,
    )
    assert api.balance(user)["balance"] == 0

    won = event("charge.dispute.closed", dispute(paid, status="won"))
    assert twice(client, won) == ("recorded", "already_processed")
    # A second close of the same dispute (a new event id) finds nothing to change.
    assert twice(client, event("charge.dispute.closed", dispute(paid, status="won")))[0] == (
        "ignored"
    )

    after = state(app)
    assert (after["payment"], after["invoice"], after["subscription"], after["add_on"]) == (
        PaymentStatus.COMPLETED,
        InvoiceStatus.PAID,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.ACTIVE,
    )
    assert api.balance(user)["balance"] == 100
    assert after["entries"] == 3  # purchase, dispute debit, dispute-won credit: never an edit


def test_a_lost_dispute_leaves_the_grants_taken_back(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    assert twice(client, event("charge.dispute.created", dispute(paid)))[0] == "recorded"
    lost = event("charge.dispute.closed", dispute(paid, status="lost"))

    assert twice(client, lost) == ("recorded", "already_processed")

    after = state(app)
    assert (after["payment"], after["refunded"], after["invoice"]) == (
        PaymentStatus.REFUNDED,
        Decimal(paid["amount_total"]) / 100,
        InvoiceStatus.REFUNDED,
    )
    assert api.balance(user)["balance"] == 0
    assert after["entries"] == 2
    with app.app_context():
        row = db.session.scalar(select(PaymentRefund))
        assert row is not None and (row.provider_refund_id, row.tokens_reversed) == ("dp_1", 100)


def test_a_dispute_of_spent_tokens_takes_what_is_left(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    from tests.integration.test_refunds import spend

    spend(app, user, 30)
    assert twice(client, event("charge.dispute.created", dispute(paid)))[0] == "recorded"
    assert api.balance(user)["balance"] == 0
    assert twice(client, event("charge.dispute.closed", dispute(paid, status="won")))[0] == (
        "recorded"
    )
    assert api.balance(user)["balance"] == 70  # what the dispute took, given back


def test_an_admin_refund_of_a_generic_webhook_payment_is_external_and_takes_grants_back(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    checkout: dict[str, Any],
) -> None:
    captured = post_webhook(client, capture_payload(checkout["invoice"]))
    assert captured.status_code == 200
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None and payment.provider == "webhook"
        payment_id = payment.id

    response = client.post(
        f"/api/v1/admin/payments/{payment_id}/refund", json={}, headers=admin.headers
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["payment_status"], body["invoice_status"], body["tokens_reversed"]) == (
        "refunded",
        "refunded",
        100,
    )
    assert api.balance(user)["balance"] == 0
    with app.app_context():
        row = db.session.scalar(select(PaymentRefund))
        assert row is not None and row.provider_refund_id is None  # external: nobody called


def test_a_dashboard_refund_of_money_never_applied_takes_nothing_back(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    checkout: dict[str, Any],
    paid: dict[str, Any],
    stripe_api: FakeStripeRefunds,
) -> None:
    second = paid_session(checkout["invoice"], user.id)  # the invoice was already paid
    answer = post_stripe_event(client, event("checkout.session.completed", second))
    assert answer.get_json()["status"] == "requires_refund"
    stripe_api.hold("re_second", second["amount_total"])
    report = event(
        "charge.refunded",
        refunded_charge(second["payment_intent"], second["amount_total"], []),
    )

    assert twice(client, report) == ("recorded", "already_processed")

    assert api.balance(user)["balance"] == 100
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "paid"
    with app.app_context():
        statuses = set(db.session.scalars(select(Payment.status)))
    assert statuses == {PaymentStatus.COMPLETED, PaymentStatus.REFUNDED}
