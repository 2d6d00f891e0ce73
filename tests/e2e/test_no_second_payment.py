"""Issue 10, items (a)-(d), against localstripe: a PaymentIntent the customer has paid (its
webhook not in yet) is answered, never replaced, in either mode; the invoice cannot be
cancelled around it; an admin's mark-paid needs ``force`` while one is open and then cancels
it at localstripe first. The app runs in-process (``stripe_app``) with no webhook delivered,
so only the app's own calls to Stripe settle anything.

localstripe has no Checkout Sessions: the ``complete`` session cases (paying again after a
paid Checkout, switching from Checkout to PaymentIntent mode, cancelling after one) are
covered with a recording stand-in (tests/unit/test_stripe_complete_sessions.py) and a
scripted provider (tests/unit/test_no_second_payment.py,
tests/integration/test_no_second_payment.py). Here the switch runs the other way round."""

from typing import Any

import pytest
import stripe
from flask.testing import FlaskClient

from src.app import BillingApp
from src.models.payment import PaymentStatus
from tests.e2e.test_payment_start_faults import intents_at_stripe, invoice_for, payments_of
from tests.support.api import ApiClient, RegisteredUser


def pay(client: FlaskClient, user: RegisteredUser, invoice_id: str, mode: str) -> Any:
    return client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay",
        json={"provider": "stripe", "mode": mode},
        headers=user.headers,
    )


def paid_at_stripe(
    client: FlaskClient, sdk: stripe.StripeClient
) -> tuple[ApiClient, RegisteredUser, str]:
    """An invoice whose PaymentIntent the customer confirmed with a card at localstripe."""
    api, user, invoice_id = invoice_for(client)
    started = pay(client, user, invoice_id, "payment_intent")
    assert started.status_code == 201, started.get_json()
    intent_id = started.get_json()["provider_payment_id"]
    sdk.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert sdk.v1.payment_intents.confirm(intent_id).status == "succeeded"
    return api, user, invoice_id


def admin_of(app: BillingApp, client: FlaskClient) -> RegisteredUser:
    api = ApiClient(client)
    registered = api.register()
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", registered.email, "--promote"]
    )
    assert result.exit_code == 0, result.output
    return api.login(registered.email)


@pytest.mark.parametrize("mode", ["payment_intent", "checkout"])
def test_paying_again_after_paying_captures_that_payment_and_opens_nothing(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, mode: str
) -> None:
    client = stripe_app.test_client()
    api, user, invoice_id = paid_at_stripe(client, stripe_sdk)

    again = pay(client, user, invoice_id, mode)

    assert again.status_code == 200, again.get_json()
    assert (again.get_json()["reused"], again.get_json()["status"]) == (True, "completed")
    [intent] = intents_at_stripe(stripe_sdk, invoice_id)
    assert intent.status == "succeeded"
    [payment] = payments_of(stripe_app, invoice_id)
    assert payment.status is PaymentStatus.COMPLETED
    assert api.invoice(user, invoice_id)["status"] == "paid"
    assert api.balance(user)["balance"] == 100
    refused = pay(client, user, invoice_id, mode)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "invoice_not_payable"


def test_cancelling_after_paying_captures_the_payment_and_keeps_the_invoice(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    client = stripe_app.test_client()
    api, user, invoice_id = paid_at_stripe(client, stripe_sdk)

    cancelled = client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)

    assert cancelled.status_code == 409
    assert cancelled.get_json()["error"]["code"] == "invoice_not_cancellable"
    assert api.invoice(user, invoice_id)["status"] == "paid"
    [payment] = payments_of(stripe_app, invoice_id)
    assert payment.status is PaymentStatus.COMPLETED
    assert api.balance(user)["balance"] == 100


def test_admin_mark_paid_of_an_invoice_with_an_open_stripe_payment(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    client = stripe_app.test_client()
    api, user, invoice_id = invoice_for(client)
    assert pay(client, user, invoice_id, "payment_intent").status_code == 201
    admin = admin_of(stripe_app, client)
    url = f"/api/v1/admin/invoices/{invoice_id}/mark-paid"

    refused = client.post(url, json={"payment_reference": "BANK-9"}, headers=admin.headers)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "payment_in_progress"
    [intent] = intents_at_stripe(stripe_sdk, invoice_id)
    assert intent.status == "requires_payment_method"

    forced = client.post(
        url, json={"payment_reference": "BANK-9", "force": True}, headers=admin.headers
    )
    assert forced.status_code == 200, forced.get_json()
    [intent] = intents_at_stripe(stripe_sdk, invoice_id)
    assert intent.status == "canceled"
    statuses = sorted(p.status.value for p in payments_of(stripe_app, invoice_id))
    assert statuses == ["cancelled", "completed"]
    assert api.invoice(user, invoice_id)["status"] == "paid"
    assert api.balance(user)["balance"] == 100
    again = client.post(
        url, json={"payment_reference": "BANK-9", "force": True}, headers=admin.headers
    )
    assert again.status_code == 200 and api.balance(user)["balance"] == 100  # once
