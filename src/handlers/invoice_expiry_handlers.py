"""invoices.abandoned_listed and invoice.expiry_requested: an abandoned checkout invoice and
its pending items expire together, once none of its payments is open
(src/intents/invoice_expiry.py stops them at their provider in between, with no transaction
open)."""

import uuid
from datetime import datetime, timedelta

from src.errors import InvalidState
from src.events.base import EventResult, IEventHandler
from src.events.invoice_expiry_events import (
    AbandonedInvoicesListedEvent,
    InvoiceExpiredEvent,
    InvoiceExpiryPlan,
    InvoiceExpiryRequestedEvent,
)
from src.events.payment_start_events import PaymentToStop
from src.models.invoice import Invoice, LineItemType
from src.models.payment import OPEN_PAYMENT_STATUSES, PaymentStatus
from src.services.addon_service import AddOnService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService

# An item that already ended another way (its parent subscription ended and took its pending
# add-on with it, say) stays as it is: expiry is housekeeping and refuses nothing.
_ALREADY_ENDED = frozenset(
    {"subscription_not_pending", "add_on_not_pending", "purchase_not_pending"}
)


class ListAbandonedInvoicesHandler(IEventHandler[AbandonedInvoicesListedEvent, list[uuid.UUID]]):
    """Reads the ids only: each invoice is then expired in a command of its own, so one
    invoice's trouble never holds back (or rolls back) the others."""

    def __init__(self, invoice_service: InvoiceService) -> None:
        self._invoices = invoice_service

    def handle(self, event: AbandonedInvoicesListedEvent) -> EventResult[list[uuid.UUID]]:
        return EventResult(self._invoices.abandoned_before(event.created_before, event.limit))


class ExpireInvoiceHandler(IEventHandler[InvoiceExpiryRequestedEvent, InvoiceExpiryPlan]):
    """One abandoned invoice, as of ``as_of``.

    The invoice row is locked first (as capture locks it), so an expiry and a capture of the
    same invoice cannot interleave: a capture that wins leaves a paid invoice, which is then
    skipped; one that loses finds it expired and keeps the money as ``requires_refund``. The
    invoice is re-checked under the lock (still pending, a checkout, old enough as of
    ``as_of``), so a listing that went stale, a second run-due or a concurrent one changes
    nothing. The payments the process stopped at their provider are recorded CANCELLED; any
    other open payment is answered to be stopped first (an expired invoice must never be
    charged later), and one already in the provider's hands (PROCESSING) keeps the invoice
    pending. Only when none is open does the invoice expire with its items.
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        subscription_service: SubscriptionService,
        token_bundle_service: TokenBundleService,
        add_on_service: AddOnService,
        payment_service: PaymentService,
    ) -> None:
        self._invoices = invoice_service
        self._subscriptions = subscription_service
        self._bundles = token_bundle_service
        self._add_ons = add_on_service
        self._payments = payment_service

    def handle(self, event: InvoiceExpiryRequestedEvent) -> EventResult[InvoiceExpiryPlan]:
        cutoff = event.as_of - timedelta(days=event.days)
        invoice = self._invoices.lock_expirable(event.invoice_id, cutoff)
        if invoice is None:
            return EventResult(InvoiceExpiryPlan("skipped"))
        for payment_id in event.stopped:
            payment = self._payments.get_locked(payment_id)
            if payment.invoice_id == invoice.id and payment.status in OPEN_PAYMENT_STATUSES:
                self._payments.move(payment, PaymentStatus.CANCELLED, "invoice expired")
        still_open = self._payments.open_payments(invoice.id)
        if any(payment.status is PaymentStatus.PROCESSING for payment in still_open):
            return EventResult(InvoiceExpiryPlan("in_progress"))
        if still_open:
            to_stop = tuple(PaymentToStop(p.id, p.provider, existing(p)) for p in still_open)
            return EventResult(InvoiceExpiryPlan("stop", to_stop))
        self._invoices.expire(invoice, event.as_of)
        self._end_items(invoice, event.as_of)
        expired = InvoiceExpiredEvent(invoice_id=invoice.id, user_id=invoice.user_id)
        return EventResult(InvoiceExpiryPlan("expired"), (expired,))

    def _end_items(self, invoice: Invoice, now: datetime) -> None:
        """What the checkout would have bought ends with it: the subscription and add-ons
        expire (the plan slot is free again), token purchases are cancelled."""
        for line in invoice.line_items:
            try:
                if line.item_type is LineItemType.SUBSCRIPTION:
                    self._subscriptions.expire_pending(line.item_id, now)
                elif line.item_type is LineItemType.TOKEN_BUNDLE:
                    self._bundles.cancel_purchase(line.item_id)
                else:
                    self._add_ons.expire_pending(line.item_id, now)
            except InvalidState as error:
                if error.code not in _ALREADY_ENDED:
                    raise
