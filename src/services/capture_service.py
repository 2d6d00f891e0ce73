"""Capture: one verified payment settles one invoice and activates what it bought, at once.

Shared by every path that learns a payment succeeded: the signed generic webhook, a
provider's webhook, the recovery check with the provider, and an admin's manual settlement.
"""

import logging
import uuid
from datetime import datetime

from src.clock import utc_now
from src.errors import AmountMismatch, ApiError, ProviderError, recordable_failure
from src.events.base import Notification
from src.events.payment_events import (
    AddOnActivatedEvent,
    InvoicePaidEvent,
    SubscriptionActivatedEvent,
    TokensCreditedEvent,
)
from src.events.payment_results import CaptureOutcome
from src.events.subscription_events import SubscriptionPlanChangedEvent
from src.models.invoice import Invoice, InvoiceKind, InvoiceLineItem, LineItemType
from src.models.payment import Payment
from src.models.token_ledger import TokenTransactionType
from src.money import format_amount
from src.providers.base import RemotePayment
from src.services.addon_service import AddOnService
from src.services.capture_request import CaptureRequest
from src.services.invoice_service import InvoiceService
from src.services.one_statement_capture import OneStatementCapture
from src.services.payment_service import PaymentClaim, PaymentService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import PURCHASE_LEDGER_REFERENCE, TokenBundleService
from src.services.ports import BundleCaptureRepositoryPort, SavepointPort
from src.services.token_service import Credit, LedgerReference, TokenService
from src.services.unapplied_payment_service import UnappliedPaymentService
from src.services.user_service import UserService

logger = logging.getLogger(__name__)


class CaptureService:
    """Exactly once, all or nothing.

    The invoice row is locked first, so concurrent captures of one invoice run one after the
    other; the second finds it paid and answers ``already_paid`` (same payment). Every
    activation happens in a savepoint of the caller's transaction, so any refusal leaves the
    invoice as it was and nothing granted; the ledger's unique reference is the last guard
    against a double credit. A refusal of money a provider confirmed (another payment paid
    the invoice, it is cancelled, a rule fails, the amount differs) is kept as
    ``requires_refund`` (UnappliedPaymentService); an admin's settlement is refused (409/422).

    A confirmed payment of a checkout of token bundles alone, paid in full and with no
    payment of ours started for it (the generic webhook's usual case), is first tried as one
    statement (``OneStatementCapture``): the same rows, one round trip. That statement
    only ever does all of it or nothing; whatever it leaves takes the path below.
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        subscription_service: SubscriptionService,
        token_bundle_service: TokenBundleService,
        token_service: TokenService,
        add_on_service: AddOnService,
        payment_service: PaymentService,
        user_service: UserService,
        savepoints: SavepointPort,
        unapplied_payment_service: UnappliedPaymentService,
        bundle_captures: BundleCaptureRepositoryPort,
    ) -> None:
        self._invoices = invoice_service
        self._subscriptions = subscription_service
        self._bundles = token_bundle_service
        self._tokens = token_service
        self._add_ons = add_on_service
        self._payments = payment_service
        self._users = user_service
        self._savepoints = savepoints
        self._unapplied = unapplied_payment_service
        self._one_statement = OneStatementCapture(bundle_captures)

    def capture(self, request: CaptureRequest) -> tuple[CaptureOutcome, list[Notification]]:
        settled = self._one_statement.settle(request)
        if settled is not None:
            return settled
        return self.capture_in_full(request)

    def capture_in_full(self, request: CaptureRequest) -> tuple[CaptureOutcome, list[Notification]]:
        """The full path alone: for a caller that tried ``OneStatementCapture`` already."""
        invoice = self._invoices.get_for_capture(request.invoice_id)
        try:
            with self._savepoints.savepoint():
                return self._apply(invoice, request)
        except ApiError as refusal:
            if not request.confirmed_by_provider or refusal.status_code >= 500:
                raise
            return self._unapplied.record(
                invoice,
                request.claim,
                refusal,
                request.payment_id,
                request.payment_intent_id,
                request.charge_id,
            )

    def _apply(
        self, invoice: Invoice, request: CaptureRequest
    ) -> tuple[CaptureOutcome, list[Notification]]:
        claim = request.claim
        if self._invoices.already_settled_by(invoice, claim.provider, claim.reference):
            return CaptureOutcome("already_paid", invoice.id, 0), []
        self._check_amount(invoice, claim)

        now = request.as_of or utc_now()
        self._invoices.mark_paid(invoice, claim.provider, claim.reference, now)
        bundled = _bundle_lines(invoice)
        activated = {
            line.id: self._activate(line, invoice, now)
            for line in invoice.line_items
            if line not in bundled
        }
        activated.update(self._credit_bundles(invoice, bundled, now))
        notifications = [activated[line.id] for line in invoice.line_items]
        self._payments.complete(
            invoice, claim, request.payment_id, request.payment_intent_id, request.charge_id
        )
        if request.customer_id:
            self._users.remember_customer(invoice.user_id, claim.provider, request.customer_id)
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
        return CaptureOutcome("success", invoice.id, len(invoice.line_items)), notifications

    def record_refusal(self, request: CaptureRequest, error: Exception) -> None:
        """Keep a refused or failed attempt (after its rollback, in a transaction of its own)."""
        invoice = self._invoices.find(request.invoice_id)
        recordable = recordable_failure(error)  # never an exception's class name or text
        code, message = recordable.code, recordable.message
        self._payments.record_failed(invoice, request.claim, code, message)
        logger.warning(
            "payment capture refused: invoice=%s provider=%s reference=%s code=%s",
            request.invoice_id,
            request.claim.provider,
            request.claim.reference,
            code,
        )

    def _credit_bundles(
        self, invoice: Invoice, lines: list[InvoiceLineItem], now: datetime
    ) -> dict[uuid.UUID, Notification]:
        """Complete these token bundle lines and credit them all at once (one lock of the
        purchases, one balance change, one insert of the entries); each line's
        notification, by line id."""
        if not lines:
            return {}
        purchases = self._bundles.complete_purchases([line.item_id for line in lines], now)
        credits = [
            Credit(
                amount=purchase.total_tokens,
                reference=LedgerReference(PURCHASE_LEDGER_REFERENCE, purchase.id),
                description=f"{purchase.quantity} x {purchase.bundle.name} ({invoice.number})",
            )
            for purchase in purchases
        ]
        entries = self._tokens.credit_many(
            invoice.user_id, credits, kind=TokenTransactionType.PURCHASE
        )
        return {
            line.id: TokensCreditedEvent(
                user_id=invoice.user_id,
                amount=entry.amount,
                balance_after=entry.balance_after,
                purchase_id=purchase.id,
            )
            for line, purchase, entry in zip(lines, purchases, entries, strict=True)
        }

    def _activate(self, line: InvoiceLineItem, invoice: Invoice, now: datetime) -> Notification:
        if invoice.kind is InvoiceKind.RENEWAL:
            return self._renew(line, invoice, now)
        if invoice.kind is InvoiceKind.PRORATION:
            return self._upgrade(line, invoice, now)
        if line.item_type is LineItemType.SUBSCRIPTION:
            subscription = self._subscriptions.activate(line.item_id, now)
            return SubscriptionActivatedEvent(
                subscription_id=subscription.id,
                user_id=subscription.user_id,
                expires_at=subscription.expires_at,
            )
        # Token bundle lines of a checkout invoice were credited together (_credit_bundles).
        assert line.item_type is LineItemType.ADD_ON, line.item_type
        addon_subscription = self._add_ons.activate(line.item_id, now)
        return AddOnActivatedEvent(
            addon_subscription_id=addon_subscription.id,
            user_id=addon_subscription.user_id,
            expires_at=addon_subscription.expires_at,
        )

    def _renew(self, line: InvoiceLineItem, invoice: Invoice, now: datetime) -> Notification:
        """A renewal invoice: the subscription line starts the next period; each add-on
        line carries its add-on into it."""
        if line.item_type is LineItemType.SUBSCRIPTION:
            return self._subscriptions.renew(line.item_id, invoice, now)
        self._add_ons.extend(line.item_id, invoice.period_end)
        return AddOnActivatedEvent(
            addon_subscription_id=line.item_id,
            user_id=invoice.user_id,
            expires_at=invoice.period_end,
        )

    def _upgrade(self, line: InvoiceLineItem, invoice: Invoice, now: datetime) -> Notification:
        subscription_id = invoice.subscription_id or line.item_id
        from_plan = self._subscriptions.lock(subscription_id).plan_id
        self._subscriptions.upgrade(subscription_id, invoice, now)
        assert invoice.target_plan_id is not None  # a CHECK constraint of proration invoices
        return SubscriptionPlanChangedEvent(
            subscription_id=subscription_id,
            user_id=invoice.user_id,
            from_plan_id=from_plan,
            to_plan_id=invoice.target_plan_id,
            proration_amount=invoice.total_amount,
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


def _bundle_lines(invoice: Invoice) -> list[InvoiceLineItem]:
    """The token bundle lines of a checkout invoice (renewal and proration invoices have
    none of their own: ``_renew`` and ``_upgrade`` take every line)."""
    if invoice.kind in (InvoiceKind.RENEWAL, InvoiceKind.PRORATION):
        return []
    return [line for line in invoice.line_items if line.item_type is LineItemType.TOKEN_BUNDLE]


def capture_request(
    payment: Payment, invoice_id: uuid.UUID, remote: RemotePayment
) -> CaptureRequest:
    """What a provider confirmed when asked (recovery, expiry, the janitor), as the claim
    capture checks against the invoice."""
    if remote.amount is None or remote.currency is None:
        raise ProviderError("The provider reported a success without an amount.")
    return CaptureRequest(
        invoice_id=invoice_id,
        claim=PaymentClaim(
            provider=payment.provider,
            reference=remote.payment_intent_id or payment.provider_reference or str(payment.id),
            amount=remote.amount,
            currency=remote.currency,
        ),
        payment_id=payment.id,
        payment_intent_id=remote.payment_intent_id,
        charge_id=remote.charge_id,
    )


def off_session_capture(
    payment: Payment,
    invoice_id: uuid.UUID,
    remote: RemotePayment,
    intent_id: str | None,
    as_of: datetime | None = None,
) -> CaptureRequest:
    """What an off-session charge the provider confirmed at once claims (auto-reload, a
    renewal, an upgrade): the provider's amount, or the payment's when it reported none."""
    return CaptureRequest(
        invoice_id=invoice_id,
        claim=PaymentClaim(
            provider=payment.provider,
            reference=intent_id or str(payment.id),
            amount=remote.amount if remote.amount is not None else payment.amount,
            currency=remote.currency or payment.currency,
        ),
        payment_id=payment.id,
        payment_intent_id=intent_id,
        charge_id=remote.charge_id,
        as_of=as_of,
    )
