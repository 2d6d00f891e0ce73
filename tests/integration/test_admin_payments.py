"""Admins mark invoices paid by hand and see every user's invoices; nobody else can."""

import uuid
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.payment import Payment, PaymentStatus
from tests.support.api import ApiClient, RegisteredUser
from tests.support.webhooks import capture_payload, post_webhook


def mark_paid(client: FlaskClient, who: RegisteredUser, invoice_id: str, **body: Any) -> Any:
    payload = {"payment_reference": "BANK-2026-001", **body}
    return client.post(
        f"/api/v1/admin/invoices/{invoice_id}/mark-paid", json=payload, headers=who.headers
    )


def test_an_admin_marks_an_invoice_paid_and_is_recorded(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    checkout = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], token_bundle_ids=(demo_catalog["tokens-100"],)
    )
    response = mark_paid(client, admin, checkout["invoice"]["id"], note="wire received")

    assert response.status_code == 200
    assert response.get_json()["status"] == "success"
    assert response.get_json()["items_activated"] == 2
    assert api.balance(user)["balance"] == 100
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None
        assert (payment.provider, payment.provider_reference, payment.status) == (
            "manual",
            "BANK-2026-001",
            PaymentStatus.COMPLETED,
        )
        assert (payment.recorded_by, payment.note) == (admin.id, "wire received")
        assert payment.amount == Decimal("138.00")


def test_marking_twice_is_already_paid_and_another_reference_is_409(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    invoice_id = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]["id"]
    assert mark_paid(client, admin, invoice_id).status_code == 200
    again = mark_paid(client, admin, invoice_id)
    other = mark_paid(client, admin, invoice_id, payment_reference="BANK-2026-002")

    assert again.status_code == 200 and again.get_json()["status"] == "already_paid"
    assert other.status_code == 409
    assert api.balance(user)["balance"] == 50


def test_a_non_admin_gets_403_and_nothing_changes(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    invoice_id = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]["id"]
    response = mark_paid(client, user, invoice_id)
    listing = client.get("/api/v1/admin/invoices", headers=user.headers)

    assert response.status_code == listing.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert api.invoice(user, invoice_id)["status"] == "pending"
    assert count_rows(Payment) == 0


def test_admin_routes_need_a_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/admin/invoices")
    assert response.status_code == 401


def test_a_demoted_admin_loses_access_at_once(
    app: BillingApp, client: FlaskClient, admin: RegisteredUser
) -> None:
    from src.models.user import User, UserRole

    with app.app_context():
        row = db.session.get(User, admin.id)
        assert row is not None
        row.role = UserRole.USER
        db.session.commit()
    assert client.get("/api/v1/admin/invoices", headers=admin.headers).status_code == 403


def test_unknown_invoice_is_404(client: FlaskClient, admin: RegisteredUser) -> None:
    response = mark_paid(client, admin, str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "invoice_not_found"


def test_admins_list_every_users_invoices_and_filter_by_status(
    api: ApiClient, client: FlaskClient, admin: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    alice, bob = api.register(), api.register()
    paid = api.checkout(alice, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]
    pending = api.checkout(bob, token_bundle_ids=(demo_catalog["tokens-100"],))["invoice"]
    post_webhook(client, capture_payload(paid, "PAY-LIST"))

    everything = client.get("/api/v1/admin/invoices", headers=admin.headers).get_json()["items"]
    only_paid = client.get(
        "/api/v1/admin/invoices", query_string={"status": "paid"}, headers=admin.headers
    ).get_json()["items"]

    assert {item["id"] for item in everything} == {paid["id"], pending["id"]}
    assert [(item["id"], item["user_id"], item["payment_reference"]) for item in only_paid] == [
        (paid["id"], str(alice.id), "PAY-LIST")
    ]
    bad = client.get("/api/v1/admin/invoices", query_string={"status": "x"}, headers=admin.headers)
    assert bad.status_code == 400
