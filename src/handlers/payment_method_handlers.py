"""payment_method.setup_requested → a client secret to save a card for off-session charges."""

from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentMethodSetupRequestedEvent
from src.events.payment_results import PaymentMethodSetupOutcome
from src.providers.base import PaymentProviders
from src.services.user_service import UserService


class SetupPaymentMethodHandler(
    IEventHandler[PaymentMethodSetupRequestedEvent, PaymentMethodSetupOutcome]
):
    """The provider customer is created (once) and kept on the user in this transaction."""

    def __init__(self, user_service: UserService, payment_providers: PaymentProviders) -> None:
        self._users = user_service
        self._providers = payment_providers

    def handle(
        self, event: PaymentMethodSetupRequestedEvent
    ) -> EventResult[PaymentMethodSetupOutcome]:
        provider = self._providers.get(event.provider)
        user = self._users.get_locked(event.user_id)
        customer = provider.ensure_customer(
            user.id, user.email, self._users.customer_id(user, provider.name)
        )
        if customer:
            self._users.remember_customer(user.id, provider.name, customer)
        secret = provider.start_saving_method(customer)
        return EventResult(
            PaymentMethodSetupOutcome(
                provider=provider.name, client_secret=secret, customer_id=customer
            )
        )
