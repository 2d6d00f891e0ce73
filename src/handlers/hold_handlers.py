"""Holds: place, settle, release, and release the expired ones (the periodic job)."""

from src.clock import utc_now
from src.events.base import EventResult, IEventHandler
from src.events.hold_events import (
    ExpiredHoldsReleaseRequestedEvent,
    HoldOutcome,
    HoldPlacementRequestedEvent,
    HoldReleaseRequestedEvent,
    HoldSettlementRequestedEvent,
)
from src.services.hold_service import HoldActor, HoldChange, HoldService
from src.services.token_service import TokenService


def _outcome(change: HoldChange, tokens: TokenService) -> HoldOutcome:
    hold = change.hold
    balance = tokens.get_balance(hold.user_id)
    return HoldOutcome(
        hold_id=hold.id,
        user_id=hold.user_id,
        reference=hold.reference,
        amount=hold.amount,
        source=hold.source,
        status=hold.status,
        held_tokens=hold.held_tokens,
        settled_tokens=hold.settled_tokens,
        usage_id=hold.usage_id,
        expires_at=hold.expires_at,
        balance=balance.balance,
        available=balance.available,
        held=balance.held,
        replayed=change.replayed,
    )


class PlaceHoldHandler(IEventHandler[HoldPlacementRequestedEvent, HoldOutcome]):
    def __init__(self, hold_service: HoldService, token_service: TokenService) -> None:
        self._holds = hold_service
        self._tokens = token_service

    def handle(self, event: HoldPlacementRequestedEvent) -> EventResult[HoldOutcome]:
        change = self._holds.place(
            event.user_id,
            event.amount,
            event.reference,
            event.expires_in,
            event.api_key_id,
            utc_now(),
        )
        return EventResult(_outcome(change, self._tokens))


class SettleHoldHandler(IEventHandler[HoldSettlementRequestedEvent, HoldOutcome]):
    def __init__(self, hold_service: HoldService, token_service: TokenService) -> None:
        self._holds = hold_service
        self._tokens = token_service

    def handle(self, event: HoldSettlementRequestedEvent) -> EventResult[HoldOutcome]:
        actor = HoldActor(event.api_key_id, event.is_admin)
        change = self._holds.settle(event.user_id, event.hold_id, event.amount, actor, utc_now())
        return EventResult(_outcome(change, self._tokens))


class ReleaseHoldHandler(IEventHandler[HoldReleaseRequestedEvent, HoldOutcome]):
    def __init__(self, hold_service: HoldService, token_service: TokenService) -> None:
        self._holds = hold_service
        self._tokens = token_service

    def handle(self, event: HoldReleaseRequestedEvent) -> EventResult[HoldOutcome]:
        actor = HoldActor(event.api_key_id, event.is_admin)
        change = self._holds.release(event.user_id, event.hold_id, actor, utc_now())
        return EventResult(_outcome(change, self._tokens))


class ReleaseExpiredHoldsHandler(IEventHandler[ExpiredHoldsReleaseRequestedEvent, int]):
    def __init__(self, hold_service: HoldService) -> None:
        self._holds = hold_service

    def handle(self, event: ExpiredHoldsReleaseRequestedEvent) -> EventResult[int]:
        return EventResult(self._holds.release_expired(event.as_of, event.limit))
