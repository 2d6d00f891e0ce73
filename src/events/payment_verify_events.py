"""Verifying a payment (the recovery path for a lost webhook) in two commands around one
provider read, with no transaction open during it (src/intents/payment_verify.py)."""

import uuid
from dataclasses import dataclass

from src.events.base import Command
from src.events.payment_results import VerifyOutcome
from src.providers.base import ExistingPayment, RemotePayment


@dataclass(frozen=True)
class VerifyPlan:
    """The caller's payment, as the provider needs it to find the payment again."""

    payment_id: uuid.UUID
    provider: str
    existing: ExistingPayment


@dataclass(frozen=True, kw_only=True)
class PaymentVerificationReportedEvent(Command[VerifyOutcome]):
    """Command: what the provider says of the caller's payment now; a success is captured
    through the same capture as the webhook."""

    name = "payment.verification_reported"
    user_id: uuid.UUID
    payment_id: uuid.UUID
    remote: RemotePayment
