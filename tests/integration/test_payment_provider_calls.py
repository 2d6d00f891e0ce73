"""The provider rule over the real stack: start payment, resume, switch modes, verify and
invoice cancel never call the payment provider while the request's database session has a
transaction open (so no row lock is held either). A scripted provider named "stripe" stands
in for Stripe and checks the session on every call."""

from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import providers
from flask.testing import FlaskClient

from src.app import BillingApp
from src.extensions import db
from src.providers.base import PaymentProviders, RemotePayment, RemoteStatus
from src.providers.manual import ManualProvider
from tests.support.api import ApiClient, RegisteredUser
from tests.unit.fakes import FakePaymentProvider


class SessionCheckingProvider(FakePaymentProvider):
    """Records, per call, whether the request's session had a transaction open."""

    def __init__(self) -> None:
        super().__init__()
        self.in_transaction: list[tuple[str, bool]] = []

    def _call(self, method: str) -> None:
        self.in_transaction.append((method, db.session().in_transaction()))
        super()._call(method)


@pytest.fixture
def provider(app: BillingApp) -> Iterator[SessionCheckingProvider]:
    checking = SessionCheckingProvider()
    registry = PaymentProviders({"stripe": checking, "manual": ManualProvider()})
    with app.container.payments.payment_providers.override(providers.Object(registry)):
        yield checking


def pay(client: FlaskClient, user: RegisteredUser, invoice_id: str, **body: Any) -> Any:
    response = client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay",
        json={"provider": "stripe", **body},
        headers=user.headers,
    )
    return response


def test_no_provider_call_happens_inside_a_transaction(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    provider: SessionCheckingProvider,
) -> None:
    invoice_id = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]["id"]

    first = pay(client, user, invoice_id)
    again = pay(client, user, invoice_id)
    switched = pay(client, user, invoice_id, mode="checkout")
    provider.remote = RemotePayment(RemoteStatus.PENDING, payment_intent_id="cs_pi")
    verified = client.post(
        "/api/v1/user/payments/verify",
        json={"payment_id": switched.get_json()["payment_id"]},
        headers=user.headers,
    )
    cancelled = client.post(f"/api/v1/user/invoices/{invoice_id}/cancel", headers=user.headers)

    assert [r.status_code for r in (first, again, switched, verified, cancelled)] == [
        201,
        200,
        201,
        200,
        200,
    ]
    assert again.get_json()["payment_id"] == first.get_json()["payment_id"]
    assert cancelled.get_json()["status"] == "cancelled"
    assert [method for method, _ in provider.in_transaction] == [
        "ensure_customer",
        "start_payment",
        "resume_payment",
        "cancel_payment",
        "start_payment",
        "fetch_payment",
        "cancel_payment",
    ]
    assert [method for method, open_ in provider.in_transaction if open_] == []
