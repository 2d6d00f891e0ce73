"""The manual provider: money moves outside the system (bank transfer, cash) and an admin
confirms it (POST /admin/invoices/<id>/mark-paid). Nothing is called remotely.

It is also how a payment with no provider adapter is refunded (the generic webhook's
``webhook`` payments): the refund is recorded as external, no provider is called, and the
grants are taken back as for any refund (``refunding_provider``)."""

import uuid
from collections.abc import Mapping
from decimal import Decimal

from src.errors import ValidationFailed
from src.providers.base import (
    ExistingPayment,
    PaymentProvider,
    PaymentProviders,
    PaymentStart,
    ProviderEvent,
    ProviderRefund,
    RemotePayment,
    RemoteStatus,
    StartedPayment,
)


class ManualProvider(PaymentProvider):
    name = "manual"

    def ensure_customer(self, user_id: uuid.UUID, email: str, known_id: str | None) -> str | None:
        return None

    def start_payment(self, start: PaymentStart) -> StartedPayment:
        """A pending payment an admin will confirm; the reference quotes the invoice."""
        return StartedPayment(provider_payment_id=f"manual-{start.invoice_number}")

    def resume_payment(self, existing: ExistingPayment) -> StartedPayment | None:
        return StartedPayment(provider_payment_id=f"manual-{existing.payment_id}")

    def saved_payment_method(self, customer_id: str | None) -> str | None:
        return None

    def start_saving_method(self, customer_id: str | None) -> str:
        raise ValidationFailed("Manual payments keep no cards.", code="not_supported")

    def cancel_payment(self, existing: ExistingPayment) -> None:
        """Nothing was started remotely, so there is nothing to stop."""

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        raise ValidationFailed(
            "Manual payments are confirmed by an admin, not by webhook.", code="no_webhooks"
        )

    def fetch_payment(self, existing: ExistingPayment) -> RemotePayment:
        """Only an admin knows; until one confirms, the payment is pending."""
        return RemotePayment(RemoteStatus.PENDING)

    def refund(
        self, existing: ExistingPayment, amount: Decimal, refund_id: uuid.UUID
    ) -> ProviderRefund:
        """The money goes back outside the system; only the record is kept here."""
        return ProviderRefund(refund_id=None, amount=amount)

    def find_refund(self, existing: ExistingPayment, refund_id: uuid.UUID) -> ProviderRefund | None:
        """Nothing is kept remotely, so there is nothing to find (and a repeated ``refund``
        only records again)."""
        return None


def refunding_provider(providers: PaymentProviders, name: str) -> PaymentProvider:
    """The provider that refunds a payment of ``name``; one with no adapter (no refund API:
    the generic webhook) is refunded externally, as a manual payment is."""
    return providers.find(name) or ManualProvider()
