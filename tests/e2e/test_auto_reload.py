"""Auto-reload against localstripe: a saved card is charged off-session when a use leaves
the balance under the threshold, and the tokens arrive through the normal webhook capture."""

import json
import time
from typing import Any

import pytest
import requests
import stripe

from src.app import BillingApp
from tests.support import stripe_fake as localstripe
from src.jobs.names import AUTO_RELOAD_TASK
from tests.support.http_api import HttpApi, HttpUser, eventually
from tests.support.jobs import jobs


@pytest.fixture
def api(stripe_app_url: str, stripe_worker: object, app: BillingApp) -> HttpApi:
    """The served app and a real worker: reloads are jobs that the consume defers."""
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    return HttpApi(stripe_app_url)


def reloads_settled(app: BillingApp) -> bool:
    """Every reload job the uses deferred has run (the worker is a separate process)."""
    return all(job["status"] in ("succeeded", "failed") for job in jobs(app, AUTO_RELOAD_TASK))


def use_and_settle(
    app: BillingApp, api: HttpApi, user: HttpUser, amount: int, reference: str
) -> dict[str, Any]:
    used = use(api, user, amount, reference)
    eventually(lambda: reloads_settled(app))
    return used


def save_card(api: HttpApi, sdk: stripe.StripeClient, user: HttpUser, card: str) -> None:
    """The app prepares a SetupIntent; the browser would confirm it. localstripe's confirm
    does not attach the card, so the test attaches it and makes it the default itself."""
    setup = user.session.post(f"{api.base}/user/payment-methods/setup", json={}, timeout=30)
    assert setup.status_code == 201, setup.text
    customer = setup.json()["customer_id"]
    assert setup.json()["client_secret"]
    attached = sdk.v1.payment_methods.attach(card, params={"customer": customer})
    sdk.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": attached.id}}
    )


def three_d_secure_card(sdk: stripe.StripeClient) -> str:
    """A card whose off-session charge needs the customer: the PaymentIntent stays open."""
    card = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return str(card.id)


def fund(api: HttpApi, sdk: stripe.StripeClient, user: HttpUser, tokens: int) -> None:
    invoice = api.checkout_bundle(user, tokens)
    started = api.pay(user, invoice["id"])
    sdk.v1.payment_intents.update(
        started["provider_payment_id"], params={"payment_method": "pm_card_visa"}
    )
    sdk.v1.payment_intents.confirm(started["provider_payment_id"])
    eventually(lambda: api.balance(user) == tokens)


def configure(api: HttpApi, user: HttpUser, threshold: int, tokens: int) -> None:
    response = user.session.put(
        f"{api.base}/user/tokens/auto-reload",
        json={"enabled": True, "threshold": threshold, "bundle_id": api.bundle_id(tokens)},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def use(api: HttpApi, user: HttpUser, amount: int, reference: str) -> dict[str, Any]:
    response = user.session.post(
        f"{api.base}/user/tokens/consume",
        json={"amount": amount, "reference": reference},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def settings(api: HttpApi, user: HttpUser) -> dict[str, Any]:
    body: dict[str, Any] = user.session.get(
        f"{api.base}/user/tokens/auto-reload", timeout=10
    ).json()
    return body


def test_a_low_balance_reloads_from_the_saved_card(
    api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str
) -> None:
    user = api.register()
    save_card(api, stripe_sdk, user, "pm_card_visa")
    fund(api, stripe_sdk, user, 50)
    configure(api, user, threshold=10, tokens=100)

    assert use(api, user, 45, "big-job")["balance"] == 5

    eventually(lambda: api.balance(user) == 105)
    reloads = [p for p in api.payments(user) if p["amount"] == "89.00"]
    assert [p["status"] for p in reloads] == ["completed"]
    assert settings(api, user)["failure_count"] == 0


def test_a_reload_paid_at_once_credits_without_waiting_for_the_webhook(
    app: BillingApp,
    api: HttpApi,
    stripe_sdk: stripe.StripeClient,
    localstripe_url: str,
    app_webhook: str,
) -> None:
    """Stripe answers the off-session charge ``succeeded``: captured then (one payment, one
    credit); the webhook, silenced here, would have been a duplicate."""
    user = api.register()
    save_card(api, stripe_sdk, user, "pm_card_visa")
    fund(api, stripe_sdk, user, 50)
    localstripe.silence_webhook(localstripe_url, app_webhook)
    configure(api, user, threshold=40, tokens=100)

    for i in range(4):
        use_and_settle(app, api, user, 5, f"small-{i}")  # 45, 40, 35 (+100 at once), 130

    reload_payments = [p for p in api.payments(user) if p["amount"] == "89.00"]
    assert [p["status"] for p in reload_payments] == ["completed"]
    assert api.balance(user) == 130


def test_only_one_reload_is_in_flight(
    app: BillingApp,
    api: HttpApi,
    stripe_sdk: stripe.StripeClient,
    app_webhook: str,
) -> None:
    """A card that needs the customer (3-D Secure) leaves the reload open at Stripe: it stays
    in flight, and later uses under the threshold start no second one."""
    user = api.register()
    save_card(api, stripe_sdk, user, three_d_secure_card(stripe_sdk))
    fund(api, stripe_sdk, user, 50)
    configure(api, user, threshold=40, tokens=100)

    for i in range(4):
        use_and_settle(app, api, user, 5, f"small-{i}")  # 45, 40, 35, 30: three under 40

    reload_payments = [p for p in api.payments(user) if p["amount"] == "89.00"]
    assert [p["status"] for p in reload_payments] == ["pending"]
    assert api.balance(user) == 30
    assert settings(api, user)["failure_count"] == 0


def test_three_declined_reloads_switch_auto_reload_off(
    app: BillingApp, api: HttpApi, stripe_sdk: stripe.StripeClient, app_webhook: str
) -> None:
    user = api.register()
    save_card(api, stripe_sdk, user, "pm_card_chargeCustomerFail")
    fund(api, stripe_sdk, user, 50)  # a one-off payment; the declining card stays the default
    configure(api, user, threshold=50, tokens=100)

    for i in range(4):
        use_and_settle(app, api, user, 1, f"tiny-{i}")

    state = settings(api, user)
    assert state["enabled"] is False and state["failure_count"] == 3
    assert "declined" in state["disabled_reason"].lower()
    assert api.balance(user) == 46
    failed = [p for p in api.payments(user) if p["status"] == "failed"]
    assert len(failed) == 3


def test_a_reload_declined_later_is_counted_and_does_not_block_the_next(
    app: BillingApp,
    api: HttpApi,
    stripe_sdk: stripe.StripeClient,
    localstripe_url: str,
    stripe_app_url: str,
    app_webhook: str,
) -> None:
    user = api.register()
    save_card(api, stripe_sdk, user, three_d_secure_card(stripe_sdk))
    fund(api, stripe_sdk, user, 50)
    localstripe.silence_webhook(localstripe_url, app_webhook)
    configure(api, user, threshold=40, tokens=100)
    use_and_settle(app, api, user, 15, "first-dip")  # 35 < 40: a reload starts, needs 3-D Secure
    reload = next(p for p in api.payments(user) if p["amount"] == "89.00")

    failure = {
        "id": "evt_late_decline",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": reload["provider_payment_id"],
                "object": "payment_intent",
                "status": "requires_payment_method",
                "amount": 8900,
                "currency": "usd",
                "metadata": {"payment_id": reload["id"], "invoice_id": reload["invoice_id"]},
                "last_payment_error": {"code": "card_declined", "message": "Card declined later."},
            }
        },
    }
    body = json.dumps(failure)
    header = stripe.WebhookSignature.generate_signature_header(body, localstripe.WEBHOOK_SECRET)
    delivered = requests.post(
        f"{stripe_app_url}/api/v1/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": header},
        timeout=30,
    )
    assert delivered.json()["status"] == "recorded"

    state = settings(api, user)
    assert (state["enabled"], state["failure_count"]) == (True, 1)
    assert api.invoice_status(user, reload["invoice_id"]) == "cancelled"
    use_and_settle(app, api, user, 1, "second-dip")
    reloads = [p for p in api.payments(user) if p["amount"] == "89.00"]
    assert len(reloads) == 2
