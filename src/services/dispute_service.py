"""Chargebacks: what a dispute takes back at once, and what a dispute won gives back.

The choice is to reverse at once, not to freeze: the provider has already taken the money
back when a dispute opens, and a freeze would be a second, parallel notion of "granted"
every read would have to know. So a dispute opened takes the grants back as a full refund
does (the tokens left, the shortfall recorded; the subscription and add-ons end; the
invoice is ``refunded`` while the dispute lasts). A dispute won gives back, in new ledger
entries (never an edit), exactly the tokens the dispute took, and reopens the subscription
and add-ons the dispute ended if they still can be: still inside their period, the user has
no other open subscription, an add-on's subscription is active again. A dispute lost leaves
everything taken back.

The dispute's ledger entries have their own references, so a dispute won and a refund made
later each take the tokens once.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from src.models.addon import AddOnSubscription
from src.models.invoice import Invoice, LineItemType
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus
from src.models.token_ledger import TokenTransactionType
from src.repositories.addon_subscription_repository import AddOnSubscriptionRepository
from src.repositories.dispute_repository import DisputeRepository
from src.repositories.subscription_repository import SubscriptionRepository
from src.services.grant_reversal_service import GrantReversalService, ReversalResult
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import LedgerReference, TokenService

DISPUTE_LEDGER_REFERENCE = "token_bundle_dispute"
DISPUTE_RESTORE_LEDGER_REFERENCE = "token_bundle_dispute_restore"


@dataclass(frozen=True)
class RestoreResult:
    tokens_restored: int
    subscriptions_restored: int
    add_ons_restored: int


class DisputeService:
    def __init__(
        self,
        grant_reversal_service: GrantReversalService,
        token_service: TokenService,
        token_bundle_service: TokenBundleService,
        disputes: DisputeRepository,
        subscriptions: SubscriptionRepository,
        addon_subscriptions: AddOnSubscriptionRepository,
    ) -> None:
        self._reversal = grant_reversal_service
        self._tokens = token_service
        self._bundles = token_bundle_service
        self._disputes = disputes
        self._subscriptions = subscriptions
        self._addon_subscriptions = addon_subscriptions

    def reverse(self, invoice: Invoice, now: datetime) -> ReversalResult:
        """Take the invoice's grants back (what is left of the tokens; the rest is the
        shortfall)."""
        plan = self._reversal.plan(invoice, force=True)
        return self._reversal.apply(
            invoice, plan, now, reference_type=DISPUTE_LEDGER_REFERENCE, description="Dispute"
        )

    def tokens_taken(self, invoice: Invoice) -> int:
        return sum(
            self._disputes.tokens_taken(DISPUTE_LEDGER_REFERENCE, self._purchases(invoice)).values()
        )

    def restore(self, invoice: Invoice, now: datetime) -> RestoreResult:
        """Give back what ``reverse`` took, once (the credit's reference is unique)."""
        purchase_ids = self._purchases(invoice)
        taken = self._disputes.tokens_taken(DISPUTE_LEDGER_REFERENCE, purchase_ids)
        restored = 0
        for purchase_id in purchase_ids:
            purchase = self._bundles.get_purchase(purchase_id)
            if purchase.status is not PurchaseStatus.REFUNDED:
                continue
            tokens = taken.get(purchase_id, 0)
            if tokens > 0:
                self._tokens.credit_tokens(
                    invoice.user_id,
                    tokens,
                    kind=TokenTransactionType.PURCHASE,
                    reference=LedgerReference(DISPUTE_RESTORE_LEDGER_REFERENCE, purchase_id),
                    description=f"Dispute won for {invoice.number}",
                )
                restored += tokens
            purchase.status = PurchaseStatus.COMPLETED
        subscriptions = add_ons = 0
        for line in invoice.line_items:
            if line.item_type is LineItemType.SUBSCRIPTION:
                subscription = self._subscriptions.get(line.item_id, for_update=True)
                if subscription is not None and self._reopen_subscription(subscription, now):
                    subscriptions += 1
        for line in invoice.line_items:
            if line.item_type is LineItemType.ADD_ON:
                add_on = self._addon_subscriptions.get(line.item_id, for_update=True)
                if add_on is not None and self._reopen_add_on(add_on, now):
                    add_ons += 1
        return RestoreResult(restored, subscriptions, add_ons)

    def _reopen_subscription(self, subscription: Subscription, now: datetime) -> bool:
        if subscription.status is not SubscriptionStatus.CANCELED or not _running(
            subscription.expires_at, now
        ):
            return False
        if self._subscriptions.find_open_for_user(subscription.user_id) is not None:
            return False  # the user has another one meanwhile: this one stays ended
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.canceled_at = None
        return True

    @staticmethod
    def _reopen_add_on(add_on: AddOnSubscription, now: datetime) -> bool:
        if add_on.status is not SubscriptionStatus.CANCELED or not _running(add_on.expires_at, now):
            return False
        if add_on.subscription.status is not SubscriptionStatus.ACTIVE:
            return False
        add_on.status = SubscriptionStatus.ACTIVE
        add_on.canceled_at = None
        return True

    def _purchases(self, invoice: Invoice) -> list[uuid.UUID]:
        return [
            line.item_id
            for line in invoice.line_items
            if line.item_type is LineItemType.TOKEN_BUNDLE
        ]


def _running(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or expires_at > now
