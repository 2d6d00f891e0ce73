"""Stopping an open payment at its provider, called with no transaction open.

A payment committed without provider ids (its request died before recording them) may still
exist at the provider: it is looked for by our payment id in metadata first, so the payment
actually created there is the one cancelled.
"""

from dataclasses import replace

from src.providers.base import ExistingPayment, PaymentProvider, RemoteStatus


def stop_at_provider(provider: PaymentProvider, payment: ExistingPayment) -> None:
    """Make ``payment`` impossible to complete at ``provider``. Raises 409
    ``payment_in_progress`` when the provider already moves (or moved) the money."""
    if payment.payment_intent_id is None and payment.session_id is None:
        found = provider.fetch_payment(payment)
        if found.status is RemoteStatus.NOT_FOUND:
            return  # never started there: nothing to stop
        if found.payment_intent_id is not None:
            payment = replace(payment, payment_intent_id=found.payment_intent_id)
    provider.cancel_payment(payment)
