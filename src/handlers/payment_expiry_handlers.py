"""payments.expiry_requested → stale pending payments expire; their invoices stay payable."""

import logging
from datetime import timedelta

from src.errors import ApiError
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentsExpiryRequestedEvent
from src.providers.base import PaymentProviders
from src.services.payment_service import PaymentService, existing

logger = logging.getLogger(__name__)


class ExpirePaymentsHandler(IEventHandler[PaymentsExpiryRequestedEvent, int]):
    """A payment nobody finished is expired here and stopped at its provider, so a later
    payment of the same invoice can never be doubled by the old one. (If the provider
    cannot stop it because it already succeeded, its webhook still captures it.)"""

    def __init__(self, payment_service: PaymentService, payment_providers: PaymentProviders):
        self._payments = payment_service
        self._providers = payment_providers

    def handle(self, event: PaymentsExpiryRequestedEvent) -> EventResult[int]:
        cutoff = event.as_of - timedelta(minutes=event.older_than_minutes)
        expired = self._payments.expire_stale(cutoff, event.batch_size)
        for payment in expired:
            try:
                self._providers.get(payment.provider).cancel_payment(existing(payment))
            except ApiError as error:
                logger.warning(
                    "could not stop expired payment %s at %s: %s",
                    payment.id,
                    payment.provider,
                    error.code,
                )
        return EventResult(len(expired))
