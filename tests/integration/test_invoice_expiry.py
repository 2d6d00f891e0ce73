"""Issue 11, "Expiry of what is abandoned": a checkout invoice left unpaid for
``INVOICE_EXPIRY_DAYS`` (7) expires with what it would have bought, moved through time with
``flask billing run-due --now`` (no sleeps), over real PostgreSQL and the HTTP API."""

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from src.app import BillingApp
from src.clock import utc_now
from src.errors import InvalidState
from src.extensions import db
from src.jobs.schedule import run_due as run_schedule
from src.models.addon import AddOnSubscription
from src.models.invoice import Invoice, InvoiceKind, InvoiceLineItem, InvoiceStatus, LineItemType
from src.models.payment import Payment, PaymentStatus
from src.models.subscription import Subscription, SubscriptionStatus, SubscriptionStatusChange
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from src.providers.base import PaymentProviders, RemotePayment, RemoteStatus
from src.providers.manual import ManualProvider
from tests.integration.test_run_due import run_due
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently
from tests.support.jobs import jobs, run_jobs
from tests.support.recording import record_notifications
from tests.support.webhooks import capture_payload, post_webhook
from tests.unit.fakes import FakePaymentProvider

JOB = "invoices.expire_abandoned"


class SessionCheckingProvider(FakePaymentProvider):
    """The provider stand-in: records every call, and any made with a transaction open."""

    def __init__(self) -> None:
        super().__init__()
        self.in_transaction: list[str] = []

    def _call(self, method: str) -> None:
        if db.session().in_transaction():
            self.in_transaction.append(method)
        super()._call(method)


@pytest.fixture
def provider(app: BillingApp) -> Iterator[SessionCheckingProvider]:
    checking = SessionCheckingProvider()
    registry = PaymentProviders({"stripe": checking, "manual": ManualProvider()})
    with app.container.payments.payment_providers.override(providers.Object(registry)):
        yield checking
    assert checking.in_transaction == []


def invoice_row(app: BillingApp, invoice_id: Any) -> Invoice:
    with app.app_context():
        invoice = db.session.get(Invoice, uuid.UUID(str(invoice_id)))
        assert invoice is not None
        db.session.expunge(invoice)
        return invoice


def statuses(app: BillingApp, checkout: dict[str, Any]) -> dict[str, Any]:
    """The invoice's status and each of its items', read from the database."""
    with app.app_context():
        invoice = db.session.get(Invoice, uuid.UUID(checkout["invoice"]["id"]))
        subscription = db.session.get(Subscription, uuid.UUID(checkout["subscription"]["id"]))
        assert invoice is not None and subscription is not None
        purchases = db.session.scalars(
            select(TokenBundlePurchase.status).where(
                TokenBundlePurchase.id.in_([uuid.UUID(p["id"]) for p in checkout["token_bundles"]])
            )
        ).all()
        add_ons = db.session.scalars(
            select(AddOnSubscription.status).where(
                AddOnSubscription.id.in_([uuid.UUID(a["id"]) for a in checkout["add_ons"]])
            )
        ).all()
        return {
            "invoice": invoice.status,
            "subscription": subscription.status,
            "purchases": sorted(purchases),
            "add_ons": sorted(add_ons),
        }


def backdate(app: BillingApp, invoice_id: Any, days: float) -> None:
    """Test set-up: the checkout happened ``days`` ago (the payment, if any, stays recent)."""
    with app.app_context():
        invoice = db.session.get(Invoice, uuid.UUID(str(invoice_id)))
        assert invoice is not None
        invoice.created_at -= timedelta(days=days)
        db.session.commit()


def expired_history(app: BillingApp, subscription_id: Any) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(SubscriptionStatusChange.to_status).where(
                    SubscriptionStatusChange.subscription_id == uuid.UUID(str(subscription_id)),
                    SubscriptionStatusChange.to_status == SubscriptionStatus.EXPIRED.value,
                )
            )
        )


def full_checkout(api: ApiClient, user: RegisteredUser, catalog: dict[str, Any]) -> Any:
    return api.checkout(
        user,
        plan_id=catalog["pro-monthly"],
        token_bundle_ids=(catalog["tokens-50"],),
        add_on_ids=(catalog["priority-support"],),
    )


def test_an_abandoned_checkout_expires_after_seven_days_and_frees_the_plan_slot(
    app: BillingApp,
    api: ApiClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = full_checkout(api, user, demo_catalog)
    created = utc_now()
    blocked = api.checkout(user, plan_id=demo_catalog["starter-monthly"], expect=409)
    assert blocked["error"]["code"] == "subscription_exists"
    pending = {
        "invoice": InvoiceStatus.PENDING,
        "subscription": SubscriptionStatus.PENDING,
        "purchases": [PurchaseStatus.PENDING],
        "add_ons": [SubscriptionStatus.PENDING],
    }

    early = run_due(runner, created + timedelta(days=6))
    assert early[JOB] == 0
    assert statuses(app, checkout) == pending

    late = run_due(runner, created + timedelta(days=8))
    assert late[JOB] == 1
    assert statuses(app, checkout) == {
        "invoice": InvoiceStatus.EXPIRED,
        "subscription": SubscriptionStatus.EXPIRED,
        "purchases": [PurchaseStatus.CANCELLED],
        "add_ons": [SubscriptionStatus.EXPIRED],
    }
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "expired"
    again = api.checkout(user, plan_id=demo_catalog["starter-monthly"])
    assert again["subscription"]["status"] == "pending"
    assert api.balance(user)["balance"] == 0


def test_money_arriving_for_an_expired_invoice_is_kept_for_refund_not_applied(
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    invoice = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    assert run_due(runner, utc_now() + timedelta(days=8))[JOB] == 1

    late = post_webhook(client, capture_payload(invoice))

    assert late.status_code == 200
    assert (late.get_json()["status"], late.get_json()["reason"]) == (
        "requires_refund",
        "invoice_not_payable",
    )
    assert api.balance(user)["balance"] == 0


def renewal_invoice(app: BillingApp, subscription_id: str, created_at: datetime) -> uuid.UUID:
    """Test set-up: an unpaid renewal invoice of ``subscription_id`` (as renewals create
    them), written with the models, created long ago."""
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(subscription_id))
        assert subscription is not None and subscription.current_period_end is not None
        start = subscription.current_period_end
        invoice = Invoice(
            user_id=subscription.user_id,
            number=f"INV-R{uuid.uuid4().hex[:8]}",
            status=InvoiceStatus.PENDING,
            currency="USD",
            total_amount=Decimal("49.00"),
            kind=InvoiceKind.RENEWAL,
            subscription_id=subscription.id,
            period_start=start,
            period_end=start + timedelta(days=30),
            target_plan_id=subscription.plan_id,
            created_at=created_at,
            line_items=[
                InvoiceLineItem(
                    position=0,
                    item_type=LineItemType.SUBSCRIPTION,
                    item_id=subscription.id,
                    description="Renewal",
                    quantity=1,
                    unit_price=Decimal("49.00"),
                    total_price=Decimal("49.00"),
                )
            ],
        )
        db.session.add(invoice)
        db.session.commit()
        return invoice.id


def test_renewal_invoices_follow_dunning_and_never_expire_here(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    bought = api.checkout(user, plan_id=demo_catalog["pro-monthly"])
    assert post_webhook(client, capture_payload(bought["invoice"])).status_code == 200
    now = utc_now()
    renewal_id = renewal_invoice(app, bought["subscription"]["id"], now - timedelta(days=30))
    # The control: a checkout invoice just as old does expire in the same run.
    abandoned = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    backdate(app, abandoned["id"], days=30)

    summary = run_due(runner, now)

    assert summary[JOB] == 1
    assert invoice_row(app, abandoned["id"]).status is InvoiceStatus.EXPIRED
    assert invoice_row(app, renewal_id).status is InvoiceStatus.PENDING
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(bought["subscription"]["id"]))
        assert subscription is not None and subscription.status is SubscriptionStatus.ACTIVE


def open_provider_payment(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, bundle: Any
) -> tuple[dict[str, Any], uuid.UUID]:
    """A checkout whose customer started paying at the provider stand-in, then left."""
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    started = client.post(
        f"/api/v1/user/invoices/{invoice['id']}/pay",
        json={"provider": "stripe", "mode": "payment_intent"},
        headers=user.headers,
    )
    assert started.status_code == 201, started.get_json()
    return invoice, uuid.UUID(started.get_json()["payment_id"])


def payment_status(app: BillingApp, payment_id: uuid.UUID) -> PaymentStatus:
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert payment is not None
        return payment.status


def test_an_open_provider_payment_is_stopped_there_first_then_the_invoice_expires(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
) -> None:
    invoice, payment_id = open_provider_payment(api, client, user, demo_catalog["tokens-50"])
    # The payment was started a minute ago (payment expiry leaves it alone), on a checkout
    # eight days old: only invoice expiry can stop it.
    backdate(app, invoice["id"], days=8)

    summary = run_due(runner, utc_now() + timedelta(minutes=1))

    assert summary["payments.expire"] == 0
    assert summary[JOB] == 1
    assert [stopped.payment_intent_id for stopped in provider.cancelled] == ["pi_1"]
    assert payment_status(app, payment_id) is PaymentStatus.CANCELLED
    assert invoice_row(app, invoice["id"]).status is InvoiceStatus.EXPIRED


def test_a_payment_the_provider_will_not_stop_is_captured_and_the_invoice_not_expired(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
) -> None:
    invoice, payment_id = open_provider_payment(api, client, user, demo_catalog["tokens-50"])
    backdate(app, invoice["id"], days=8)
    provider.failures["cancel_payment"] = InvalidState("paying", code="payment_in_progress")
    provider.remote = RemotePayment(
        RemoteStatus.SUCCEEDED,
        Decimal(invoice["total_amount"]),
        invoice["currency"],
        payment_intent_id="pi_1",
    )

    summary = run_due(runner, utc_now() + timedelta(minutes=1))

    assert summary[JOB] == 0
    assert provider.calls.count("cancel_payment") == 1
    assert payment_status(app, payment_id) is PaymentStatus.COMPLETED
    assert invoice_row(app, invoice["id"]).status is InvoiceStatus.PAID
    assert api.balance(user)["balance"] == 50


def test_an_invoice_paid_before_the_run_is_untouched(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = full_checkout(api, user, demo_catalog)
    assert post_webhook(client, capture_payload(checkout["invoice"])).status_code == 200
    before = statuses(app, checkout)

    summary = run_due(runner, utc_now() + timedelta(days=8))

    assert summary[JOB] == 0
    assert before["invoice"] is InvoiceStatus.PAID
    assert statuses(app, checkout) == before
    assert api.balance(user)["balance"] == 50


def test_running_twice_expires_each_invoice_once(
    app: BillingApp,
    api: ApiClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = full_checkout(api, user, demo_catalog)
    received = record_notifications(app)
    later = utc_now() + timedelta(days=8)

    first, second = run_due(runner, later), run_due(runner, later + timedelta(minutes=10))

    assert (first[JOB], second[JOB]) == (1, 0)
    assert [event.name for event, _ in received].count("invoice.expired") == 1
    assert expired_history(app, checkout["subscription"]["id"]) == ["expired"]


def test_two_concurrent_runs_expire_each_invoice_once(
    app: BillingApp, api: ApiClient, demo_catalog: dict[str, Any]
) -> None:
    """Two run-dues at once in real threads, each as the CLI runs it (the schedule's
    ``run_due`` in an app context of its own: click's output capture is process-wide, so the
    CLI runner itself cannot be shared between threads)."""
    checkouts = [full_checkout(api, api.register(), demo_catalog) for _ in range(3)]
    received = record_notifications(app)
    later = utc_now() + timedelta(days=8)

    def run(_client: FlaskClient, _index: int) -> Any:
        with app.app_context():
            return run_schedule(app.container, later)[JOB]

    counts = run_concurrently(app, 2, run)

    assert sum(counts) == 3
    expired = [event for event, _ in received if event.name == "invoice.expired"]
    assert sorted(str(event.invoice_id) for event in expired) == sorted(
        c["invoice"]["id"] for c in checkouts
    )
    for checkout in checkouts:
        assert statuses(app, checkout)["invoice"] is InvoiceStatus.EXPIRED
        assert expired_history(app, checkout["subscription"]["id"]) == ["expired"]


def test_the_worker_periodic_task_runs_the_same_expiry(
    app: BillingApp, api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """A tick of ``invoices.expire_abandoned`` as the periodic deferrer would defer it (its
    ``timestamp`` is the tick, eight days on), run by a real worker pass."""
    checkout = full_checkout(api, user, demo_catalog)
    tick = int((utc_now() + timedelta(days=8)).timestamp())
    with app.app_context():
        app.container.jobs.job_queue().enqueue(JOB, timestamp=tick)
        db.session.commit()

    run_jobs(app)

    deferred = [job for job in jobs(app, JOB) if job["args"] == {"timestamp": tick}]
    assert [job["status"] for job in deferred] == ["succeeded"]
    assert statuses(app, checkout)["invoice"] is InvoiceStatus.EXPIRED
