"""Spending on paid work: one atomic charge per use, idempotent per caller reference, and a
refund when the work failed."""

import uuid
from dataclasses import dataclass

from src.clock import utc_now
from src.errors import Conflict, Forbidden, NotFound, Unprocessable
from src.models.token_ledger import TokenTransactionType
from src.models.token_usage import USAGE_REFERENCE as USAGE_REFERENCE  # the ledger's name
from src.models.token_usage import TokenUsage, UsageSource, UsageStatus
from src.services.entitlement_service import EntitlementService
from src.services.ports import UsageRepositoryPort, UserRepositoryPort
from src.services.token_service import LedgerReference, TokenService

LEDGER_DESCRIPTION_LENGTH = 255  # token_transactions.description


@dataclass(frozen=True)
class ConsumeResult:
    usage: TokenUsage
    replayed: bool


class UsageService:
    def __init__(
        self,
        usages: UsageRepositoryPort,
        users: UserRepositoryPort,
        token_service: TokenService,
        entitlement_service: EntitlementService,
    ) -> None:
        self._usages = usages
        self._users = users
        self._tokens = token_service
        self._entitlements = entitlement_service

    def consume(
        self,
        user_id: uuid.UUID,
        amount: int,
        reference: str,
        description: str | None,
        api_key_id: uuid.UUID | None = None,
    ) -> ConsumeResult:
        """Charge one use, in the entitlement order; a repeated reference replays.

        The usage row is claimed first (unique per user and reference), so a concurrent retry
        waits and then replays instead of charging twice. Tokens are taken with one
        conditional UPDATE: short → 402 ``insufficient_tokens`` and the claim rolls back too.
        """
        existing = self._usages.find(user_id, reference)
        if existing is not None:
            return self._replay(existing, amount)
        usage = TokenUsage(
            id=uuid.uuid4(),
            user_id=user_id,
            reference=reference,
            requested_amount=amount,
            charged_tokens=0,
            source=UsageSource.TOKENS,
            status=UsageStatus.CHARGED,
            description=description,
            api_key_id=api_key_id,
            balance_after=0,
        )
        if not self._usages.try_claim(usage):
            winner = self._usages.find(user_id, reference)
            if winner is None:
                raise Conflict("This use is being recorded; retry.", code="usage_in_progress")
            return self._replay(winner, amount)

        subscription = self._entitlements.active_subscription(user_id, utc_now())
        if subscription is not None and not subscription.plan.usage_metered:
            usage.source = UsageSource.SUBSCRIPTION
            usage.balance_after = self._tokens.get_balance(user_id).balance
        elif subscription is None and self._users.change_trial(user_id, -1) is not None:
            usage.source = UsageSource.TRIAL
            usage.balance_after = self._tokens.get_balance(user_id).balance
        else:
            entry = self._tokens.debit_tokens(
                user_id,
                amount,
                kind=TokenTransactionType.USAGE,
                reference=LedgerReference(USAGE_REFERENCE, usage.id),
                description=(description or f"Use {reference}")[:LEDGER_DESCRIPTION_LENGTH],
            )
            usage.charged_tokens = amount
            usage.balance_after = entry.balance_after
        return ConsumeResult(usage, replayed=False)

    def refund(
        self,
        user_id: uuid.UUID,
        usage_id: uuid.UUID,
        reason: str | None,
        *,
        api_key_id: uuid.UUID | None = None,
        admin_id: uuid.UUID | None = None,
    ) -> TokenUsage:
        """Give back what a failed use took (tokens, or the trial credit), exactly once.

        Only the principal that charged it may: the same API key, or an admin (any use).
        Anyone else, the user's own token included, gets 403 ``forbidden``.
        """
        usage = self._usages.get(usage_id, for_update=True)
        if usage is None or usage.user_id != user_id:
            raise NotFound("usage")
        if admin_id is None and (api_key_id is None or usage.api_key_id != api_key_id):
            raise Forbidden(
                "Only the API key that charged this use, or an admin, can give it back."
            )
        if usage.status is UsageStatus.REFUNDED:
            raise Conflict("This use was refunded already.", code="already_refunded")
        if usage.source is UsageSource.TOKENS and usage.charged_tokens > 0:
            self._tokens.credit_tokens(
                user_id,
                usage.charged_tokens,
                kind=TokenTransactionType.REFUND,
                reference=LedgerReference(USAGE_REFERENCE, usage.id),
                description=(
                    f"Refund of use {usage.reference}" + (f": {reason}" if reason else "")
                )[:LEDGER_DESCRIPTION_LENGTH],
            )
        elif usage.source is UsageSource.TRIAL:
            self._users.change_trial(user_id, +1)
        usage.status = UsageStatus.REFUNDED
        usage.refunded_at = utc_now()
        usage.refund_reason = reason
        return usage

    @staticmethod
    def _replay(existing: TokenUsage, amount: int) -> ConsumeResult:
        if existing.requested_amount != amount:
            raise Unprocessable(
                "This reference was used for another amount.", code="usage_reference_reused"
            )
        return ConsumeResult(existing, replayed=True)
