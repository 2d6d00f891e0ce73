"""A captured payment activates everything the invoice holds, exactly once, all or nothing."""

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOnSubscription
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from tests.support.api import ApiClient, RegisteredUser
from tests.support.catalog import CatalogBuilder
from tests.support.recording import record_notifications
from tests.support.webhooks import capture_payload, post_webhook


def load(app: BillingApp, model: Any, row_id: str) -> Any:
    with app.app_context():
        row = db.session.get(model, uuid.UUID(row_id))
        db.session.expunge_all()
        return row


def payments_of(app: BillingApp, invoice_id: str) -> list[Payment]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(Payment)
                .where(Payment.invoice_id == uuid.UUID(invoice_id))
                .order_by(Payment.created_at)
            )
        )
        db.session.expunge_all()
        return rows


def test_payment_activates_subscription(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(user, plan_id=demo_catalog["pro-monthly"])

    response = post_webhook(client, capture_payload(checkout["invoice"], "PAY-123"))

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "success",
        "invoice_id": checkout["invoice"]["id"],
        "items_activated": 1,
        "reason": None,
        "message": None,
        "payment_id": None,
    }
    subscription = load(app, Subscription, checkout["subscription"]["id"])
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert subscription.expires_at == subscription.starts_at + relativedelta(months=1)
    invoice = api.invoice(user, checkout["invoice"]["id"])
    assert invoice["status"] == "paid" and invoice["paid_at"] is not None


def test_payment_credits_tokens(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    tokens_50, tokens_100 = demo_catalog["tokens-50"], demo_catalog["tokens-100"]
    checkout = api.checkout(user, token_bundle_ids=(tokens_50, tokens_50, tokens_100))
    assert api.balance(user)["balance"] == 0  # nothing is granted before the payment

    assert post_webhook(client, capture_payload(checkout["invoice"], "PAY-456")).status_code == 200

    assert api.balance(user) == {"balance": 200, "total_purchased": 200, "total_spent": 0}
    for purchase in checkout["token_bundles"]:
        assert load(app, TokenBundlePurchase, purchase["id"]).status is PurchaseStatus.COMPLETED
    ledger = client.get("/api/v1/user/tokens/transactions", headers=user.headers).get_json()
    assert [(e["amount"], e["type"], e["balance_after"]) for e in ledger["items"]] == [
        (100, "purchase", 200),
        (100, "purchase", 100),
    ]
    assert {e["reference_id"] for e in ledger["items"]} == {
        p["id"] for p in checkout["token_bundles"]
    }


def test_payment_activates_addon(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], add_on_ids=(demo_catalog["priority-support"],)
    )
    response = post_webhook(client, capture_payload(checkout["invoice"], "PAY-789"))

    assert response.status_code == 200 and response.get_json()["items_activated"] == 2
    add_on = load(app, AddOnSubscription, checkout["add_ons"][0]["id"])
    parent = load(app, Subscription, checkout["subscription"]["id"])
    assert add_on.status is SubscriptionStatus.ACTIVE
    assert add_on.expires_at == parent.expires_at


def test_recurring_add_on_never_outlives_its_subscription(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    catalog: CatalogBuilder,
) -> None:
    monthly_plan = catalog.plan(period=BillingPeriod.MONTHLY)
    yearly_add_on = catalog.add_on(period=BillingPeriod.YEARLY)
    checkout = api.checkout(user, plan_id=monthly_plan, add_on_ids=(yearly_add_on,))
    post_webhook(client, capture_payload(checkout["invoice"]))

    add_on = load(app, AddOnSubscription, checkout["add_ons"][0]["id"])
    parent = load(app, Subscription, checkout["subscription"]["id"])
    assert add_on.expires_at == parent.expires_at
    assert add_on.expires_at < add_on.starts_at + relativedelta(years=1)


def test_expiries_follow_each_billing_period(
    app: BillingApp, api: ApiClient, client: FlaskClient, catalog: CatalogBuilder
) -> None:
    yearly = catalog.plan(period=BillingPeriod.YEARLY)
    lifetime = catalog.plan(period=BillingPeriod.ONE_TIME)
    monthly_add_on = catalog.add_on(period=BillingPeriod.MONTHLY)
    one_time_add_on = catalog.add_on(period=BillingPeriod.ONE_TIME)

    first = api.checkout(api.register(), plan_id=yearly, add_on_ids=(monthly_add_on,))
    second = api.checkout(api.register(), plan_id=lifetime, add_on_ids=(one_time_add_on,))
    for checkout in (first, second):
        assert post_webhook(client, capture_payload(checkout["invoice"])).status_code == 200

    yearly_sub = load(app, Subscription, first["subscription"]["id"])
    assert yearly_sub.expires_at == yearly_sub.starts_at + relativedelta(years=1)
    monthly = load(app, AddOnSubscription, first["add_ons"][0]["id"])
    assert monthly.expires_at == monthly.starts_at + relativedelta(months=1)
    assert load(app, Subscription, second["subscription"]["id"]).expires_at is None
    assert load(app, AddOnSubscription, second["add_ons"][0]["id"]).expires_at is None


def test_the_capture_is_recorded_as_a_completed_payment(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    payload = capture_payload(checkout["invoice"], "PAY-REC", provider="acme-pay")
    post_webhook(client, payload)

    (payment,) = payments_of(app, checkout["invoice"]["id"])
    assert (payment.status, payment.provider, payment.provider_reference) == (
        PaymentStatus.COMPLETED,
        "acme-pay",
        "PAY-REC",
    )
    assert (payment.amount, payment.currency) == (Decimal("49.00"), "USD")
    assert payment.user_id == user.id and payment.completed_at is not None
    assert payment.payload_digest is not None and len(payment.payload_digest) == 64


def test_notifications_follow_the_commit(
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
    received = record_notifications(app)
    post_webhook(client, capture_payload(checkout["invoice"]))
    assert [event.name for event, _ in received] == [
        "subscription.activated",
        "tokens.credited",
        "addon.activated",
        "invoice.paid",
    ]


def test_a_duplicate_delivery_is_harmless(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-100"],))
    payload = capture_payload(checkout["invoice"], "PAY-DUP")
    first = post_webhook(client, payload)
    again = post_webhook(client, payload)

    assert first.status_code == again.status_code == 200
    assert again.get_json() == {
        "status": "already_paid",
        "invoice_id": checkout["invoice"]["id"],
        "items_activated": 0,
        "reason": None,
        "message": None,
        "payment_id": None,
    }
    assert api.balance(user)["balance"] == 100
    assert len(payments_of(app, checkout["invoice"]["id"])) == 1


def test_another_payment_for_a_paid_invoice_is_200_requires_refund_and_recorded_once(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    """The money arrived: acknowledged, kept once as requires_refund, nothing granted. The
    generic webhook's provider cannot be refunded through: it waits for an admin (no job)."""
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-100"],))
    post_webhook(client, capture_payload(checkout["invoice"], "PAY-A"))
    published = record_notifications(app)
    second = post_webhook(client, capture_payload(checkout["invoice"], "PAY-B"))
    again = post_webhook(client, capture_payload(checkout["invoice"], "PAY-B"))

    assert second.status_code == again.status_code == 200
    body = second.get_json()
    assert (body["status"], body["reason"], body["items_activated"]) == (
        "requires_refund",
        "invoice_already_paid",
        0,
    )
    assert "nothing was granted" in body["message"].lower()
    assert again.get_json() == body
    assert api.balance(user)["balance"] == 100
    statuses = [
        (p.provider_reference, p.status, p.error_code)
        for p in payments_of(app, checkout["invoice"]["id"])
    ]
    assert statuses == [
        ("PAY-A", PaymentStatus.COMPLETED, None),
        ("PAY-B", PaymentStatus.REQUIRES_REFUND, "invoice_already_paid"),
    ]
    assert [e.reason for e, _ in published if e.name == "payment.requires_refund"] == [
        "invoice_already_paid"
    ]
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "paid"


def test_one_reference_cannot_settle_two_invoices(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    first = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    second = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    post_webhook(client, capture_payload(first["invoice"], "PAY-SAME"))
    reused = post_webhook(client, capture_payload(second["invoice"], "PAY-SAME"))

    # One provider payment is applied once: acknowledged, neither granted nor refunded.
    assert reused.status_code == 200
    assert reused.get_json()["status"] == "already_processed"
    assert reused.get_json()["reason"] == "payment_reference_reused"
    assert api.invoice(user, second["invoice"]["id"])["status"] == "pending"
    assert api.balance(user)["balance"] == 50


def test_amount_or_currency_mismatch_changes_nothing_and_is_recorded(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-50"],)
    )
    invoice = checkout["invoice"]
    short = post_webhook(client, capture_payload(invoice, "PAY-S", amount="97.99"))
    euros = post_webhook(client, capture_payload(invoice, "PAY-E", currency="EUR"))

    for response in (short, euros):
        assert response.status_code == 200
        assert response.get_json()["status"] == "requires_refund"
        assert response.get_json()["reason"] == "amount_mismatch"
    assert api.invoice(user, invoice["id"])["status"] == "pending"
    assert load(app, Subscription, checkout["subscription"]["id"]).status is (
        SubscriptionStatus.PENDING
    )
    assert api.balance(user)["balance"] == 0
    kept = payments_of(app, invoice["id"])
    assert [(p.provider_reference, p.status, p.error_code, p.amount, p.currency) for p in kept] == [
        ("PAY-S", PaymentStatus.REQUIRES_REFUND, "amount_mismatch", Decimal("97.99"), "USD"),
        ("PAY-E", PaymentStatus.REQUIRES_REFUND, "amount_mismatch", Decimal("98.00"), "EUR"),
    ]


def test_a_json_number_amount_is_exact(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, catalog: CatalogBuilder
) -> None:
    checkout = api.checkout(user, token_bundle_ids=(catalog.bundle(price="0.10"),) * 3)
    raw = (
        f'{{"invoice_id": "{checkout["invoice"]["id"]}", "payment_reference": "P-N", '
        f'"amount": 0.30, "currency": "usd"}}'
    )
    assert post_webhook(client, raw).status_code == 200


def test_cancelled_or_expired_invoices_cannot_be_captured(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkouts = [
        api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],)) for _ in range(2)
    ]
    with app.app_context():  # set-up: these states come from other features (cancel, expiry)
        for checkout, status in zip(checkouts, (InvoiceStatus.CANCELLED, InvoiceStatus.EXPIRED)):
            invoice = db.session.get(Invoice, uuid.UUID(checkout["invoice"]["id"]))
            assert invoice is not None
            invoice.status = status
        db.session.commit()

    for checkout in checkouts:
        response = post_webhook(client, capture_payload(checkout["invoice"]))
        assert response.status_code == 200
        assert response.get_json()["status"] == "requires_refund"
        assert response.get_json()["reason"] == "invoice_not_payable"
    assert api.balance(user)["balance"] == 0


def test_an_unknown_invoice_is_404_and_the_attempt_is_kept(
    app: BillingApp, client: FlaskClient, count_rows: Any
) -> None:
    fake_invoice = {"id": str(uuid.uuid4()), "total_amount": "10.00", "currency": "USD"}
    response = post_webhook(client, capture_payload(fake_invoice, "PAY-GHOST"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "invoice_not_found"
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None and payment.invoice_id is None
        assert (payment.error_code, payment.provider_reference) == (
            "invoice_not_found",
            "PAY-GHOST",
        )


def test_captures_are_for_the_invoice_owner_only(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    other = api.register()
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-250"],))
    post_webhook(client, capture_payload(checkout["invoice"]))

    assert api.balance(user)["balance"] == 250
    assert api.balance(other)["balance"] == 0
    hidden = client.get(f"/api/v1/user/invoices/{checkout['invoice']['id']}", headers=other.headers)
    assert hidden.status_code == 404


def test_paid_at_is_recent_utc(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    from datetime import datetime, timezone

    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    post_webhook(client, capture_payload(checkout["invoice"]))
    paid_at = datetime.fromisoformat(api.invoice(user, checkout["invoice"]["id"])["paid_at"])
    assert paid_at.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - paid_at) < timedelta(minutes=1)
