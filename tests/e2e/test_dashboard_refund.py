"""A refund made in Stripe's dashboard (here: made at localstripe with the SDK), reported by
a signed ``charge.refunded`` whose payload lists no refunds: the app reads the refund from
localstripe's API and takes the grants back, once for two deliveries."""

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentRefund, PaymentStatus
from src.models.token_bundle import TokenBundle
from tests.conftest import TEST_SETTINGS
from tests.support import stripe_fake as localstripe
from tests.support.api import ApiClient
from tests.support.stripe_events import event, post_stripe_event


@pytest.fixture
def app_settings(database_url: str, localstripe_url: str) -> dict[str, Any]:
    """The in-process app, its Stripe client pointed at localstripe."""
    return {
        **TEST_SETTINGS,
        "DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": localstripe.API_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "TRIAL_CREDITS": 0,
    }


@pytest.fixture
def client(app: BillingApp) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def paid(
    app: BillingApp, client: FlaskClient, stripe_sdk: stripe.StripeClient
) -> Iterator[dict[str, Any]]:
    """100 tokens paid at localstripe with a card, captured by a signed succeeded event."""
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    api = ApiClient(client)
    user = api.register()
    with app.app_context():
        bundle = db.session.scalar(select(TokenBundle.id).where(TokenBundle.code == "tokens-100"))
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    started = client.post(
        f"/api/v1/user/invoices/{invoice['id']}/pay",
        json={"provider": "stripe"},
        headers=user.headers,
    )
    assert started.status_code == 201, started.get_json()
    intent_id = started.get_json()["provider_payment_id"]
    stripe_sdk.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    intent = stripe_sdk.v1.payment_intents.confirm(intent_id)
    assert intent.status == "succeeded"
    charge = intent.latest_charge
    assert charge is not None
    charge_id = charge if isinstance(charge, str) else charge.id
    delivered = post_stripe_event(
        client,
        event(
            "payment_intent.succeeded",
            {
                "id": intent.id,
                "object": "payment_intent",
                "status": "succeeded",
                "amount": intent.amount,
                "amount_received": intent.amount,
                "currency": intent.currency,
                "metadata": intent.metadata.to_dict(),
                "latest_charge": charge_id,
            },
        ),
    )
    assert delivered.status_code == 200, delivered.get_json()
    assert api.balance(user)["balance"] == 100
    yield {"intent": intent, "charge_id": charge_id, "user": user, "api": api}


def test_a_dashboard_refund_is_read_from_stripe_and_takes_the_grants_back_once(
    app: BillingApp, client: FlaskClient, stripe_sdk: stripe.StripeClient, paid: dict[str, Any]
) -> None:
    intent = paid["intent"]
    made = stripe_sdk.v1.refunds.create(params={"payment_intent": intent.id})  # no metadata
    report = event(
        "charge.refunded",
        {
            "id": paid["charge_id"],
            "object": "charge",
            "payment_intent": intent.id,
            "amount": intent.amount,
            "amount_refunded": intent.amount,
            "currency": intent.currency,
            "refunded": True,
            # Recent API versions embed no refunds: the app must ask Stripe.
        },
    )

    first = post_stripe_event(client, report)
    again = post_stripe_event(client, report)

    assert (first.status_code, first.get_json()["status"]) == (200, "recorded")
    assert again.get_json()["status"] == "already_processed"
    assert paid["api"].balance(paid["user"])["balance"] == 0
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None and payment.status is PaymentStatus.REFUNDED
        assert db.session.scalar(select(Invoice.status)) is InvoiceStatus.REFUNDED
        rows = db.session.scalars(select(PaymentRefund)).all()
        assert [(row.provider_refund_id, row.tokens_reversed) for row in rows] == [(made.id, 100)]
    assert len(stripe_sdk.v1.refunds.list(params={"payment_intent": intent.id}).data) == 1
