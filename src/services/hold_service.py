"""Holds: reserve tokens for work whose cost is known at the end, then settle or release.

Placing a hold claims its row first (unique per user and reference: a retry replays), then
moves ``amount`` from available to held in one conditional UPDATE (402 when short). Closing
a hold locks its row: exactly one of settle, release and expiry finds it open; the others
answer 409 ``hold_closed`` (or replay the same request's answer).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from src.errors import Conflict, Forbidden, NotFound, Unprocessable
from src.models.token_hold import HoldStatus, TokenHold
from src.models.token_ledger import TokenTransactionType
from src.models.token_usage import TokenUsage, UsageSource, UsageStatus
from src.repositories.hold_repository import TokenHoldRepository
from src.services.entitlement_service import EntitlementService
from src.services.ports import UsageRepositoryPort, UserRepositoryPort
from src.services.token_service import LedgerReference, TokenService

HOLD_REFERENCE = "token_hold"
USAGE_REFERENCE = "token_usage"


@dataclass(frozen=True)
class HoldActor:
    """Who asks to close a hold: the API key that placed it, or an admin."""

    api_key_id: uuid.UUID | None
    is_admin: bool = False


@dataclass(frozen=True)
class HoldChange:
    hold: TokenHold
    replayed: bool


class HoldService:
    def __init__(
        self,
        holds: TokenHoldRepository,
        usages: UsageRepositoryPort,
        users: UserRepositoryPort,
        token_service: TokenService,
        entitlement_service: EntitlementService,
    ) -> None:
        self._holds = holds
        self._usages = usages
        self._users = users
        self._tokens = token_service
        self._entitlements = entitlement_service

    def place(
        self,
        user_id: uuid.UUID,
        amount: int,
        reference: str,
        expires_in: int,
        api_key_id: uuid.UUID | None,
        now: datetime,
    ) -> HoldChange:
        existing = self._holds.find(user_id, reference)
        if existing is not None:
            return self._replay_placement(existing, amount)
        hold = TokenHold(
            id=uuid.uuid4(),
            user_id=user_id,
            reference=reference,
            amount=amount,
            held_tokens=0,
            settled_tokens=0,
            source=UsageSource.TOKENS,
            status=HoldStatus.OPEN,
            api_key_id=api_key_id,
            expires_at=now + timedelta(seconds=expires_in),
            created_at=now,
        )
        if not self._holds.try_claim(hold):
            winner = self._holds.find(user_id, reference)
            if winner is None:
                raise Conflict("This hold is being placed; retry.", code="hold_in_progress")
            return self._replay_placement(winner, amount)

        subscription = self._entitlements.active_subscription(user_id, now)
        if subscription is not None and not subscription.plan.usage_metered:
            hold.source = UsageSource.SUBSCRIPTION
        elif subscription is None and self._users.change_trial(user_id, -1) is not None:
            hold.source = UsageSource.TRIAL
        else:
            self._tokens.move_held(
                user_id,
                balance_delta=0,
                held_delta=amount,
                kind=TokenTransactionType.HOLD,
                reference=LedgerReference(HOLD_REFERENCE, hold.id),
                description=f"Hold {reference}"[:255],
            )
            hold.held_tokens = amount
        return HoldChange(hold, replayed=False)

    def settle(
        self,
        user_id: uuid.UUID,
        hold_id: uuid.UUID,
        amount: int,
        actor: HoldActor,
        now: datetime,
    ) -> HoldChange:
        """Charge ``amount`` (≤ the hold's amount) as one use and return the rest."""
        hold = self._locked(user_id, hold_id, actor)
        charged = amount if hold.source is UsageSource.TOKENS else 0
        if hold.status is HoldStatus.SETTLED and hold.settled_tokens == charged:
            return HoldChange(hold, replayed=True)
        self._require_open(hold, now)
        if amount > hold.amount:
            raise Unprocessable(
                "A hold cannot be settled for more than it holds.",
                code="settle_exceeds_hold",
                details={"held": hold.amount, "amount": amount},
            )
        usage = TokenUsage(
            id=uuid.uuid4(),
            user_id=user_id,
            reference=f"hold:{hold.id}",
            requested_amount=hold.amount,
            charged_tokens=charged,
            source=hold.source,
            status=UsageStatus.CHARGED,
            description=f"Hold {hold.reference}"[:255],
            api_key_id=hold.api_key_id,
            balance_after=0,
            created_at=now,
        )
        if not self._usages.try_claim(usage):  # pragma: no cover - the hold row is locked
            raise Conflict("This hold was settled already.", code="hold_closed")
        if hold.source is UsageSource.TOKENS:
            entry = self._tokens.move_held(
                user_id,
                balance_delta=-charged,
                held_delta=-hold.held_tokens,
                kind=TokenTransactionType.USAGE,
                reference=LedgerReference(USAGE_REFERENCE, usage.id),
                description=f"Use {hold.reference} (settled hold)"[:255],
            )
            usage.balance_after = entry.balance_after
        else:
            usage.balance_after = self._tokens.get_balance(user_id).balance
        hold.status = HoldStatus.SETTLED
        hold.settled_tokens = charged
        hold.usage_id = usage.id
        hold.closed_at = now
        return HoldChange(hold, replayed=False)

    def release(
        self, user_id: uuid.UUID, hold_id: uuid.UUID, actor: HoldActor, now: datetime
    ) -> HoldChange:
        """Return all of it; a hold past its expiry can still be released (as expiry would)."""
        hold = self._locked(user_id, hold_id, actor)
        if hold.status is HoldStatus.RELEASED:
            return HoldChange(hold, replayed=True)
        if hold.status is not HoldStatus.OPEN:
            raise self._closed(hold)
        self._give_back(hold, HoldStatus.RELEASED, now)
        return HoldChange(hold, replayed=False)

    def release_expired(self, as_of: datetime, limit: int) -> int:
        holds = self._holds.lock_expired_open(as_of, limit)
        for hold in holds:
            self._give_back(hold, HoldStatus.EXPIRED, as_of)
        return len(holds)

    def _give_back(self, hold: TokenHold, status: HoldStatus, now: datetime) -> None:
        if hold.source is UsageSource.TOKENS and hold.held_tokens > 0:
            self._tokens.move_held(
                hold.user_id,
                balance_delta=0,
                held_delta=-hold.held_tokens,
                kind=TokenTransactionType.HOLD_RELEASE,
                reference=LedgerReference(HOLD_REFERENCE, hold.id),
                description=f"Release of hold {hold.reference} ({status.value})"[:255],
            )
        elif hold.source is UsageSource.TRIAL:
            self._users.change_trial(hold.user_id, +1)
        hold.status = status
        hold.closed_at = now

    def _locked(self, user_id: uuid.UUID, hold_id: uuid.UUID, actor: HoldActor) -> TokenHold:
        hold = self._holds.get(hold_id, for_update=True)
        if hold is None or hold.user_id != user_id:
            raise NotFound("hold")
        if not actor.is_admin and (actor.api_key_id is None or actor.api_key_id != hold.api_key_id):
            raise Forbidden("Only the API key that placed a hold (or an admin) can close it.")
        return hold

    def _require_open(self, hold: TokenHold, now: datetime) -> None:
        if hold.status is not HoldStatus.OPEN:
            raise self._closed(hold)
        if hold.expires_at <= now:
            raise Conflict(
                "This hold has expired.", code="hold_closed", details={"status": "expired"}
            )

    @staticmethod
    def _closed(hold: TokenHold) -> Conflict:
        return Conflict(
            "This hold is closed already.",
            code="hold_closed",
            details={"status": hold.status.value},
        )

    @staticmethod
    def _replay_placement(existing: TokenHold, amount: int) -> HoldChange:
        if existing.amount != amount:
            raise Unprocessable(
                "This reference was used for another amount.", code="hold_reference_reused"
            )
        return HoldChange(existing, replayed=True)
