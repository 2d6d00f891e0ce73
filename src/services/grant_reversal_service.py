"""What a full refund takes back: the tokens an invoice credited, its subscription, add-ons."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from src.errors import Conflict
from src.models.invoice import Invoice, LineItemType
from src.models.token_bundle import PurchaseStatus
from src.models.token_ledger import TokenTransactionType
from src.services.addon_service import AddOnService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import PURCHASE_LEDGER_REFERENCE, TokenBundleService
from src.services.token_service import LedgerReference, TokenService


@dataclass(frozen=True)
class ReversalPlan:
    user_id: uuid.UUID
    available: int
    purchases: list[tuple[uuid.UUID, int]] = field(default_factory=list)

    @property
    def needed(self) -> int:
        return sum(tokens for _, tokens in self.purchases)


@dataclass(frozen=True)
class ReversalResult:
    tokens_reversed: int
    tokens_shortfall: int


class GrantReversalService:
    def __init__(
        self,
        token_service: TokenService,
        token_bundle_service: TokenBundleService,
        subscription_service: SubscriptionService,
        add_on_service: AddOnService,
    ) -> None:
        self._tokens = token_service
        self._bundles = token_bundle_service
        self._subscriptions = subscription_service
        self._add_ons = add_on_service

    def plan(self, invoice: Invoice, force: bool) -> ReversalPlan:
        """Check, before any money moves, that the tokens can be taken back.

        The balance row stays locked until commit, so no spend can slip in between this check
        and the debit. Tokens already spent make it 409 ``tokens_already_spent``, unless
        ``force``: then what is left is taken and the rest recorded as a shortfall.
        """
        available = self._tokens.lock_balance(invoice.user_id)
        purchases = [
            (purchase.id, purchase.total_tokens)
            for purchase in (
                self._bundles.get_purchase(line.item_id)
                for line in invoice.line_items
                if line.item_type is LineItemType.TOKEN_BUNDLE
            )
            if purchase.status is PurchaseStatus.COMPLETED
        ]
        plan = ReversalPlan(user_id=invoice.user_id, available=available, purchases=purchases)
        if plan.needed > available and not force:
            raise Conflict(
                "Some of the tokens this payment bought are already spent; refund with "
                '{"force": true} to take back what is left.',
                code="tokens_already_spent",
                details={"balance": available, "required": plan.needed},
            )
        return plan

    def apply(
        self,
        invoice: Invoice,
        plan: ReversalPlan,
        now: datetime,
        reference_type: str = PURCHASE_LEDGER_REFERENCE,
        description: str = "Refund",
    ) -> ReversalResult:
        """Take the grants back. A chargeback's debits use their own ``reference_type``, so
        a dispute won (and restored) and a refund later each take the tokens once."""
        remaining = plan.available
        reversed_total = 0
        for purchase_id, tokens in plan.purchases:
            take = min(tokens, remaining)
            if take > 0:
                self._tokens.debit_tokens(
                    plan.user_id,
                    take,
                    kind=TokenTransactionType.REFUND,
                    reference=LedgerReference(reference_type, purchase_id),
                    description=f"{description} of {invoice.number}",
                )
            remaining -= take
            reversed_total += take
            self._bundles.mark_refunded(purchase_id)
        for line in invoice.line_items:
            if line.item_type is LineItemType.SUBSCRIPTION:
                self._subscriptions.end_for_refund(line.item_id, now)
            elif line.item_type is LineItemType.ADD_ON:
                self._add_ons.end_for_refund(line.item_id, now)
        return ReversalResult(reversed_total, plan.needed - reversed_total)
