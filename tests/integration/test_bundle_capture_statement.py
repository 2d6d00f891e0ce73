"""The one-statement capture of a bundles-only checkout (src/repositories/bundle_capture_
repository.py) writes what the full path writes, credits once under concurrent deliveries,
and, when the database changes under it, undoes itself and leaves the answer to the full
path: confirmed money is still applied or kept for a refund, never half-applied. (Ten
different payments of one bundles-only invoice at once: test_payment_capture_concurrency.)"""

import logging
import re
import threading
import uuid
from typing import Any, cast

import psycopg2
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from dependency_injector import providers
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.invoice import Invoice, InvoiceLineItem
from src.models.payment import Payment, PaymentStatusChange
from src.models.token_bundle import TokenBundlePurchase
from src.models.token_ledger import TokenTransaction, UserTokenBalance
from src.repositories.bundle_capture_repository import NOTHING_DONE, BundleCaptureRepository
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently
from tests.support.pg_faults import waiting_backend
from tests.support.tokens import buy_tokens
from tests.support.webhooks import capture_payload, post_webhook

THREE = ("tokens-100", "tokens-250", "tokens-500")


def bundles(demo_catalog: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(demo_catalog[code] for code in THREE)


def capture_rows(app: BillingApp, invoice_id: str) -> dict[str, Any]:
    """Everything a capture of the invoice wrote, without its ids and clock readings (the
    invoice number only appears as "<n>"; purchases appear as their line positions)."""
    with app.app_context():
        invoice = db.session.get(Invoice, uuid.UUID(invoice_id))
        assert invoice is not None
        lines = db.session.scalars(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.invoice_id == invoice.id)
            .order_by(InvoiceLineItem.position)
        ).all()
        position = {line.item_id: line.position for line in lines}
        purchases = [db.session.get(TokenBundlePurchase, line.item_id) for line in lines]
        balance = db.session.get(UserTokenBalance, invoice.user_id)
        entries = db.session.scalars(
            select(TokenTransaction)
            .where(TokenTransaction.reference_id.in_(position))
            .order_by(TokenTransaction.sequence)
        ).all()
        payments = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)).all()
        history = db.session.scalars(
            select(PaymentStatusChange).where(
                PaymentStatusChange.payment_id.in_([payment.id for payment in payments])
            )
        ).all()
        assert balance is not None and invoice.paid_at is not None
        return {
            "invoice": (invoice.status, invoice.provider, invoice.cancelled_at),
            "purchases": [
                (p.status, p.completed_at == invoice.paid_at, p.updated_at >= p.created_at)
                for p in purchases
                if p is not None
            ],
            "balance": (
                balance.balance,
                balance.held,
                balance.total_purchased,
                balance.total_spent,
                balance.version,
            ),
            "entries": [
                (
                    entry.sequence,
                    entry.amount,
                    entry.held_delta,
                    entry.transaction_type,
                    entry.reference_type,
                    position.get(entry.reference_id) if entry.reference_id else None,
                    entry.description.replace(invoice.number, "<n>"),
                    entry.balance_after,
                    entry.created_by,
                    entry.user_id == invoice.user_id,
                )
                for entry in entries
            ],
            "payments": [
                (
                    p.user_id == invoice.user_id,
                    p.provider,
                    p.provider_reference == invoice.payment_reference,
                    p.provider_payment_intent_id,
                    p.provider_session_id,
                    p.provider_charge_id,
                    p.method,
                    p.amount,
                    p.refunded_amount,
                    p.currency,
                    p.status,
                    p.error_code,
                    p.error_message,
                    p.payload_digest is not None and len(p.payload_digest) == 64,
                    p.recorded_by,
                    p.note,
                    p.completed_at is not None,
                    p.expires_at,
                    p.start_lease_until,
                )
                for p in payments
            ],
            "history": [
                (change.from_status, change.to_status, change.reason, change.provider_event_id)
                for change in history
            ],
        }


def published(records: list[logging.LogRecord]) -> list[str]:
    """The audit log's lines, ids and invoice references blanked."""
    uuid_text = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    lines = [record.getMessage() for record in records if record.name == "billing.events"]
    return [re.sub(r"PAY-\w+", "<ref>", uuid_text.sub("<id>", line)) for line in lines]


@pytest.mark.parametrize("earlier_balance", [50, 0], ids=["a balance row", "no balance row"])
def test_the_statement_writes_what_the_full_path_writes(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    demo_catalog: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    earlier_balance: int,
) -> None:
    """Two users with the same history buy the same three bundles; one capture runs as the
    statement, the other with it turned off: the rows and the notifications agree. Without
    an earlier purchase the capture creates the balance row (the upsert's INSERT)."""
    answers, rows, notifications = [], [], []
    for one_statement in (True, False):
        user = api.register()
        if earlier_balance:
            buy_tokens(api, user, demo_catalog["tokens-50"])
        checkout = api.checkout(user, token_bundle_ids=bundles(demo_catalog))
        if not one_statement:
            monkeypatch.setattr(BundleCaptureRepository, "settle", lambda *_: NOTHING_DONE)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="billing.events"):
            response = post_webhook(client, capture_payload(checkout["invoice"]))
        assert response.status_code == 200
        answer = response.get_json()
        assert answer.pop("invoice_id") == checkout["invoice"]["id"]
        answers.append(answer)
        rows.append(capture_rows(app, checkout["invoice"]["id"]))
        notifications.append(published(caplog.records))

    assert answers[0] == answers[1]
    assert (answers[0]["status"], answers[0]["items_activated"]) == ("success", 3)
    assert rows[0] == rows[1]
    versions = 4 if earlier_balance else 3
    total = earlier_balance + 850
    assert rows[0]["balance"] == (total, 0, total, 0, versions)
    assert [entry[0] for entry in rows[0]["entries"]] == list(range(versions - 2, versions + 1))
    running = [earlier_balance + 100, earlier_balance + 350, total]
    assert [entry[7] for entry in rows[0]["entries"]] == running
    assert notifications[0] == notifications[1]
    assert [line.split()[0] for line in notifications[0]] == ["tokens.credited"] * 3 + [
        "invoice.paid"
    ]


def test_fifty_concurrent_deliveries_of_one_payment_credit_once(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    checkout = api.checkout(user, token_bundle_ids=bundles(demo_catalog))
    payload = capture_payload(checkout["invoice"], "PAY-RACE")

    responses = run_concurrently(app, 50, lambda client, _: post_webhook(client, payload))

    assert [response.status_code for response in responses] == [200] * 50
    statuses = sorted(response.get_json()["status"] for response in responses)
    assert statuses == ["already_paid"] * 49 + ["success"]
    assert api.balance(user) == {"balance": 850, "total_purchased": 850, "total_spent": 0}
    assert count_rows(TokenTransaction) == 3
    assert count_rows(Payment) == 1


def post_while_held(
    app: BillingApp, database_url: str, hold: str, params: tuple[Any, ...], payload: Any
) -> TestResponse:
    """Run ``hold`` (a write) in a transaction of the test's own, send the capture, commit the
    hold once the capture's backend waits on it, and return the capture's answer."""
    holder = psycopg2.connect(database_url)
    answer: list[TestResponse] = []
    try:
        with holder.cursor() as cursor:
            cursor.execute(hold, params)
            assert cursor.rowcount == 1
        sender = threading.Thread(
            target=lambda: answer.append(post_webhook(app.test_client(), payload))
        )
        sender.start()
        backend = waiting_backend(database_url)
        assert "billing_capture_bundles" in backend.query
        holder.commit()
        sender.join(timeout=30)
    finally:
        holder.rollback()
        holder.close()
    assert answer, "the capture did not answer"
    return answer[0]


def test_a_reference_taken_meanwhile_by_another_invoice_leaves_a_refund(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    database_url: str,
    demo_catalog: dict[str, Any],
) -> None:
    """The statement's snapshot shows the reference free; another invoice's capture takes
    it and commits while the statement waits: the unique index refuses it, the savepoint
    undoes all of it, and the full path keeps the money for a refund."""
    other = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    checkout = api.checkout(user, token_bundle_ids=bundles(demo_catalog))

    response = post_while_held(
        app,
        database_url,
        "UPDATE invoices SET status = 'paid', provider = 'webhook', payment_reference = %s,"
        " paid_at = now() WHERE id = %s",
        ("PAY-TAKEN", other["id"]),
        capture_payload(checkout["invoice"], "PAY-TAKEN"),
    )

    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["status"], answer["reason"], answer["items_activated"]) == (
        "requires_refund",
        "payment_reference_reused",
        0,
    )
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"
    assert api.balance(user) == {"balance": 0, "total_purchased": 0, "total_spent": 0}
    with app.app_context():
        kept = db.session.scalars(
            select(Payment).where(Payment.invoice_id == uuid.UUID(checkout["invoice"]["id"]))
        ).all()
    assert [(p.status.value, p.error_code) for p in kept] == [
        ("requires_refund", "payment_reference_reused")
    ]


def test_a_purchase_cancelled_meanwhile_undoes_the_statement(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    database_url: str,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    """The snapshot shows three pending purchases; one is cancelled and committed while the
    statement waits on its row, so it completes two: the savepoint undoes the invoice, the
    two purchases, the credit and the payment, and the full path refuses the capture."""
    checkout = api.checkout(user, token_bundle_ids=bundles(demo_catalog))
    with app.app_context():
        second = db.session.scalar(
            select(InvoiceLineItem.item_id).where(
                InvoiceLineItem.invoice_id == uuid.UUID(checkout["invoice"]["id"]),
                InvoiceLineItem.position == 1,
            )
        )

    response = post_while_held(
        app,
        database_url,
        "UPDATE token_bundle_purchases SET status = 'cancelled' WHERE id = %s",
        (str(second),),
        capture_payload(checkout["invoice"], "PAY-LATE"),
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "requires_refund"
    assert response.get_json()["reason"] == "purchase_not_pending"
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"
    assert api.balance(user) == {"balance": 0, "total_purchased": 0, "total_spent": 0}
    assert count_rows(TokenTransaction) == 0
    with app.app_context():
        statuses = sorted(
            p.status.value
            for p in db.session.scalars(
                select(TokenBundlePurchase).where(TokenBundlePurchase.user_id == user.id)
            )
        )
        kept = db.session.scalars(select(Payment)).all()
    assert statuses == ["cancelled", "pending", "pending"]
    assert [(p.status.value, p.error_code) for p in kept] == [
        ("requires_refund", "purchase_not_pending")
    ]


def test_the_full_capture_is_built_only_for_what_the_statement_leaves(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    client: FlaskClient,
    demo_catalog: dict[str, Any],
) -> None:
    """The capture service is ten services deep, and neither a checkout nor the one
    statement needs it: the webhook's handler and the checkout's free settlement get it as
    a provider (src/containers/). A bundles-only checkout and its capture never build it; a
    plan's capture, which the statement leaves to it, builds it once."""
    capture_service = cast(providers.Factory[Any], app.container.payments.capture_service)
    built: list[object] = []

    def counted(*args: Any, **kwargs: Any) -> object:
        built.append(capture_service.cls(*args, **kwargs))
        return built[-1]

    capture_service.override(
        providers.Factory(counted, *capture_service.args, **capture_service.kwargs)
    )
    bundles_only = api.checkout(user, token_bundle_ids=bundles(demo_catalog))["invoice"]
    plan = api.checkout(api.register(), plan_id=demo_catalog["pro-monthly"])["invoice"]
    response = post_webhook(client, capture_payload(bundles_only, "PAY-BUNDLES"))
    assert response.get_json()["status"] == "success"
    assert built == []

    response = post_webhook(client, capture_payload(plan, "PAY-PLAN"))
    assert response.get_json()["status"] == "success"
    assert len(built) == 1
