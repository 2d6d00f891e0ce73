"""Verifying a payment (``POST /user/payments/verify``): read the caller's payment in one
command, ask the provider with no transaction open, then capture it (exactly as the webhook
would) or record its failure in a second command."""

import uuid

from src.events.payment_events import PaymentVerificationRequestedEvent
from src.events.payment_results import VerifyOutcome
from src.events.payment_verify_events import PaymentVerificationReportedEvent
from src.intents.base import ProviderProcess


class PaymentVerifyProcess(ProviderProcess):
    def run(self, user_id: uuid.UUID, payment_id: uuid.UUID) -> VerifyOutcome:
        read = PaymentVerificationRequestedEvent(user_id=user_id, payment_id=payment_id)
        plan = self._dispatcher().emit(read).data
        remote = self._providers.get(plan.provider).fetch_payment(plan.existing)
        report = PaymentVerificationReportedEvent(
            user_id=user_id, payment_id=payment_id, remote=remote
        )
        return self._dispatcher().emit(report).data
