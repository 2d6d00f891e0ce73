"""Issue 10 over the real stack: a payment the provider will not stop (here a completed
Checkout Session: a scripted provider named "stripe" stands in, since localstripe has no
Checkout Sessions) is answered or captured, never replaced; the invoice is never cancelled
or settled by hand around it; no provider call happens inside a transaction."""

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers
from flask.testing import FlaskClient

from src.app import BillingApp
from src.errors import InvalidState
from src.extensions import db
from src.models.invoice import Invoice
from src.models.payment import Payment
from src.providers.base import PaymentProviders, RemotePayment, RemoteStatus
from src.providers.manual import ManualProvider
from tests.support.api import ApiClient, RegisteredUser
from tests.unit.fakes import FakePaymentProvider


class SessionCheckingProvider(FakePaymentProvider):
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


def pay(client: FlaskClient, user: RegisteredUser, invoice_id: str, mode: str) -> Any:
    return client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay",
        json={"provider": "stripe", "mode": mode},
        headers=user.headers,
    )


def rows(app: BillingApp, invoice_id: str) -> tuple[str, list[str]]:
    with app.app_context():
        invoice = db.session.get(Invoice, uuid.UUID(invoice_id))
        assert invoice is not None
        payments = db.session.query(Payment).filter(Payment.invoice_id == invoice.id).all()
        return invoice.status.value, sorted(p.status.value for p in payments)


def paid_checkout(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, bundle: Any, provider: Any
) -> str:
    """An invoice whose Checkout Session the customer completed; its webhook is not in yet."""
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    assert pay(client, user, invoice["id"], "checkout").status_code == 201
    provider.resumable = False
    provider.failures["cancel_payment"] = InvalidState("complete", code="payment_in_progress")
    provider.remote = RemotePayment(
        RemoteStatus.SUCCEEDED,
        Decimal(invoice["total_amount"]),
        invoice["currency"],
        payment_intent_id="pi_cs",
    )
    return str(invoice["id"])


@pytest.mark.parametrize("mode", ["checkout", "payment_intent"])
def test_paying_again_after_a_paid_checkout_answers_it_and_opens_nothing(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
    mode: str,
) -> None:
    invoice_id = paid_checkout(api, client, user, demo_catalog["tokens-50"], provider)

    again = pay(client, user, invoice_id, mode)

    assert again.status_code == 200, again.get_json()
    assert (again.get_json()["reused"], again.get_json()["status"]) == (True, "completed")
    assert len(provider.starts) == 1
    assert rows(app, invoice_id) == ("paid", ["completed"])
    assert api.balance(user)["balance"] == 50


def test_paying_again_while_the_checkout_is_processing_is_409(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
) -> None:
    invoice_id = paid_checkout(api, client, user, demo_catalog["tokens-50"], provider)
    provider.remote = RemotePayment(RemoteStatus.PROCESSING, payment_intent_id="pi_cs")

    again = pay(client, user, invoice_id, "payment_intent")

    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "payment_in_progress"
    assert len(provider.starts) == 1
    assert rows(app, invoice_id) == ("pending", ["processing"])


def test_cancelling_after_a_paid_checkout_captures_it_instead(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
) -> None:
    invoice_id = paid_checkout(api, client, user, demo_catalog["tokens-50"], provider)

    cancelled = client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)

    assert cancelled.status_code == 409
    assert cancelled.get_json()["error"]["code"] == "invoice_not_cancellable"
    assert rows(app, invoice_id) == ("paid", ["completed"])


def test_admin_mark_paid_with_an_open_provider_payment_needs_force(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
) -> None:
    invoice_id = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]["id"]
    assert pay(client, user, invoice_id, "payment_intent").status_code == 201
    url = f"/api/v1/admin/invoices/{invoice_id}/mark-paid"

    refused = client.post(url, json={"payment_reference": "BANK-1"}, headers=admin.headers)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "payment_in_progress"
    assert provider.cancelled == []
    assert rows(app, invoice_id) == ("pending", ["pending"])

    forced = client.post(
        url, json={"payment_reference": "BANK-1", "force": True}, headers=admin.headers
    )
    assert forced.status_code == 200, forced.get_json()
    assert [c.payment_intent_id for c in provider.cancelled] == ["pi_1"]
    assert rows(app, invoice_id) == ("paid", ["cancelled", "completed"])
    assert api.balance(user)["balance"] == 50


def test_the_mark_paid_schema_documents_force(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    [name] = [key for key in schemas if key.startswith("MarkPaidRequest")]
    assert schemas[name]["properties"]["force"]["default"] is False
