"""Money a provider confirmed that its invoice cannot take is never refused: it is kept once
as ``requires_refund`` (nothing granted, a savepoint undoes what capture began), a refund
job is deferred in the same transaction for a provider we refund through, and admins list
it. Real PostgreSQL; ten confirmations race on real threads."""

import uuid
from typing import Any

from dependency_injector import providers
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.errors import Conflict
from src.extensions import db
from src.jobs.names import REFUND_UNAPPLIED_TASK
from src.models.payment import Payment, PaymentStatus, PaymentStatusChange
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_ledger import TokenTransaction
from src.services.token_service import TokenService
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently
from tests.support.jobs import jobs
from tests.support.stripe_events import event, paid_session, post_stripe_event
from tests.support.webhooks import capture_payload, post_webhook


def payments(app: BillingApp) -> list[Payment]:
    with app.app_context():
        rows = list(db.session.scalars(select(Payment).order_by(Payment.created_at)))
        for row in rows:
            db.session.expunge(row)
    return rows


def history(app: BillingApp, payment_id: uuid.UUID) -> list[tuple[str | None, str, str | None]]:
    with app.app_context():
        rows = db.session.scalars(
            select(PaymentStatusChange)
            .where(PaymentStatusChange.payment_id == payment_id)
            .order_by(PaymentStatusChange.created_at)
        )
        return [(row.from_status, row.to_status, row.reason) for row in rows]


def test_ten_stripe_payments_confirmed_at_once_capture_one_and_refund_nine(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-100"],)
    )
    sessions = [paid_session(checkout["invoice"], user.id) for _ in range(10)]

    responses = run_concurrently(
        app,
        10,
        lambda client, i: post_stripe_event(
            client, event("checkout.session.completed", sessions[i])
        ),
    )

    assert [response.status_code for response in responses] == [200] * 10
    answers = sorted(response.get_json()["status"] for response in responses)
    assert answers == ["requires_refund"] * 9 + ["success"]
    assert api.balance(user)["balance"] == 100
    assert count_rows(TokenTransaction) == 1
    rows = payments(app)
    assert sorted(p.status.value for p in rows) == ["completed"] + ["requires_refund"] * 9
    unapplied = {str(p.id) for p in rows if p.status is PaymentStatus.REQUIRES_REFUND}
    assert {p.error_code for p in rows if p.status is PaymentStatus.REQUIRES_REFUND} == {
        "invoice_already_paid"
    }
    deferred = jobs(app, REFUND_UNAPPLIED_TASK)
    assert sorted(job["args"]["payment_id"] for job in deferred) == sorted(unapplied)
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "paid"


class RuleFailingTokenService(TokenService):
    """The credit is written, then a rule refuses: what capture began must be undone."""

    def credit_many(self, *args: Any, **kwargs: Any) -> Any:
        super().credit_many(*args, **kwargs)
        raise Conflict("A rule refused this purchase.", code="test_rule_refused")


def test_a_rule_failing_mid_capture_grants_nothing_and_requires_a_refund(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-50"],)
    )
    app.container.tokens.token_service.override(
        providers.Factory(RuleFailingTokenService, tokens=app.container.tokens.token_repository)
    )
    try:
        response = post_webhook(client, capture_payload(checkout["invoice"], "PAY-RULE"))
        again = post_webhook(client, capture_payload(checkout["invoice"], "PAY-RULE"))
    finally:
        app.container.tokens.token_service.reset_override()

    assert response.status_code == again.status_code == 200
    assert (response.get_json()["status"], response.get_json()["reason"]) == (
        "requires_refund",
        "test_rule_refused",
    )
    assert again.get_json() == response.get_json()
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"
    assert api.balance(user) == {"balance": 0, "total_purchased": 0, "total_spent": 0}
    assert count_rows(TokenTransaction) == 0
    with app.app_context():
        subscription = db.session.scalar(select(Subscription))
        assert subscription is not None and subscription.status is SubscriptionStatus.PENDING
    [payment] = payments(app)
    assert (payment.status, payment.error_code) == (
        PaymentStatus.REQUIRES_REFUND,
        "test_rule_refused",
    )
    assert history(app, payment.id) == [(None, "requires_refund", "test_rule_refused")]
    # The generic webhook's provider is not one we refund through: it waits for an admin.
    assert jobs(app, REFUND_UNAPPLIED_TASK) == []


def test_a_late_success_on_a_cancelled_payment_of_a_paid_invoice_is_that_payment(
    app: BillingApp, api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: Any
) -> None:
    """The started payment is reused (by our id in the metadata): no second row."""
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    post_webhook(client, capture_payload(checkout["invoice"], "PAY-FIRST"))
    with app.app_context():
        started = Payment(
            invoice_id=uuid.UUID(checkout["invoice"]["id"]),
            user_id=user.id,
            provider="stripe",
            method="payment_intent",
            amount=payments(app)[0].amount,
            currency="USD",
            status=PaymentStatus.CANCELLED,
            provider_payment_intent_id="pi_late_1",
        )
        db.session.add(started)
        db.session.commit()
        started_id = started.id
    session = paid_session(checkout["invoice"], user.id, payment_intent="pi_late_1")
    session["metadata"]["payment_id"] = str(started_id)

    response = post_stripe_event(client, event("checkout.session.completed", session))

    assert response.get_json()["status"] == "requires_refund"
    rows = payments(app)
    assert len(rows) == 2
    late = next(p for p in rows if p.id == started_id)
    assert (late.status, late.error_code) == (PaymentStatus.REQUIRES_REFUND, "invoice_already_paid")
    assert history(app, started_id)[-1] == ("cancelled", "requires_refund", "invoice_already_paid")


def test_admins_list_payments_that_require_a_refund_page_by_page(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    for reference in ("PAY-1", "PAY-2", "PAY-3"):
        post_webhook(client, capture_payload(checkout["invoice"], reference))
    url = "/api/v1/admin/payments?status=requires_refund&limit=1"

    first = client.get(url, headers=admin.headers)
    assert first.status_code == 200
    cursor = first.get_json()["next_cursor"]
    second = client.get(f"{url}&cursor={cursor}", headers=admin.headers)

    seen = first.get_json()["items"] + second.get_json()["items"]
    assert [item["provider_payment_id"] for item in seen] == ["PAY-3", "PAY-2"]
    assert {item["status"] for item in seen} == {"requires_refund"}
    assert {item["error_code"] for item in seen} == {"invoice_already_paid"}
    assert seen[0]["user_id"] == str(user.id)
    assert second.get_json()["next_cursor"] is None
    everything = client.get("/api/v1/admin/payments", headers=admin.headers).get_json()
    assert len(everything["items"]) == 3

    detail = client.get(f"/api/v1/admin/payments/{seen[0]['id']}", headers=admin.headers)
    assert [(h["to_status"], h["reason"]) for h in detail.get_json()["history"]] == [
        ("requires_refund", "invoice_already_paid")
    ]
    assert client.get(url, headers=user.headers).status_code == 403
