"""What the core asks a provider to collect for one payment of an invoice: the amount, the
lines and, for an off-session charge, the saved card. One builder for every way to pay."""

import uuid

from src.models.invoice import Invoice
from src.providers.base import LineForProvider, PaymentMode, PaymentStart


def payment_start(
    payment_id: uuid.UUID,
    invoice: Invoice,
    customer: str | None,
    *,
    card: str | None = None,
    mode: PaymentMode = PaymentMode.PAYMENT_INTENT,
) -> PaymentStart:
    return PaymentStart(
        payment_id=payment_id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        user_id=invoice.user_id,
        amount=invoice.total_amount,
        currency=invoice.currency,
        mode=mode,
        customer_id=customer,
        lines=tuple(
            LineForProvider(line.description, line.quantity, line.unit_price)
            for line in invoice.line_items
        ),
        saved_payment_method=card,
    )
