"""An invoice with nothing to pay (a trial alone, a free renewal) is settled at once through
the same capture as any payment, so "paid ⇔ a completed payment ⇔ granted" stays true."""

from decimal import Decimal

from src.events.base import Notification
from src.models.invoice import Invoice
from src.services.capture_request import CaptureRequest
from src.services.capture_service import CaptureService
from src.services.payment_service import PaymentClaim

FREE_PROVIDER = "free"


def settle_free_invoice(capture_service: CaptureService, invoice: Invoice) -> list[Notification]:
    if invoice.total_amount != Decimal("0.00"):
        raise ValueError("only an invoice with nothing to pay is settled without a payment")
    claim = PaymentClaim(
        provider=FREE_PROVIDER,
        reference=f"free:{invoice.id}",
        amount=invoice.total_amount,
        currency=invoice.currency,
    )
    request = CaptureRequest(invoice_id=invoice.id, claim=claim, confirmed_by_provider=False)
    _, notifications = capture_service.capture(request)
    return notifications
