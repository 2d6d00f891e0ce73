"""payment_method.setup_requested (reads only) → whose customer a card is saved for.

The provider calls (creating the customer, the SetupIntent) happen after this command, with no
transaction open (src/intents/payment_method.py); the customer is then kept by
``payment.customer_recorded``, the first one recorded winning a race.
"""

from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentMethodSetupPlan, PaymentMethodSetupRequestedEvent
from src.providers.base import PaymentProviders
from src.services.user_service import UserService


class SetupPaymentMethodHandler(
    IEventHandler[PaymentMethodSetupRequestedEvent, PaymentMethodSetupPlan]
):
    def __init__(self, user_service: UserService, payment_providers: PaymentProviders) -> None:
        self._users = user_service
        self._providers = payment_providers

    def handle(
        self, event: PaymentMethodSetupRequestedEvent
    ) -> EventResult[PaymentMethodSetupPlan]:
        provider = self._providers.get(event.provider)
        user = self._users.get(event.user_id)
        return EventResult(
            PaymentMethodSetupPlan(
                provider=provider.name,
                user_id=user.id,
                email=user.email,
                customer_id=self._users.customer_id(user, provider.name),
            )
        )
