"""The admin refund's fault points against localstripe: the request dies before the Stripe
call, after it (the outcome not committed) or after the outcome commits; then the admin
retries the same request (same Idempotency-Key) or the janitor resolves the refund. Each way,
Stripe holds exactly one refund for the payment and the refund row, the payment, the invoice
and the ledger agree.

The served app cannot be armed, so the process runs in-process here: ``app`` is built with
the Stripe settings, on the same database, talking to the same localstripe. A request that
died holding the refund's attempt lease keeps everyone else from the provider until the lease
runs out (time is moved by updating the row, never by sleeping).

Plus two attempts on the same requested refund at the same moment, with Stripe's answer held
by a proxy: localstripe ignores idempotency keys, so only the attempt lease keeps them to one
refund.
"""

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import stripe
from flask.testing import FlaskClient
from sqlalchemy import select, text

from src.app import BillingApp
from src.extensions import db
from src.faults import InjectedFault
from src.intents.refund import RefundInProgress
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentRefund, PaymentStatus, RefundStatus
from src.models.token_bundle import TokenBundle
from tests.conftest import TEST_SETTINGS
from tests.e2e.conftest import AppFactory
from tests.support import stripe_fake as localstripe
from tests.support.api import ApiClient, RegisteredUser
from tests.support.faults import armed
from tests.support.holding_proxy import holding_proxy
from tests.support.stripe_events import event, post_stripe_event

POINTS = (
    "refund.before_provider_call",
    "refund.after_provider_call",
    "refund.after_outcome_commit",
)


@pytest.fixture
def app_settings(database_url: str, localstripe_url: str) -> dict[str, Any]:
    """The in-process app, its Stripe client pointed at localstripe."""
    return {
        **TEST_SETTINGS,
        "DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": localstripe.API_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "TRIAL_CREDITS": 0,
    }


@pytest.fixture
def client(app: BillingApp) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(app: BillingApp, client: FlaskClient) -> RegisteredUser:
    api = ApiClient(client)
    registered = api.register()
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", registered.email, "--promote"]
    )
    assert result.exit_code == 0, result.output
    return api.login(registered.email)


@pytest.fixture
def paid(
    app: BillingApp, client: FlaskClient, stripe_sdk: stripe.StripeClient
) -> Iterator[dict[str, Any]]:
    """100 tokens (89.00) paid at localstripe with a card; the signed payment_intent.succeeded
    captured them. Yields the payment's ids and its owner."""
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    api = ApiClient(client)
    user = api.register()
    with app.app_context():
        bundle = db.session.scalar(select(TokenBundle.id).where(TokenBundle.code == "tokens-100"))
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    started = client.post(
        f"/api/v1/user/invoices/{invoice['id']}/pay",
        json={"provider": "stripe"},
        headers=user.headers,
    )
    assert started.status_code == 201, started.get_json()
    intent_id = started.get_json()["provider_payment_id"]
    stripe_sdk.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    intent = stripe_sdk.v1.payment_intents.confirm(intent_id)
    assert intent.status == "succeeded"
    charge = intent.latest_charge
    assert charge is not None
    delivered = post_stripe_event(
        client,
        event(
            "payment_intent.succeeded",
            {
                "id": intent.id,
                "object": "payment_intent",
                "status": "succeeded",
                "amount": intent.amount,
                "amount_received": intent.amount,
                "currency": intent.currency,
                "metadata": intent.metadata.to_dict(),
                "latest_charge": charge if isinstance(charge, str) else charge.id,
            },
        ),
    )
    assert delivered.status_code == 200, delivered.get_json()
    assert api.balance(user)["balance"] == 100
    yield {
        "payment_id": started.get_json()["payment_id"],
        "intent_id": intent_id,
        "invoice_id": invoice["id"],
        "user": user,
    }


def refund(client: FlaskClient, admin: RegisteredUser, payment_id: str) -> Any:
    headers = {**admin.headers, "Idempotency-Key": "refund-all-of-it"}
    return client.post(f"/api/v1/admin/payments/{payment_id}/refund", json={}, headers=headers)


def the_refund_id(app: BillingApp) -> uuid.UUID:
    with app.app_context():
        refund_id: uuid.UUID = db.session.scalars(select(PaymentRefund.id)).one()
        db.session.rollback()
        return refund_id


def lease_ran_out(app: BillingApp, refund_id: uuid.UUID) -> None:
    """Time passes: the dead request's attempt lease runs out (no request lives that long)."""
    with app.app_context():
        db.session.execute(
            text(
                "UPDATE payment_refunds SET attempt_lease_until = now() - interval '1 second' "
                "WHERE id = :id"
            ),
            {"id": refund_id},
        )
        db.session.commit()


def die_at(
    app: BillingApp, client: FlaskClient, admin: RegisteredUser, paid: Any, point: str
) -> None:
    """The admin's refund request dies at ``point`` (its answer is lost)."""
    with armed(app, point) as faults:
        try:
            died = refund(client, admin, paid["payment_id"])
            assert died.status_code == 500  # the answer is lost: the admin sees an error
        except InjectedFault:
            pass
    assert faults.remaining == 0


def stripe_refunds(sdk: stripe.StripeClient, intent_id: str) -> list[Any]:
    return list(sdk.v1.refunds.list(params={"payment_intent": intent_id}).data)


def assert_one_refund_everywhere(
    app: BillingApp, sdk: stripe.StripeClient, paid: dict[str, Any], client: FlaskClient
) -> None:
    """Stripe has one refund of the whole payment, and our rows say exactly that once."""
    [at_stripe] = stripe_refunds(sdk, paid["intent_id"])
    with app.app_context():
        [row] = db.session.scalars(select(PaymentRefund)).all()
        payment = db.session.get(Payment, uuid.UUID(paid["payment_id"]))
        invoice = db.session.get(Invoice, uuid.UUID(paid["invoice_id"]))
        assert payment is not None and invoice is not None
        assert (at_stripe.amount, at_stripe.status) == (8900, "succeeded")
        assert at_stripe.metadata["refund_id"] == str(row.id)
        assert (row.status, row.provider_refund_id, row.amount, row.tokens_reversed) == (
            RefundStatus.SUCCEEDED,
            at_stripe.id,
            Decimal("89.00"),
            100,
        )
        assert (payment.status, payment.refunded_amount) == (
            PaymentStatus.REFUNDED,
            Decimal("89.00"),
        )
        assert row.attempt_lease_until is None
        assert invoice.status is InvoiceStatus.REFUNDED
        db.session.rollback()
    assert ApiClient(client).balance(paid["user"])["balance"] == 0


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("recovery", ["retry", "janitor"])
def test_a_refund_that_dies_at_a_fault_point_ends_in_exactly_one_stripe_refund(
    app: BillingApp,
    client: FlaskClient,
    admin: RegisteredUser,
    paid: dict[str, Any],
    stripe_sdk: stripe.StripeClient,
    point: str,
    recovery: str,
) -> None:
    die_at(app, client, admin, paid, point)
    expected_at_stripe = 0 if point == "refund.before_provider_call" else 1
    assert len(stripe_refunds(stripe_sdk, paid["intent_id"])) == expected_at_stripe
    if point != "refund.after_outcome_commit":
        # The dead request still holds the attempt lease: nobody calls Stripe meanwhile.
        waiting = refund(client, admin, paid["payment_id"])
        assert (waiting.status_code, waiting.get_json()["status"]) == (202, "requested")
        with app.app_context(), pytest.raises(RefundInProgress):
            app.container.refund_process().resolve(the_refund_id(app))
        assert len(stripe_refunds(stripe_sdk, paid["intent_id"])) == expected_at_stripe
        lease_ran_out(app, the_refund_id(app))

    if recovery == "retry":
        again = refund(client, admin, paid["payment_id"])
        assert again.status_code == 201, again.get_json()
        assert (again.get_json()["status"], again.get_json()["payment_status"]) == (
            "succeeded",
            "refunded",
        )
    else:
        with app.app_context():
            refund_id = db.session.scalars(select(PaymentRefund.id)).one()
            outcome = app.container.refund_process().resolve(refund_id)
        assert outcome.status is RefundStatus.SUCCEEDED

    assert_one_refund_everywhere(app, stripe_sdk, paid, client)
    # And once more, for good measure: a later retry changes nothing anywhere.
    assert refund(client, admin, paid["payment_id"]).status_code == 201
    assert_one_refund_everywhere(app, stripe_sdk, paid, client)


def test_two_attempts_on_one_requested_refund_at_once_make_one_stripe_refund(
    app: BillingApp,
    client: FlaskClient,
    admin: RegisteredUser,
    paid: dict[str, Any],
    stripe_apps: AppFactory,
    localstripe_url: str,
    stripe_sdk: stripe.StripeClient,
) -> None:
    """A refund left ``requested`` (its request died before calling Stripe; its lease ran
    out). The job resolves it: it looks for the refund at Stripe first, and that answer
    ("none") is held. Meanwhile a janitor resolves the same refund and the admin retries it:
    without the lease both would find nothing and refund again (localstripe ignores keys)."""
    die_at(app, client, admin, paid, "refund.before_provider_call")
    refund_id = the_refund_id(app)
    lease_ran_out(app, refund_id)

    with holding_proxy(localstripe_url, ("GET", "/v1/refunds")) as proxy:
        proxied = stripe_apps(proxy.url)
        answers: dict[str, Any] = {}

        def attempt(name: str) -> None:
            with proxied.app_context():
                try:
                    answers[name] = proxied.container.refund_process().resolve(refund_id)
                except Exception as error:  # noqa: BLE001 - the test looks at what it was
                    answers[name] = error

        job = threading.Thread(target=attempt, args=("job",))
        job.start()
        assert proxy.acted.wait(timeout=30)  # the job's lookup reached Stripe; answer held
        janitor = threading.Thread(target=attempt, args=("janitor",))
        janitor.start()
        janitor.join(timeout=30)
        retried = refund(proxied.test_client(), admin, paid["payment_id"])
        assert stripe_refunds(stripe_sdk, paid["intent_id"]) == []  # nobody else called
        proxy.release.set()
        job.join(timeout=30)
    assert not job.is_alive() and not janitor.is_alive()

    assert isinstance(answers["janitor"], RefundInProgress)
    assert (retried.status_code, retried.get_json()["status"]) == (202, "requested")
    assert retried.get_json()["refund_id"] == str(refund_id)
    assert answers["job"].status is RefundStatus.SUCCEEDED
    assert_one_refund_everywhere(app, stripe_sdk, paid, client)
