"""What happens to a subscription when a charge of its lifecycle invoice fails, and how a
subscription ends with everything hanging off it."""

from datetime import datetime

from src.events.base import Notification
from src.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from src.models.subscription import STARTED_STATUSES, Subscription, SubscriptionStatus
from src.services.addon_service import AddOnService
from src.services.invoice_service import InvoiceService
from src.services.subscription_service import SubscriptionService


class DunningService:
    def __init__(
        self,
        subscription_service: SubscriptionService,
        invoice_service: InvoiceService,
        add_on_service: AddOnService,
    ) -> None:
        self._subscriptions = subscription_service
        self._invoices = invoice_service
        self._add_ons = add_on_service

    def charge_failed(self, invoice: Invoice, reason: str, as_of: datetime) -> list[Notification]:
        """A failed charge of a renewal invoice counts for dunning (past due, the next retry,
        or the end); a failed upgrade charge leaves its invoice open to be paid by hand and
        the subscription as it was."""
        if invoice.kind is not InvoiceKind.RENEWAL or invoice.subscription_id is None:
            return []
        subscription = self._subscriptions.lock(invoice.subscription_id)
        if (
            subscription.status not in STARTED_STATUSES
            or invoice.period_start is None
            or subscription.current_period_end != invoice.period_start
        ):
            return []
        note, gave_up = self._subscriptions.charge_failed(
            subscription, invoice.period_start, reason, as_of
        )
        if gave_up:
            self._invoices.mark_uncollectible(invoice, as_of)
            self.end_everything(subscription, SubscriptionStatus.CANCELED, as_of)
        return [note] if note is not None else []

    def end_everything(
        self, subscription: Subscription, status: SubscriptionStatus, now: datetime
    ) -> None:
        """The subscription ended: its add-ons end with it, and its open lifecycle invoices
        can no longer be paid (money that still arrives for one is refunded)."""
        self._add_ons.end_with_parent(subscription.id, status, now)
        for invoice in self._invoices.open_for_subscription(subscription.id):
            if invoice.status is InvoiceStatus.PENDING:
                self._invoices.void(invoice, now)
