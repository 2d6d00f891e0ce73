"""Paying an invoice through a provider (here the manual one), payment history, stats, expiry."""

import uuid
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.payment import Payment, PaymentStatusChange
from tests.support.api import ApiClient, RegisteredUser


def pay(client: FlaskClient, user: RegisteredUser, invoice_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay",
        json={"provider": "manual", **body},
        headers=user.headers,
    )


def history(app: BillingApp, payment_id: str) -> list[tuple[str | None, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(PaymentStatusChange)
            .where(PaymentStatusChange.payment_id == uuid.UUID(payment_id))
            .order_by(PaymentStatusChange.created_at)
        )
        return [(row.from_status, row.to_status) for row in rows]


def invoice_of(api: ApiClient, user: RegisteredUser, bundle: Any) -> str:
    invoice_id: str = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]["id"]
    return invoice_id


def test_paying_twice_reuses_the_open_payment_and_an_admin_completes_it(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    invoice_id = invoice_of(api, user, demo_catalog["tokens-50"])
    first = pay(client, user, invoice_id)
    again = pay(client, user, invoice_id)

    assert (first.status_code, again.status_code) == (201, 200)
    started = first.get_json()
    assert started["status"] == "pending" and started["provider"] == "manual"
    assert started["provider_payment_id"].startswith("manual-INV-")
    assert again.get_json()["payment_id"] == started["payment_id"]
    assert again.get_json()["reused"] is True

    settle = client.post(
        f"/api/v1/admin/invoices/{invoice_id}/mark-paid",
        json={"payment_reference": "BANK-7"},
        headers=admin.headers,
    )
    assert settle.status_code == 200
    assert count_rows(Payment) == 1
    assert history(app, started["payment_id"]) == [(None, "pending"), ("pending", "completed")]
    assert api.balance(user)["balance"] == 50


def test_stripe_without_configuration_is_503_and_leaves_nothing(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    invoice_id = invoice_of(api, user, demo_catalog["tokens-50"])
    response = pay(client, user, invoice_id, provider="stripe")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "stripe_not_configured"
    assert count_rows(Payment) == 0


def test_only_the_owners_pending_invoice_can_be_paid(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    theirs = invoice_of(api, api.register(), demo_catalog["tokens-50"])
    paid = invoice_of(api, user, demo_catalog["tokens-50"])
    client.post(
        f"/api/v1/admin/invoices/{paid}/mark-paid",
        json={"payment_reference": "B-1"},
        headers=admin.headers,
    )

    assert pay(client, user, theirs).status_code == 404
    refused = pay(client, user, paid)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "invoice_not_payable"
    unknown = pay(client, user, invoice_of(api, user, demo_catalog["tokens-50"]), provider="paypal")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "provider_not_found"
    bad_mode = pay(client, user, theirs, mode="sepa")
    assert bad_mode.status_code == 400


def test_verify_asks_the_provider_and_only_for_your_own_payment(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    payment_id = pay(client, user, invoice_of(api, user, demo_catalog["tokens-50"])).get_json()[
        "payment_id"
    ]
    mine = client.post(
        "/api/v1/user/payments/verify", json={"payment_id": payment_id}, headers=user.headers
    )
    theirs = client.post(
        "/api/v1/user/payments/verify",
        json={"payment_id": payment_id},
        headers=api.register().headers,
    )

    assert mine.status_code == 200
    assert mine.get_json() == {
        "payment_id": payment_id,
        "payment_status": "pending",
        "invoice_status": "pending",
        "captured": False,
    }
    assert theirs.status_code == 404


def test_payment_history_filters_by_status_and_stats_add_up(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    paid = invoice_of(api, user, demo_catalog["tokens-100"])
    pay(client, user, paid)
    client.post(
        f"/api/v1/admin/invoices/{paid}/mark-paid",
        json={"payment_reference": "B-9"},
        headers=admin.headers,
    )
    pay(client, user, invoice_of(api, user, demo_catalog["tokens-50"]))

    everything = client.get("/api/v1/user/payments", headers=user.headers).get_json()["items"]
    completed = client.get(
        "/api/v1/user/payments", query_string={"status": "completed"}, headers=user.headers
    ).get_json()["items"]
    stats = client.get("/api/v1/user/payments/stats", headers=user.headers).get_json()

    assert [item["status"] for item in everything] == ["pending", "completed"]
    assert [(item["amount"], item["currency"]) for item in completed] == [("89.00", "USD")]
    assert stats == {
        "total_spent": "89.00",
        "currency": "USD",
        "completed_payments": 1,
        "failed_payments": 0,
        "total_tokens_purchased": 100,
        "other_currencies": [],
    }
    other = client.get("/api/v1/user/payments", headers=api.register().headers).get_json()
    assert other["items"] == []


def test_expiry_marks_stale_pending_payments_and_the_invoice_stays_payable(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    invoice_id = invoice_of(api, user, demo_catalog["tokens-50"])
    stale = pay(client, user, invoice_id).get_json()["payment_id"]
    fresh_invoice = invoice_of(api, user, demo_catalog["tokens-50"])
    fresh = pay(client, user, fresh_invoice).get_json()["payment_id"]
    with app.app_context():  # set-up: the first payment was started 31 minutes ago
        db.session.execute(
            update(Payment)
            .where(Payment.id == uuid.UUID(stale))
            .values(created_at=utc_now() - timedelta(minutes=31))
        )
        db.session.commit()

    result = runner.invoke(args=["payments", "expire"])

    assert result.exit_code == 0, result.output
    assert "1 pending payment(s) older than 30 minutes expired" in result.output
    assert history(app, stale)[-1] == ("pending", "expired")
    assert history(app, fresh) == [(None, "pending")]
    assert api.invoice(user, invoice_id)["status"] == "pending"
    again = pay(client, user, invoice_id)
    assert again.status_code == 201 and again.get_json()["payment_id"] != stale


def test_cancelling_the_invoice_cancels_its_open_payment(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    invoice_id = invoice_of(api, user, demo_catalog["tokens-50"])
    payment_id = pay(client, user, invoice_id).get_json()["payment_id"]
    client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)
    assert history(app, payment_id)[-1] == ("pending", "cancelled")


def test_a_payment_in_the_providers_hands_is_never_replaced_or_cancelled(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    invoice_id = invoice_of(api, user, demo_catalog["tokens-50"])
    payment_id = pay(client, user, invoice_id).get_json()["payment_id"]
    with app.app_context():  # set-up: the provider reported the money is moving (e.g. SEPA)
        db.session.execute(
            update(Payment).where(Payment.id == uuid.UUID(payment_id)).values(status="processing")
        )
        db.session.commit()

    again = pay(client, user, invoice_id, mode="checkout")
    cancel = client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)

    for response in (again, cancel):
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "payment_in_progress"
    assert api.invoice(user, invoice_id)["status"] == "pending"
