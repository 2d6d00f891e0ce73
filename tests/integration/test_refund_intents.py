"""The admin refund as a provider intent, through HTTP against PostgreSQL: the
Idempotency-Key replays one refund, concurrent refunds never exceed the payment, an
unreachable provider answers 202 and the ``refund.execute`` job finishes the refund, and a
refusal is 502 ``refund_failed`` with the refund kept as failed."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.errors import ProviderError
from src.extensions import db
from src.jobs.names import REFUND_TASK
from src.models.payment import Payment, PaymentRefund, PaymentStatus, RefundStatus
from src.providers.base import (
    ExistingPayment,
    PaymentProviders,
    ProviderRefund,
    ProviderRefused,
)
from src.providers.manual import ManualProvider
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently
from tests.support.jobs import jobs, run_jobs


class ScriptedManual(ManualProvider):
    """The manual provider, whose next refunds raise ``failures`` in turn (then succeed)."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def refund(
        self, existing: ExistingPayment, amount: Decimal, refund_id: uuid.UUID
    ) -> ProviderRefund:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return super().refund(existing, amount, refund_id)


@pytest.fixture
def paid(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> dict[str, Any]:
    """A paid invoice of 100 tokens (89.00) and its manual payment."""
    invoice_id = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-100"],))["invoice"]["id"]
    payment = client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay", json={"provider": "manual"}, headers=user.headers
    ).get_json()
    client.post(
        f"/api/v1/admin/invoices/{invoice_id}/mark-paid",
        json={"payment_reference": "BANK-1"},
        headers=admin.headers,
    )
    return {"invoice_id": invoice_id, "payment_id": payment["payment_id"]}


def refund(
    client: FlaskClient, admin: RegisteredUser, payment_id: str, key: str | None, **body: Any
) -> Any:
    headers = {**admin.headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1/admin/payments/{payment_id}/refund", json=body, headers=headers)


def script(app: BillingApp, provider: ScriptedManual) -> None:
    app.container.payments.payment_providers.override(
        providers.Object(PaymentProviders({"manual": provider}))
    )


def rows(app: BillingApp) -> list[tuple[RefundStatus, Decimal, str | None]]:
    with app.app_context():
        found = db.session.scalars(select(PaymentRefund).order_by(PaymentRefund.created_at))
        result = [(r.status, r.amount, r.idempotency_key) for r in found]
        db.session.rollback()
        return result


def payment_state(app: BillingApp, payment_id: str) -> tuple[PaymentStatus, Decimal]:
    with app.app_context():
        payment = db.session.get(Payment, uuid.UUID(payment_id))
        assert payment is not None
        state = (payment.status, payment.refunded_amount)
        db.session.rollback()
        return state


def test_a_retry_with_the_same_key_answers_the_same_refund(
    app: BillingApp, client: FlaskClient, admin: RegisteredUser, paid: dict[str, Any]
) -> None:
    first = refund(client, admin, paid["payment_id"], "refund-1", amount="40.00")
    again = refund(client, admin, paid["payment_id"], "refund-1", amount="40.00")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert first.get_json()["status"] == "succeeded"
    assert rows(app) == [(RefundStatus.SUCCEEDED, Decimal("40.00"), "refund-1")]
    assert payment_state(app, paid["payment_id"]) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("40.00"),
    )


@pytest.mark.parametrize("other", [{"amount": "41.00"}, {"amount": "40.00", "force": True}])
def test_the_same_key_with_another_request_is_422(
    app: BillingApp,
    client: FlaskClient,
    admin: RegisteredUser,
    paid: dict[str, Any],
    other: dict[str, Any],
) -> None:
    first = refund(client, admin, paid["payment_id"], "refund-1", amount="40.00")
    reused = refund(client, admin, paid["payment_id"], "refund-1", **other)

    assert reused.status_code == 422
    error = reused.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["details"] == {"refund_id": first.get_json()["refund_id"]}
    assert len(rows(app)) == 1


def test_a_malformed_key_is_400(
    client: FlaskClient, admin: RegisteredUser, paid: dict[str, Any]
) -> None:
    response = refund(client, admin, paid["payment_id"], "has spaces")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"


def test_concurrent_refunds_never_refund_more_than_was_paid(
    app: BillingApp, admin: RegisteredUser, paid: dict[str, Any]
) -> None:
    def attempt(client: FlaskClient, index: int) -> tuple[int, str | None]:
        response = refund(client, admin, paid["payment_id"], f"k-{index}", amount="50.00")
        body = response.get_json()
        return response.status_code, body.get("error", {}).get("code")

    results = run_concurrently(app, 6, attempt)

    assert sorted(results, key=str) == sorted(
        [(201, None)] + [(409, "refund_exceeds_payment")] * 5, key=str
    )
    assert [(status, amount) for status, amount, _ in rows(app)] == [
        (RefundStatus.SUCCEEDED, Decimal("50.00"))
    ]
    assert payment_state(app, paid["payment_id"]) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("50.00"),
    )


def test_an_unreachable_provider_answers_202_and_the_job_finishes_the_refund(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    provider = ScriptedManual(ProviderError("down"))
    script(app, provider)

    waiting = refund(client, admin, paid["payment_id"], "refund-1")

    assert waiting.status_code == 202
    body = waiting.get_json()
    assert (body["status"], body["payment_status"], body["tokens_reversed"]) == (
        "requested",
        "completed",
        0,
    )
    assert api.balance(user)["balance"] == 100  # nothing is taken back before the money
    [job] = jobs(app, REFUND_TASK)
    assert (job["status"], job["args"]) == ("todo", {"refund_id": body["refund_id"]})
    # The refund in flight holds the whole payment: another one is refused.
    second = refund(client, admin, paid["payment_id"], "refund-2", amount="1.00")
    assert second.get_json()["error"]["code"] == "refund_exceeds_payment"

    run_jobs(app)

    assert [job["status"] for job in jobs(app, REFUND_TASK)] == ["succeeded"]
    assert rows(app) == [(RefundStatus.SUCCEEDED, Decimal("89.00"), "refund-1")]
    assert payment_state(app, paid["payment_id"]) == (PaymentStatus.REFUNDED, Decimal("89.00"))
    assert api.balance(user)["balance"] == 0
    replay = refund(client, admin, paid["payment_id"], "refund-1")
    assert replay.status_code == 201
    assert (replay.get_json()["refund_id"], replay.get_json()["tokens_reversed"]) == (
        body["refund_id"],
        100,
    )
    assert provider.calls == 2


def test_a_refused_refund_is_502_refund_failed_and_kept_as_failed(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    paid: dict[str, Any],
) -> None:
    provider = ScriptedManual(ProviderRefused("no"))
    script(app, provider)

    refused = refund(client, admin, paid["payment_id"], "refund-1")
    replayed = refund(client, admin, paid["payment_id"], "refund-1")

    assert (refused.status_code, replayed.status_code) == (502, 502)
    assert refused.get_json()["error"]["code"] == "refund_failed"
    assert replayed.get_json() == refused.get_json()
    assert [status for status, _, _ in rows(app)] == [RefundStatus.FAILED]
    assert payment_state(app, paid["payment_id"]) == (PaymentStatus.COMPLETED, Decimal("0.00"))
    assert api.balance(user)["balance"] == 100 and provider.calls == 1
    assert jobs(app, REFUND_TASK) == []
    detail = client.get(f"/api/v1/admin/payments/{paid['payment_id']}", headers=admin.headers)
    [shown] = detail.get_json()["refunds"]
    assert (shown["status"], shown["failure_message"]) == ("failed", "no")
