"""payment.captured → invoice paid, subscription and add-ons active, tokens credited: at once."""

import logging
from datetime import datetime

from src.clock import utc_now
from src.errors import AmountMismatch, ApiError
from src.events.base import EventResult, IEventHandler, Notification
from src.events.payment_events import (
    AddOnActivatedEvent,
    InvoicePaidEvent,
    PaymentCapturedEvent,
    SubscriptionActivatedEvent,
    TokensCreditedEvent,
)
from src.models.invoice import Invoice, InvoiceLineItem, LineItemType
from src.models.token_ledger import TokenTransactionType
from src.money import format_amount
from src.schemas.payment import CaptureOutcome
from src.services.addon_service import AddOnService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentClaim, PaymentService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import LedgerReference, TokenService

logger = logging.getLogger(__name__)

PURCHASE_REFERENCE = "token_bundle_purchase"


class PaymentCapturedHandler(IEventHandler[PaymentCapturedEvent, CaptureOutcome]):
    """Exactly once, all or nothing.

    The invoice row is locked first, so concurrent captures of one invoice run one after the
    other; the second finds it paid and answers ``already_paid`` (same payment) or 409 (another
    payment). Every activation runs in the dispatcher's one transaction: any failure leaves the
    invoice pending and nothing granted. The ledger's unique reference is the last guard
    against a double credit. A refused or failed capture is still recorded (``on_failure``).
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        subscription_service: SubscriptionService,
        token_bundle_service: TokenBundleService,
        token_service: TokenService,
        add_on_service: AddOnService,
        payment_service: PaymentService,
    ) -> None:
        self._invoices = invoice_service
        self._subscriptions = subscription_service
        self._bundles = token_bundle_service
        self._tokens = token_service
        self._add_ons = add_on_service
        self._payments = payment_service

    def handle(self, event: PaymentCapturedEvent) -> EventResult[CaptureOutcome]:
        invoice = self._invoices.get_for_capture(event.invoice_id)
        claim = self._claim(event, invoice)
        if self._invoices.already_settled_by(invoice, claim.provider, claim.reference):
            return EventResult(CaptureOutcome("already_paid", invoice.id, 0))
        self._check_amount(invoice, claim)

        now = utc_now()
        self._invoices.mark_paid(invoice, claim.provider, claim.reference, now)
        notifications = [self._activate(line, invoice, now) for line in invoice.line_items]
        self._payments.record_completed(invoice, claim)
        notifications.append(
            InvoicePaidEvent(
                invoice_id=invoice.id,
                user_id=invoice.user_id,
                amount=invoice.total_amount,
                currency=invoice.currency,
                provider=claim.provider,
                payment_reference=claim.reference,
            )
        )
        outcome = CaptureOutcome("success", invoice.id, len(invoice.line_items))
        return EventResult(outcome, tuple(notifications))

    def on_failure(self, event: PaymentCapturedEvent, error: Exception) -> None:
        """Keep the refused attempt: amount mismatch, paid by another payment, broken, ..."""
        invoice = self._invoices.find(event.invoice_id)
        if invoice is None and event.amount is None:
            return  # an admin typo, not a payment attempt: nothing to keep
        claim = self._claim(event, invoice)
        if isinstance(error, ApiError):
            code, message = error.code, error.message
        else:
            code, message = "internal_error", type(error).__name__
        self._payments.record_failed(invoice, claim, code, message)
        logger.warning(
            "payment capture refused: invoice=%s provider=%s reference=%s code=%s",
            event.invoice_id,
            claim.provider,
            claim.reference,
            code,
        )

    def _activate(self, line: InvoiceLineItem, invoice: Invoice, now: datetime) -> Notification:
        if line.item_type is LineItemType.SUBSCRIPTION:
            subscription = self._subscriptions.activate(line.item_id, now)
            return SubscriptionActivatedEvent(
                subscription_id=subscription.id,
                user_id=subscription.user_id,
                expires_at=subscription.expires_at,
            )
        if line.item_type is LineItemType.TOKEN_BUNDLE:
            purchase = self._bundles.complete_purchase(line.item_id, now)
            entry = self._tokens.credit_tokens(
                invoice.user_id,
                purchase.total_tokens,
                kind=TokenTransactionType.PURCHASE,
                reference=LedgerReference(PURCHASE_REFERENCE, purchase.id),
                description=f"{purchase.quantity} x {purchase.bundle.name} ({invoice.number})",
            )
            return TokensCreditedEvent(
                user_id=invoice.user_id,
                amount=entry.amount,
                balance_after=entry.balance_after,
                purchase_id=purchase.id,
            )
        addon_subscription = self._add_ons.activate(line.item_id, now)
        return AddOnActivatedEvent(
            addon_subscription_id=addon_subscription.id,
            user_id=addon_subscription.user_id,
            expires_at=addon_subscription.expires_at,
        )

    @staticmethod
    def _claim(event: PaymentCapturedEvent, invoice: Invoice | None) -> PaymentClaim:
        """What was claimed; the admin path (no amount) settles the invoice's own total."""
        amount = event.amount
        if amount is None:
            if invoice is None:
                raise ValueError("Settling in full needs the invoice.")
            amount = invoice.total_amount
        currency = event.currency or (invoice.currency if invoice else "")
        return PaymentClaim(
            provider=event.provider,
            reference=event.payment_reference,
            amount=amount,
            currency=currency,
            payload_digest=event.payload_digest,
            recorded_by=event.recorded_by,
            note=event.note,
        )

    @staticmethod
    def _check_amount(invoice: Invoice, claim: PaymentClaim) -> None:
        if (claim.amount, claim.currency) != (invoice.total_amount, invoice.currency):
            raise AmountMismatch(
                "The paid amount or currency does not match the invoice; nothing was changed.",
                details={
                    "expected": {
                        "amount": format_amount(invoice.total_amount),
                        "currency": invoice.currency,
                    },
                    "received": {"amount": format_amount(claim.amount), "currency": claim.currency},
                },
            )
