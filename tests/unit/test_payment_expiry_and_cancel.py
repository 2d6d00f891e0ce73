"""Open payments stopped at their provider: by the expiry job, and when an invoice is cancelled."""

from datetime import timedelta

from src.errors import ProviderError
from src.events.invoice_events import InvoiceCancellationRequestedEvent
from src.events.payment_events import PaymentsExpiryRequestedEvent
from src.handlers.payment_expiry_handlers import ExpirePaymentsHandler
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import PaymentStatus
from src.providers.base import PaymentMode
from src.services.payment_service import existing
from tests.unit.builders import PAYER, Billing
from tests.unit.payment_flows import start, started_payment


def expire(billing: Billing, older_than_minutes: int = 60) -> int:
    handler = ExpirePaymentsHandler(billing.payment_service(), billing.payment_providers())
    event = PaymentsExpiryRequestedEvent(older_than_minutes=older_than_minutes)
    return handler.handle(event).data


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


def test_a_provider_that_cannot_stop_a_payment_does_not_stop_the_job(
    billing: Billing, invoice: Invoice
) -> None:
    stale = started_payment(billing, invoice)
    stale.created_at -= timedelta(hours=2)
    billing.provider.failures["cancel_payment"] = ProviderError("Stripe is down.")

    assert expire(billing) == 1 and stale.status is PaymentStatus.EXPIRED


def test_cancelling_an_invoice_stops_its_open_payments_at_the_provider(
    billing: Billing, invoice: Invoice
) -> None:
    failed = started_payment(billing, invoice)
    billing.payment_service().fail(failed, "card_declined", None, "evt_1")
    stripe = started_payment(billing, invoice, PaymentMode.CHECKOUT)
    manual = billing.payments.rows[start(billing, invoice, provider="manual").payment_id]

    billing.cancel_invoice_handler().handle(
        InvoiceCancellationRequestedEvent(user_id=PAYER, invoice_id=invoice.id)
    )

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
