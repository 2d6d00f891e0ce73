"""What every capture path hands the capture: the claim, and what the provider attached."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from src.services.payment_service import PaymentClaim


@dataclass(frozen=True)
class CaptureRequest:
    """A claim that ``invoice_id`` was paid. ``claim.amount`` None is never sent here: the
    admin path resolves "in full" before (``PaymentCapturedHandler._request``)."""

    invoice_id: uuid.UUID
    claim: PaymentClaim
    payment_id: uuid.UUID | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    customer_id: str | None = None
    # A provider confirmed that the money moved (every path but an admin's settlement): a
    # refusal then becomes ``requires_refund`` instead of an error.
    confirmed_by_provider: bool = True
    # The instant the capture is about (run-due's --now for a renewal charged then); None:
    # the clock's now.
    as_of: datetime | None = None
