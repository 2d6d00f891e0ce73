"""Paying through Stripe end to end: the real SDK, localstripe as Stripe, the app served by
granian on loopback, and localstripe's signed webhooks delivered to it."""

import json
import threading
import time
from typing import Any

import pytest
import requests
import stripe
from sqlalchemy import func, select

from src.app import BillingApp
from src.extensions import db
from src.models.payment import WebhookEvent
from src.models.user import User
from tests.support import stripe_fake as localstripe
from tests.support.api import PASSWORD
from tests.support.http_api import HttpApi, HttpUser, eventually


@pytest.fixture
def api(stripe_app_url: str, app: BillingApp) -> HttpApi:
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    return HttpApi(stripe_app_url)


def confirm_with(sdk: stripe.StripeClient, intent_id: str, card: str) -> Any:
    """What the customer's browser does with the client secret: attach a card, confirm."""
    sdk.v1.payment_intents.update(intent_id, params={"payment_method": card})
    return sdk.v1.payment_intents.confirm(intent_id)


def paid_and_credited(api: HttpApi, user: HttpUser, invoice_id: str, tokens: int) -> None:
    eventually(lambda: api.invoice_status(user, invoice_id) == "paid")
    assert api.balance(user) == tokens


def test_pay_confirm_and_the_signed_webhook_credits(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str, app: BillingApp
) -> None:
    user = api.register()
    invoice = api.checkout_bundle(user, 100)
    started = api.pay(user, invoice["id"])

    assert started["status"] == "pending" and started["client_secret"]
    intent = stripe_sdk.v1.payment_intents.retrieve(started["provider_payment_id"])
    assert (intent.amount, intent.currency) == (8900, "usd")
    assert intent.metadata["invoice_id"] == invoice["id"]
    assert intent.metadata["payment_id"] == started["payment_id"]
    assert api.invoice_status(user, invoice["id"]) == "pending"  # nothing before confirmation

    assert confirm_with(stripe_sdk, intent.id, "pm_card_visa").status == "succeeded"

    paid_and_credited(api, user, invoice["id"], 100)
    payment = eventually(lambda: [p for p in api.payments(user) if p["status"] == "completed"])
    assert payment[0]["provider_payment_id"] == intent.id
    with app.app_context():
        processed = db.session.scalar(select(func.count()).select_from(WebhookEvent))
    assert processed is not None and processed >= 1


def test_the_customer_is_created_once_and_an_open_payment_is_reused(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app: BillingApp
) -> None:
    user = api.register()
    first_invoice = api.checkout_bundle(user, 50)
    first = api.pay(user, first_invoice["id"])
    again = api.pay(user, first_invoice["id"], expect=200)
    api.pay(user, api.checkout_bundle(user, 50)["id"])

    assert again["payment_id"] == first["payment_id"] and again["reused"] is True
    assert again["client_secret"] == first["client_secret"]
    with app.app_context():
        customer_id = db.session.scalar(select(User.stripe_customer_id).where(User.id == user.id))
    assert customer_id is not None
    customer = stripe_sdk.v1.customers.retrieve(customer_id)
    assert customer.email == user.email
    assert len(stripe_sdk.v1.customers.list().data) == 1


def test_a_declined_card_fails_the_payment_and_the_invoice_stays_payable(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str
) -> None:
    user = api.register()
    invoice = api.checkout_bundle(user, 50)
    started = api.pay(user, invoice["id"])

    with pytest.raises(stripe.CardError):
        confirm_with(stripe_sdk, started["provider_payment_id"], "pm_card_chargeCustomerFail")

    failed = eventually(lambda: [p for p in api.payments(user) if p["status"] == "failed"])
    assert failed[0]["error_message"]
    assert api.invoice_status(user, invoice["id"]) == "pending"
    assert api.balance(user) == 0

    retry = api.pay(user, invoice["id"])
    assert retry["payment_id"] != started["payment_id"]
    confirm_with(stripe_sdk, retry["provider_payment_id"], "pm_card_visa")
    paid_and_credited(api, user, invoice["id"], 50)


def test_recovery_when_the_webhook_never_arrives(
    api: HttpApi, stripe_sdk: stripe.StripeClient, localstripe_url: str, stripe_app_url: str
) -> None:
    localstripe.silence_webhook(localstripe_url, f"{stripe_app_url}/api/v1/webhooks/stripe")
    user = api.register()
    invoice = api.checkout_bundle(user, 250)
    started = api.pay(user, invoice["id"])
    confirm_with(stripe_sdk, started["provider_payment_id"], "pm_card_visa")
    time.sleep(2)  # longer than localstripe's delivery delay: nothing may have arrived
    assert api.invoice_status(user, invoice["id"]) == "pending"

    verified = api.verify(user, started["payment_id"])

    assert verified.status_code == 200
    assert verified.json() == {
        "payment_id": started["payment_id"],
        "payment_status": "completed",
        "invoice_status": "paid",
        "captured": True,
    }
    assert api.balance(user) == 250
    again = api.verify(user, started["payment_id"]).json()
    assert again["captured"] is False and api.balance(user) == 250


def test_verify_racing_the_webhook_credits_once(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str
) -> None:
    user = api.register()
    invoice = api.checkout_bundle(user, 500)
    started = api.pay(user, invoice["id"])
    confirm_with(stripe_sdk, started["provider_payment_id"], "pm_card_visa")

    captured: list[bool] = []
    stop = time.monotonic() + 3  # spans localstripe's ~1 s delivery of the webhook

    def keep_verifying() -> None:
        while time.monotonic() < stop:
            response = api.verify(user, started["payment_id"])
            assert response.status_code == 200, response.text
            captured.append(response.json()["captured"])

    threads = [threading.Thread(target=keep_verifying) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    paid_and_credited(api, user, invoice["id"], 500)
    assert captured.count(True) <= 1
    assert len(captured) > 3


def test_a_replayed_delivery_changes_nothing(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str, stripe_app_url: str
) -> None:
    user = api.register()
    invoice = api.checkout_bundle(user, 100)
    started = api.pay(user, invoice["id"])
    confirm_with(stripe_sdk, started["provider_payment_id"], "pm_card_visa")
    paid_and_credited(api, user, invoice["id"], 100)

    delivered = stripe_sdk.v1.events.list(params={"type": "payment_intent.succeeded"}).data[0]
    body = json.dumps(delivered.to_dict())
    header = stripe.WebhookSignature.generate_signature_header(body, localstripe.WEBHOOK_SECRET)
    replay = requests.post(
        f"{stripe_app_url}/api/v1/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": header},
        timeout=10,
    )
    assert replay.status_code == 200
    assert replay.json() == {"status": "already_processed", "event_id": delivered.id}
    assert api.balance(user) == 100


def test_a_wrong_webhook_secret_is_refused_and_verify_still_recovers(
    api: HttpApi,
    stripe_sdk: stripe.StripeClient,
    localstripe_url: str,
    stripe_app_url: str,
    app: BillingApp,
) -> None:
    target = f"{stripe_app_url}/api/v1/webhooks/stripe"
    localstripe.register_webhook(localstripe_url, target, secret="whsec_not_the_apps")
    try:
        user = api.register()
        invoice = api.checkout_bundle(user, 50)
        started = api.pay(user, invoice["id"])
        confirm_with(stripe_sdk, started["provider_payment_id"], "pm_card_visa")
        time.sleep(2)
        assert api.invoice_status(user, invoice["id"]) == "pending"
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
        assert api.verify(user, started["payment_id"]).json()["captured"] is True
    finally:
        localstripe.silence_webhook(localstripe_url, target)
    assert api.balance(user) == 50


def test_an_admin_refund_goes_through_stripe_and_takes_the_tokens_back(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str, app: BillingApp
) -> None:
    user = api.register()
    invoice = api.checkout_bundle(user, 100)
    started = api.pay(user, invoice["id"])
    confirm_with(stripe_sdk, started["provider_payment_id"], "pm_card_visa")
    paid_and_credited(api, user, invoice["id"], 100)
    admin_email = "refunds@example.com"
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", admin_email, "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    admin = api.login(admin_email)

    response = admin.post(
        f"{api.base}/admin/payments/{started['payment_id']}/refund", json={}, timeout=30
    )

    assert response.status_code == 201, response.text  # Stripe answered: the refund is done
    assert response.json()["payment_status"] == "refunded"
    assert response.json()["status"] == "succeeded"
    assert response.json()["tokens_reversed"] == 100
    refunds = stripe_sdk.v1.refunds.list(
        params={"payment_intent": started["provider_payment_id"]}
    ).data
    assert [(refund.amount, refund.status) for refund in refunds] == [(8900, "succeeded")]
    assert api.balance(user) == 0
    assert api.invoice_status(user, invoice["id"]) == "refunded"
