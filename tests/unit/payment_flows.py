"""Payments in a given state, reached the way the app reaches them (or stored directly)."""

import uuid
from datetime import datetime
from decimal import Decimal

from src.events.payment_events import PaymentStartRequestedEvent
from src.events.payment_results import PaymentStartOutcome
from src.models.invoice import Invoice
from src.models.payment import Payment, PaymentStatus
from src.models.token_ledger import TokenTransactionType
from src.providers.base import PaymentMode
from tests.unit.builders import PAYER, Billing, paying

ADMIN = uuid.UUID("00000000-0000-4000-8000-0000000000e1")


def start(
    billing: Billing,
    invoice: Invoice,
    mode: PaymentMode = PaymentMode.PAYMENT_INTENT,
    provider: str = "stripe",
    user_id: uuid.UUID = PAYER,
) -> PaymentStartOutcome:
    """The owner's "pay this invoice" through PaymentStartProcess (the account is created
    first if it does not exist yet); no provider call happens in a transaction."""
    if user_id not in billing.users.rows:
        billing.user(user_id)
    event = PaymentStartRequestedEvent(
        user_id=user_id, invoice_id=invoice.id, provider=provider, mode=mode
    )
    outcome = billing.payment_start_process().run(event)
    assert billing.provider_calls_in_transaction == []
    return outcome


def started_payment(
    billing: Billing, invoice: Invoice, mode: PaymentMode = PaymentMode.PAYMENT_INTENT
) -> Payment:
    return billing.payments.rows[start(billing, invoice, mode).payment_id]


def captured_payment(billing: Billing, invoice: Invoice) -> Payment:
    """Started through the fake Stripe (payment intent "pi_1"), then captured by its
    webhook with charge "ch_1": the invoice is paid and everything it bought is granted."""
    payment = started_payment(billing, invoice)
    billing.payment_captured_handler().handle(
        paying(
            invoice,
            provider="stripe",
            payment_reference="pi_1",
            payment_id=payment.id,
            charge_id="ch_1",
            provider_event_id="evt_paid",
            provider_event_type="payment_intent.succeeded",
        )
    )
    return payment


def stored_payment(
    billing: Billing,
    status: PaymentStatus,
    amount: str = "100.00",
    currency: str = "USD",
    user_id: uuid.UUID | None = PAYER,
    created_at: datetime | None = None,
    completed_at: datetime | None = None,
    refunded: str = "0.00",
) -> Payment:
    """A payment row put straight into the store (no history), for the service's own rules."""
    return billing.payments.add(
        Payment(
            invoice_id=uuid.uuid4(),
            user_id=user_id,
            provider="stripe",
            amount=Decimal(amount),
            refunded_amount=Decimal(refunded),
            currency=currency,
            status=status,
            created_at=created_at,
            completed_at=completed_at,
        )
    )


def spend(billing: Billing, tokens: int) -> None:
    """PAYER uses ``tokens`` of the balance."""
    billing.token_service().debit_tokens(
        PAYER, tokens, kind=TokenTransactionType.USAGE, reference=None, description="used"
    )
