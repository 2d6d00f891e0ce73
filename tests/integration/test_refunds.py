"""POST /admin/payments/<id>/refund: money back through the provider; a full refund takes
back what the invoice granted."""

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOnSubscription
from src.models.payment import Payment, PaymentRefund
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_ledger import TokenTransaction, TokenTransactionType
from src.services.token_service import LedgerReference
from tests.support.api import ApiClient, RegisteredUser


@pytest.fixture
def paid(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> dict[str, Any]:
    """A paid invoice (plan, add-on, 100 tokens) and its manual payment."""
    checkout = api.checkout(
        user,
        plan_id=demo_catalog["pro-monthly"],
        token_bundle_ids=(demo_catalog["tokens-100"],),
        add_on_ids=(demo_catalog["priority-support"],),
    )
    invoice_id = checkout["invoice"]["id"]
    payment = client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay", json={"provider": "manual"}, headers=user.headers
    ).get_json()
    client.post(
        f"/api/v1/admin/invoices/{invoice_id}/mark-paid",
        json={"payment_reference": "BANK-1"},
        headers=admin.headers,
    )
    return {"invoice_id": invoice_id, "payment_id": payment["payment_id"]}


def refund(client: FlaskClient, who: RegisteredUser, payment_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/admin/payments/{payment_id}/refund", json=body, headers=who.headers
    )


def spend(app: BillingApp, user: RegisteredUser, tokens: int) -> None:
    """Set-up: the user spends tokens (the pay-per-use feature has its own tests)."""
    with app.app_context():
        app.container.tokens.token_service().debit_tokens(
            user.id,
            tokens,
            kind=TokenTransactionType.USAGE,
            reference=LedgerReference("test_usage", uuid.uuid4()),
            description="test spend",
        )
        db.session.commit()


def statuses(app: BillingApp) -> tuple[SubscriptionStatus | None, SubscriptionStatus | None]:
    with app.app_context():
        return (
            db.session.scalar(select(Subscription.status)),
            db.session.scalar(select(AddOnSubscription.status)),
        )


def test_a_full_refund_takes_back_tokens_subscription_and_add_ons(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    response = refund(client, admin, paid["payment_id"], reason="customer asked")

    assert response.status_code == 201  # the provider answered at once (202 when not)
    body = response.get_json()
    assert (body["amount"], body["payment_status"], body["invoice_status"]) == (
        "147.00",
        "refunded",
        "refunded",
    )
    assert (body["tokens_reversed"], body["tokens_shortfall"]) == (100, 0)
    assert body["status"] == "succeeded"
    assert api.balance(user) == {"balance": 0, "total_purchased": 0, "total_spent": 0}
    assert statuses(app) == (SubscriptionStatus.CANCELED, SubscriptionStatus.CANCELED)
    with app.app_context():
        entry = db.session.scalar(
            select(TokenTransaction).order_by(TokenTransaction.sequence.desc())
        )
        assert entry is not None
        assert (entry.transaction_type, entry.amount) == (TokenTransactionType.REFUND, -100)
        row = db.session.scalar(select(PaymentRefund))
        assert row is not None and row.created_by == admin.id and row.reason == "customer asked"


def test_spent_tokens_block_the_refund_unless_forced(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    paid: dict[str, Any],
    count_rows: Any,
) -> None:
    spend(app, user, 30)
    blocked = refund(client, admin, paid["payment_id"])

    assert blocked.status_code == 409
    assert blocked.get_json()["error"]["code"] == "tokens_already_spent"
    assert blocked.get_json()["error"]["details"] == {"balance": 70, "required": 100}
    assert api.balance(user)["balance"] == 70
    assert count_rows(PaymentRefund) == 0

    forced = refund(client, admin, paid["payment_id"], force=True)
    assert forced.status_code == 201
    assert (forced.get_json()["tokens_reversed"], forced.get_json()["tokens_shortfall"]) == (70, 30)
    assert api.balance(user)["balance"] == 0


def test_partial_refunds_keep_the_grants_until_the_last_one(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    partial = refund(client, admin, paid["payment_id"], amount="40.00")
    assert partial.get_json()["payment_status"] == "partially_refunded"
    assert partial.get_json()["invoice_status"] == "paid"
    assert api.balance(user)["balance"] == 100

    too_much = refund(client, admin, paid["payment_id"], amount="107.01")
    assert too_much.status_code == 409
    assert too_much.get_json()["error"]["code"] == "refund_exceeds_payment"

    rest = refund(client, admin, paid["payment_id"])
    assert rest.get_json()["amount"] == "107.00"
    assert rest.get_json()["payment_status"] == "refunded"
    assert api.balance(user)["balance"] == 0
    again = refund(client, admin, paid["payment_id"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "payment_not_refundable"


def test_only_completed_payments_can_be_refunded(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    invoice_id = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]["id"]
    pending = client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay", json={"provider": "manual"}, headers=user.headers
    ).get_json()
    response = refund(client, admin, pending["payment_id"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "payment_not_refundable"
    assert refund(client, admin, str(uuid.uuid4())).status_code == 404


def test_refunds_are_for_admins_only(
    app: BillingApp, client: FlaskClient, user: RegisteredUser, paid: dict[str, Any]
) -> None:
    response = refund(client, user, paid["payment_id"])
    assert response.status_code == 403
    with app.app_context():
        payment = db.session.get(Payment, uuid.UUID(paid["payment_id"]))
        assert payment is not None and payment.status.value == "completed"


def test_admins_see_a_payments_history_and_refunds(
    client: FlaskClient, user: RegisteredUser, admin: RegisteredUser, paid: dict[str, Any]
) -> None:
    refund(client, admin, paid["payment_id"], amount="40.00", reason="partial")
    detail = client.get(f"/api/v1/admin/payments/{paid['payment_id']}", headers=admin.headers)

    assert detail.status_code == 200
    body = detail.get_json()
    assert [(row["from_status"], row["to_status"]) for row in body["history"]] == [
        (None, "pending"),
        ("pending", "completed"),
        ("completed", "partially_refunded"),
    ]
    assert [(row["amount"], row["reason"]) for row in body["refunds"]] == [("40.00", "partial")]
    assert (body["provider"], body["recorded_by"]) == ("manual", str(admin.id))
    forbidden = client.get(f"/api/v1/admin/payments/{paid['payment_id']}", headers=user.headers)
    assert forbidden.status_code == 403
