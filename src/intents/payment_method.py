"""Saving a card for off-session charges: read the user's customer (a command), create the
customer at the provider if there is none and record it (a command), then ask the provider for
a SetupIntent. No transaction is open during either provider call; creating a customer twice in
a race leaves one unused customer at the provider, never a wrong one on the user."""

import uuid

from src.events.payment_events import PaymentMethodSetupRequestedEvent
from src.events.payment_results import PaymentMethodSetupOutcome
from src.events.payment_start_events import PaymentCustomerRecordedEvent
from src.intents.base import ProviderProcess


class PaymentMethodSetupProcess(ProviderProcess):
    def run(self, user_id: uuid.UUID, provider_name: str) -> PaymentMethodSetupOutcome:
        plan = (
            self._dispatcher()
            .emit(PaymentMethodSetupRequestedEvent(user_id=user_id, provider=provider_name))
            .data
        )
        provider = self._providers.get(plan.provider)
        customer = plan.customer_id
        if customer is None:
            created = provider.ensure_customer(plan.user_id, plan.email, None)
            if created:
                customer = (
                    self._dispatcher()
                    .emit(
                        PaymentCustomerRecordedEvent(
                            user_id=plan.user_id, provider=provider.name, customer_id=created
                        )
                    )
                    .data
                )
        secret = provider.start_saving_method(customer)
        return PaymentMethodSetupOutcome(
            provider=provider.name, client_secret=secret, customer_id=customer
        )
