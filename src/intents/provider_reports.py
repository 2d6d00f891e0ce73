"""A provider's report about refunds, completed from the provider's own API before it is
recorded: the webhook route verifies the event, this reads the payment's refunds at the
provider (no transaction open: nothing has been emitted yet), and the command that records
them (and takes the grants back when they complete the payment) runs after.

Recent Stripe API versions no longer embed ``charge.refunds`` in ``charge.refunded``, so the
event's own copy is not trusted; a provider without a refund-listing API keeps it.
"""

import dataclasses
import logging

from src.providers.base import PaymentProviders, ProviderEvent, ProviderEventKind

logger = logging.getLogger(__name__)


class ProviderReportProcess:
    def __init__(self, payment_providers: PaymentProviders) -> None:
        self._providers = payment_providers

    def complete(self, event: ProviderEvent) -> ProviderEvent:
        """``event`` with the refunds the provider holds now (a refund report), else as it
        is. A provider that cannot be reached raises (502/503), so the provider redelivers."""
        if event.kind is not ProviderEventKind.REFUNDED:
            return event
        provider = self._providers.get(event.provider)
        listed = provider.list_refunds(event.payment_intent_id, event.charge_id)
        if listed is None:
            return event
        logger.info(
            "%s event %s: %d refunds read from the provider",
            event.provider,
            event.event_id,
            len(listed.refunds),
        )
        return dataclasses.replace(event, refunds=listed.refunds, refunded_total=listed.total)
