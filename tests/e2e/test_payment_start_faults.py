"""Starting a payment under faults, against localstripe: a request that dies before the
provider call, after it (Stripe created the PaymentIntent, nothing recorded), or after the
outcome committed, then its retry (or the janitor): localstripe holds exactly one
PaymentIntent for the invoice, the payment row has its ids, and a further retry reuses it.
The app runs in-process (its fault points are armed through the container) on the same
database and localstripe as the served one. Plus a double click while Stripe's answer is in
flight, and an invoice cancel, with no transaction open during any provider call."""

import threading
import uuid
from typing import Any

import pytest
import stripe
from flask.testing import FlaskClient
from sqlalchemy import select, text

from src.app import BillingApp
from src.extensions import db
from src.models.payment import Payment, PaymentStatus
from tests.e2e.conftest import AppFactory
from tests.support.api import ApiClient, RegisteredUser
from tests.support.faults import armed
from tests.support.holding_proxy import holding_proxy

FAULT_POINTS = (
    "payment_start.before_provider_call",
    "payment_start.after_provider_call",
    "payment_start.after_outcome_commit",
)


def invoice_for(client: FlaskClient, tokens: int = 100) -> tuple[ApiClient, RegisteredUser, str]:
    api = ApiClient(client)
    user = api.register()
    bundles = client.get("/api/v1/token-bundles").get_json()["items"]
    bundle = next(b["id"] for b in bundles if b["token_amount"] == tokens)
    invoice_id: str = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]["id"]
    return api, user, invoice_id


def pay(client: FlaskClient, user: RegisteredUser, invoice_id: str) -> Any:
    return client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay", json={"provider": "stripe"}, headers=user.headers
    )


def intents_at_stripe(sdk: stripe.StripeClient, invoice_id: str) -> list[Any]:
    """Every PaymentIntent localstripe holds for this invoice (by our metadata)."""
    intents = sdk.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [
        intent
        for intent in intents
        if "metadata" in intent
        and "invoice_id" in intent["metadata"]
        and intent["metadata"]["invoice_id"] == invoice_id
    ]


def payments_of(app: BillingApp, invoice_id: str) -> list[Payment]:
    with app.app_context():
        rows = db.session.scalars(
            select(Payment).where(Payment.invoice_id == uuid.UUID(invoice_id))
        ).all()
        db.session.expunge_all()
        return list(rows)


def lease_ran_out(app: BillingApp, payment_id: uuid.UUID) -> None:
    """Time passes: the dead request's start lease runs out (no request lives that long)."""
    with app.app_context():
        db.session.execute(
            text(
                "UPDATE payments SET start_lease_until = now() - interval '1 second' WHERE id = :id"
            ),
            {"id": payment_id},
        )
        db.session.commit()


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_pay_request_that_dies_at_a_fault_point_is_completed_by_its_retry(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, point: str
) -> None:
    client = stripe_app.test_client()
    api, user, invoice_id = invoice_for(client)

    with armed(stripe_app, point) as faults:
        died = pay(client, user, invoice_id)
    assert point in faults.reached_points
    assert died.status_code == 500 and died.get_json()["error"]["code"] == "internal_error"
    [payment] = payments_of(stripe_app, invoice_id)
    assert len(intents_at_stripe(stripe_sdk, invoice_id)) == (
        0 if point == "payment_start.before_provider_call" else 1
    )
    if point == "payment_start.before_provider_call":
        waiting = pay(client, user, invoice_id)  # the dead request still holds the lease
        assert waiting.status_code == 409
        assert waiting.get_json()["error"]["code"] == "payment_starting"
        assert intents_at_stripe(stripe_sdk, invoice_id) == []
        lease_ran_out(stripe_app, payment.id)

    retried = pay(client, user, invoice_id)
    again = pay(client, user, invoice_id)

    [intent] = intents_at_stripe(stripe_sdk, invoice_id)
    [payment] = payments_of(stripe_app, invoice_id)
    assert (payment.status, payment.provider_payment_intent_id) == (
        PaymentStatus.PENDING,
        intent.id,
    )
    assert intent.metadata["payment_id"] == str(payment.id)
    for answer in (retried, again):
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert (body["payment_id"], body["provider_payment_id"], body["reused"]) == (
            str(payment.id),
            intent.id,
            True,
        )
        assert body["client_secret"] == intent.client_secret

    # The one PaymentIntent pays the invoice; verify settles it once.
    stripe_sdk.v1.payment_intents.update(intent.id, params={"payment_method": "pm_card_visa"})
    assert stripe_sdk.v1.payment_intents.confirm(intent.id).status == "succeeded"
    verified = client.post(
        "/api/v1/user/payments/verify", json={"payment_id": str(payment.id)}, headers=user.headers
    )
    assert verified.get_json()["captured"] is True
    assert api.invoice(user, invoice_id)["status"] == "paid"
    assert api.balance(user)["balance"] == 100
    assert len(intents_at_stripe(stripe_sdk, invoice_id)) == 1


@pytest.mark.parametrize("point", FAULT_POINTS[:2])
def test_a_pay_request_left_without_a_retry_is_resolved_for_the_janitor(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, point: str
) -> None:
    client = stripe_app.test_client()
    _, user, invoice_id = invoice_for(client)
    with armed(stripe_app, point):
        assert pay(client, user, invoice_id).status_code == 500
    [payment] = payments_of(stripe_app, invoice_id)
    lease_ran_out(stripe_app, payment.id)

    with stripe_app.app_context():
        first = stripe_app.container.payment_start_process().resolve(payment.id)
        second = stripe_app.container.payment_start_process().resolve(payment.id)

    [payment] = payments_of(stripe_app, invoice_id)
    intents = intents_at_stripe(stripe_sdk, invoice_id)
    if point == "payment_start.after_provider_call":  # Stripe has it: its ids are recorded
        assert (first, second) == ("open", None)
        assert payment.provider_payment_intent_id == intents[0].id and len(intents) == 1
    else:  # Stripe never heard of it: the intent closes, the invoice stays payable
        assert (first, second, intents) == ("expired", None, [])
        assert payment.status is PaymentStatus.EXPIRED


def test_a_double_click_while_stripes_answer_is_in_flight_gets_the_same_payment(
    stripe_apps: AppFactory, localstripe_url: str, stripe_sdk: stripe.StripeClient
) -> None:
    """The first click's PaymentIntent is created at Stripe but its answer is held; the second
    click finds the payment committed and leased, looks it up by its metadata instead of
    creating another, and answers it; the first click then records the same ids."""
    with holding_proxy(localstripe_url, ("POST", "/v1/payment_intents")) as proxy:
        app = stripe_apps(proxy.url)
        _, user, invoice_id = invoice_for(app.test_client())
        answers: dict[str, Any] = {}

        def first_click() -> None:
            answers["first"] = pay(app.test_client(), user, invoice_id)

        clicking = threading.Thread(target=first_click)
        clicking.start()
        assert proxy.acted.wait(timeout=30)
        second = pay(app.test_client(), user, invoice_id)
        proxy.release.set()
        clicking.join(timeout=30)

    first = answers["first"]
    [intent] = intents_at_stripe(stripe_sdk, invoice_id)
    [payment] = payments_of(app, invoice_id)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["payment_id"] == second.get_json()["payment_id"] == str(payment.id)
    assert first.get_json()["client_secret"] == second.get_json()["client_secret"]
    assert payment.provider_payment_intent_id == intent.id


def test_cancelling_the_invoice_cancels_its_payment_intent_at_stripe(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    client = stripe_app.test_client()
    api, user, invoice_id = invoice_for(client)
    started = pay(client, user, invoice_id).get_json()

    cancelled = client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)

    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    [intent] = intents_at_stripe(stripe_sdk, invoice_id)
    assert intent.id == started["provider_payment_id"] and intent.status == "canceled"
    [payment] = payments_of(stripe_app, invoice_id)
    assert payment.status is PaymentStatus.CANCELLED
