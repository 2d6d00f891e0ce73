"""The provider call of an off-session charge to a saved card, shared by auto-reload and the
subscription charge: look for a previous call's effect first (Stripe forgets idempotency keys
after 24 hours, localstripe ignores them), else start the charge. Called with no
transaction open."""

from dataclasses import dataclass

from src.providers.base import (
    ExistingPayment,
    PaymentProvider,
    PaymentStart,
    ProviderDeclined,
    RemotePayment,
    RemoteStatus,
)


@dataclass(frozen=True)
class OffSessionAttempt:
    """What the provider said: where the payment stands, or why it declined."""

    remote: RemotePayment | None
    payment_intent_id: str | None = None
    declined: str | None = None
    decline_code: str | None = None


def charge_saved_card(
    provider: PaymentProvider, start: PaymentStart, existing: ExistingPayment, resumed: bool
) -> OffSessionAttempt:
    if resumed:
        found = provider.fetch_payment(existing)
        if found.status is not RemoteStatus.NOT_FOUND:
            return OffSessionAttempt(found)
    if start.saved_payment_method is None:
        return OffSessionAttempt(None, declined="No saved payment method.")
    try:
        started = provider.start_payment(start)
    except ProviderDeclined as error:
        return OffSessionAttempt(None, declined=error.message, decline_code=error.code)
    remote = started.remote or RemotePayment(
        RemoteStatus.PENDING, payment_intent_id=started.payment_intent_id
    )
    return OffSessionAttempt(remote, payment_intent_id=started.payment_intent_id)
