"""Issue 10 (e) against localstripe: Stripe took the money, then capture could not apply it
(a rule failed, or another payment paid the invoice first). The signed event is answered
200 ``requires_refund``, nothing is granted, and the ``payment.refund_unapplied`` job (run
here by a real worker pass) refunds it in full at localstripe exactly once, without
taking back anything another payment granted. The app runs in-process (``stripe_app``)."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import stripe
from flask.testing import FlaskClient
from sqlalchemy import func, select

from src.app import BillingApp
from src.extensions import db
from src.jobs.names import REFUND_UNAPPLIED_TASK
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentRefund, PaymentStatus, RefundStatus
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import TokenBundle
from src.models.token_ledger import TokenTransaction
from tests.support.api import ApiClient, RegisteredUser
from tests.support.jobs import jobs, run_jobs
from tests.support import stripe_fake as localstripe
from tests.support.stripe_events import event, post_stripe_event


def catalog_id(app: BillingApp, model: type[Plan] | type[TokenBundle], code: str) -> str:
    with app.app_context():
        found = db.session.scalar(select(model.id).where(model.code == code))
        db.session.rollback()
    return str(found)


def succeeded(client: FlaskClient, intent: Any) -> Any:
    """The signed payment_intent.succeeded Stripe would send for ``intent``."""
    charge = intent.latest_charge
    body = {
        "id": intent.id,
        "object": "payment_intent",
        "status": "succeeded",
        "amount": intent.amount,
        "amount_received": intent.amount,
        "currency": intent.currency,
        "metadata": intent.metadata.to_dict(),
        "latest_charge": charge if isinstance(charge, str) else charge.id,
    }
    return event("payment_intent.succeeded", body)


def pay_at_stripe(
    client: FlaskClient, sdk: stripe.StripeClient, user: RegisteredUser, invoice_id: str
) -> Any:
    started = client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay", json={"provider": "stripe"}, headers=user.headers
    )
    assert started.status_code == 201, started.get_json()
    intent_id = started.get_json()["provider_payment_id"]
    sdk.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    intent = sdk.v1.payment_intents.confirm(intent_id)
    assert intent.status == "succeeded"
    return intent


def deliver(client: FlaskClient, payload: dict[str, Any]) -> Any:
    return post_stripe_event(client, payload, secret=localstripe.WEBHOOK_SECRET)


def refunds_at_stripe(sdk: stripe.StripeClient, intent_id: str) -> list[Any]:
    return list(sdk.v1.refunds.list(params={"payment_intent": intent_id}).data)


def the_payment(app: BillingApp, intent_id: str) -> Payment:
    with app.app_context():
        payment = db.session.scalars(
            select(Payment).where(Payment.provider_payment_intent_id == intent_id)
        ).one()
        db.session.expunge(payment)
        return payment


def ledger_entries(app: BillingApp, user: RegisteredUser) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(TokenTransaction)
            .where(TokenTransaction.user_id == user.id)
        )
        db.session.rollback()
    return int(count or 0)


def test_a_rule_failing_after_stripe_took_the_money_is_refunded_once(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    client = stripe_app.test_client()
    api = ApiClient(client)
    user = api.register()
    checkout = api.checkout(
        user,
        plan_id=catalog_id(stripe_app, Plan, "pro-monthly"),
        token_bundle_ids=(catalog_id(stripe_app, TokenBundle, "tokens-100"),),
    )
    intent = pay_at_stripe(client, stripe_sdk, user, checkout["invoice"]["id"])
    with stripe_app.app_context():  # meanwhile the subscription stopped being pending
        subscription = db.session.get(Subscription, uuid.UUID(checkout["subscription"]["id"]))
        assert subscription is not None
        subscription.status = SubscriptionStatus.ACTIVE
        db.session.commit()

    delivery = succeeded(client, intent)
    first = deliver(client, delivery)
    redelivered = deliver(client, delivery)
    another_event = deliver(client, succeeded(client, intent))

    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "requires_refund"
    assert redelivered.get_json()["status"] == "already_processed"
    assert another_event.get_json()["status"] == "requires_refund"
    payment = the_payment(stripe_app, intent.id)
    assert (payment.status, payment.error_code) == (
        PaymentStatus.REQUIRES_REFUND,
        "subscription_not_pending",
    )
    assert len(jobs(stripe_app, REFUND_UNAPPLIED_TASK)) == 1

    run_jobs(stripe_app)
    run_jobs(stripe_app)

    [refund] = refunds_at_stripe(stripe_sdk, intent.id)
    assert refund.amount == intent.amount
    payment = the_payment(stripe_app, intent.id)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, payment.amount)
    with stripe_app.app_context():
        [row] = db.session.scalars(select(PaymentRefund)).all()
        assert (row.status, row.provider_refund_id) == (RefundStatus.SUCCEEDED, refund.id)
        invoice = db.session.get(Invoice, uuid.UUID(checkout["invoice"]["id"]))
        assert invoice is not None and invoice.status is InvoiceStatus.PENDING
        db.session.rollback()
    assert api.balance(user)["balance"] == 0 and ledger_entries(stripe_app, user) == 0
    assert [j["status"] for j in jobs(stripe_app, REFUND_UNAPPLIED_TASK)] == ["succeeded"]


def test_a_second_payment_of_a_paid_invoice_is_refunded_and_takes_nothing_back(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    client = stripe_app.test_client()
    api = ApiClient(client)
    user = api.register()
    invoice = api.checkout(
        user, token_bundle_ids=(catalog_id(stripe_app, TokenBundle, "tokens-100"),)
    )["invoice"]
    paid = pay_at_stripe(client, stripe_sdk, user, invoice["id"])
    assert deliver(client, succeeded(client, paid)).get_json()["status"] == "success"
    second = stripe_sdk.v1.payment_intents.create(
        params={
            "amount": paid.amount,
            "currency": paid.currency,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"invoice_id": invoice["id"], "user_id": str(user.id)},
        }
    )
    assert second.status == "succeeded"

    answer = deliver(client, succeeded(client, second))
    run_jobs(stripe_app)

    assert (answer.get_json()["status"], answer.status_code) == ("requires_refund", 200)
    assert len(refunds_at_stripe(stripe_sdk, second.id)) == 1
    assert refunds_at_stripe(stripe_sdk, paid.id) == []
    assert the_payment(stripe_app, second.id).status is PaymentStatus.REFUNDED
    assert the_payment(stripe_app, paid.id).status is PaymentStatus.COMPLETED
    assert api.invoice(user, invoice["id"])["status"] == "paid"
    assert api.balance(user)["balance"] == 100 and ledger_entries(stripe_app, user) == 1


def test_ten_payments_confirmed_at_once_for_one_invoice_capture_one_and_refund_nine(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    """Ten real PaymentIntents at localstripe, each paid, all confirmed to the app at the same
    moment (ten threads): one is captured, nine require a refund and are refunded at Stripe,
    the tokens are credited once."""
    api = ApiClient(stripe_app.test_client())
    user = api.register()
    bundle = catalog_id(stripe_app, TokenBundle, "tokens-100")
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    amount = int(invoice["total_amount"].replace(".", ""))
    intents = [
        stripe_sdk.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": invoice["currency"].lower(),
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"invoice_id": invoice["id"], "user_id": str(user.id)},
            }
        )
        for _ in range(10)
    ]
    deliveries = [succeeded(stripe_app.test_client(), intent) for intent in intents]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda d: deliver(stripe_app.test_client(), d), deliveries))
    run_jobs(stripe_app)
    run_jobs(stripe_app)

    assert [a.status_code for a in answers] == [200] * 10
    statuses = sorted(a.get_json()["status"] for a in answers)
    assert statuses == ["requires_refund"] * 9 + ["success"]
    refunded = [i.id for i in intents if refunds_at_stripe(stripe_sdk, i.id)]
    captured = [i.id for i in intents if i.id not in refunded]
    assert len(refunded) == 9 and len(captured) == 1
    assert all(len(refunds_at_stripe(stripe_sdk, i)) == 1 for i in refunded)
    assert the_payment(stripe_app, captured[0]).status is PaymentStatus.COMPLETED
    assert {the_payment(stripe_app, i).status for i in refunded} == {PaymentStatus.REFUNDED}
    assert api.balance(user)["balance"] == 100 and ledger_entries(stripe_app, user) == 1
