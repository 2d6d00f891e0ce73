"""Open payments stopped at their provider: by the expiry job, and when an invoice is cancelled."""

from datetime import timedelta

from src.errors import ProviderError
from src.clock import utc_now
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import PaymentStatus
from src.providers.base import PaymentMode, RemotePayment, RemoteStatus
from src.services.payment_service import existing
from tests.unit.builders import PAYER, Billing
from tests.unit.payment_flows import start, started_payment
from tests.unit.reconcile_builders import expiry_process, janitor_process


def expire(billing: Billing, older_than_minutes: int = 60) -> int:
    return expiry_process(billing).run(utc_now(), older_than_minutes)


def test_the_expiry_job_expires_stale_payments_and_stops_them_at_the_provider(
    billing: Billing, invoice: Invoice
) -> None:
    stale = started_payment(billing, invoice)
    stale.created_at -= timedelta(hours=2)
    other = billing.pending_invoice(PAYER, token_bundle_ids=(billing.bundle().id,))
    fresh = started_payment(billing, other)

    expired = expire(billing)

    assert (expired, stale.status, fresh.status) == (
        1,
        PaymentStatus.EXPIRED,
        PaymentStatus.PENDING,
    )
    assert billing.provider.cancelled == [existing(stale)]
    assert invoice.status is InvoiceStatus.PENDING  # the invoice stays payable


def test_a_provider_that_cannot_be_reached_leaves_the_payment_for_the_next_run(
    billing: Billing, invoice: Invoice
) -> None:
    """Never expire what the provider may have taken: unreachable means try again later."""
    stale = started_payment(billing, invoice)
    stale.created_at -= timedelta(hours=2)
    billing.provider.failures["cancel_payment"] = ProviderError("Stripe is down.")

    first_run = (expire(billing), stale.status)
    del billing.provider.failures["cancel_payment"]
    second_run = (expire(billing), stale.status)

    assert first_run == (0, PaymentStatus.PENDING)
    assert second_run == (1, PaymentStatus.EXPIRED)


def test_expiry_asks_the_provider_first_and_captures_what_it_took(
    billing: Billing, invoice: Invoice
) -> None:
    stale = started_payment(billing, invoice)
    stale.created_at -= timedelta(hours=2)
    billing.provider.remote = RemotePayment(
        RemoteStatus.SUCCEEDED,
        amount=invoice.total_amount,
        currency=invoice.currency,
        payment_intent_id=stale.provider_payment_intent_id,
    )

    assert expire(billing) == 0
    assert (stale.status, invoice.status) == (PaymentStatus.COMPLETED, InvoiceStatus.PAID)
    assert billing.provider.cancelled == []


def test_the_janitor_closes_an_intent_the_provider_never_started(
    billing: Billing, invoice: Invoice
) -> None:
    stale = started_payment(billing, invoice)
    stale.created_at -= timedelta(minutes=10)
    billing.provider.remote = RemotePayment(RemoteStatus.NOT_FOUND)

    assert janitor_process(billing).run(utc_now()) == {"expired": 1}
    assert stale.status is PaymentStatus.EXPIRED and invoice.status is InvoiceStatus.PENDING


def test_the_janitor_leaves_young_and_still_open_payments_alone(
    billing: Billing, invoice: Invoice
) -> None:
    young = started_payment(billing, invoice)
    other = billing.pending_invoice(PAYER, token_bundle_ids=(billing.bundle().id,))
    waiting = started_payment(billing, other)
    waiting.created_at -= timedelta(minutes=10)

    assert janitor_process(billing).run(utc_now()) == {"open": 1}
    assert (young.status, waiting.status) == (PaymentStatus.PENDING, PaymentStatus.PENDING)
    assert billing.provider.fetched == [existing(waiting)]


def test_cancelling_an_invoice_stops_its_open_payments_at_the_provider(
    billing: Billing, invoice: Invoice
) -> None:
    failed = started_payment(billing, invoice)
    billing.payment_service().fail(failed, "card_declined", None, "evt_1")
    stripe = started_payment(billing, invoice, PaymentMode.CHECKOUT)
    manual = billing.payments.rows[start(billing, invoice, provider="manual").payment_id]

    billing.invoice_cancel_process().run(PAYER, invoice.id)

    assert billing.provider_calls_in_transaction == []
    assert invoice.status is InvoiceStatus.CANCELLED
    assert billing.provider.cancelled == [existing(stripe)]
    assert (stripe.status, manual.status, failed.status) == (
        PaymentStatus.CANCELLED,
        PaymentStatus.CANCELLED,
        PaymentStatus.FAILED,
    )
    [*_, last] = billing.payments.history(stripe.id)
    assert (last.from_status, last.to_status, last.reason) == (
        "pending",
        "cancelled",
        "invoice cancelled",
    )
