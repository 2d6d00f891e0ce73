"""What every provider process holds: the way to emit its commands, the providers, and the
fault points it reports (a no-op outside the fault tests)."""

from collections.abc import Callable

from src.events.dispatcher import EventDispatcher
from src.faults import FaultPoints, NoFaults
from src.providers.base import PaymentProviders


class ProviderProcess:
    """A command, a provider call with no transaction open, a command: each ``emit`` of the
    dispatcher commits on its own, so the provider is only ever called between two of them."""

    def __init__(
        self,
        dispatcher_factory: Callable[[], EventDispatcher],
        payment_providers: PaymentProviders,
        fault_points: FaultPoints | None = None,
    ) -> None:
        self._dispatcher = dispatcher_factory
        self._providers = payment_providers
        self._faults = fault_points or NoFaults()
