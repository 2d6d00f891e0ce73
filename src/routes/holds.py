"""Holds, for a trusted backend (X-API-Key, on the service blueprint and its key checks):
reserve tokens before long paid work, then settle what it cost or release it all. An admin
(on the admin blueprint and its checks) may release any hold."""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import g

from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.events.hold_events import (
    HoldPlacementRequestedEvent,
    HoldReleaseRequestedEvent,
    HoldSettlementRequestedEvent,
)
from src.openapi import BEARER, ViewResult, responses, spec
from src.routes.admin import TAGS as ADMIN_TAGS
from src.routes.admin import bp as admin_bp
from src.routes.service import API_KEY, TAGS, bp
from src.routes.usage import REPLAYED
from src.schemas.holds import HoldOut, HoldRequest, HoldSettleRequest
from src.services.user_service import UserService


@bp.post("/holds")
@spec.validate(
    json=HoldRequest,
    resp=responses({"HTTP_201": HoldOut}, 401, 402, 403, 404, 422),
    tags=TAGS,
    security=API_KEY,
)
@inject
def place_hold(
    user_id: uuid.UUID,
    json: HoldRequest,
    users: UserService = Provide[Container.users.user_service],
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Reserve ``amount`` tokens for ``expires_in`` seconds (default 900, at most 86,400): 402
    ``insufficient_tokens`` with {available, required} when short. A use covered by a
    subscription or a trial credit holds no tokens (``source`` says which). The same
    ``reference`` again replays the first answer."""
    users.get(user_id)
    outcome = dispatcher.emit(
        HoldPlacementRequestedEvent(
            user_id=user_id,
            amount=json.amount,
            reference=json.reference,
            expires_in=json.expires_in,
            api_key_id=g.api_key_id,
        )
    ).data
    return HoldOut.from_result(outcome), 201, REPLAYED if outcome.replayed else {}


@bp.post("/holds/<uuid:hold_id>/settle")
@spec.validate(
    json=HoldSettleRequest,
    resp=responses({"HTTP_200": HoldOut}, 401, 403, 404, 409, 422),
    tags=TAGS,
    security=API_KEY,
)
@inject
def settle_hold(
    user_id: uuid.UUID,
    hold_id: uuid.UUID,
    json: HoldSettleRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Charge ``amount`` (at most the hold) as one use and return the rest. Only the key that
    placed the hold may (403); a closed hold is 409 ``hold_closed``, the same settle replays."""
    outcome = dispatcher.emit(
        HoldSettlementRequestedEvent(
            user_id=user_id, hold_id=hold_id, amount=json.amount, api_key_id=g.api_key_id
        )
    ).data
    return HoldOut.from_result(outcome), 200, REPLAYED if outcome.replayed else {}


@bp.post("/holds/<uuid:hold_id>/release")
@spec.validate(
    resp=responses({"HTTP_200": HoldOut}, 401, 403, 404, 409), tags=TAGS, security=API_KEY
)
@inject
def release_hold(
    user_id: uuid.UUID,
    hold_id: uuid.UUID,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Return all of the hold. Only the key that placed it may (403); a settled or expired
    hold is 409 ``hold_closed``; releasing again replays."""
    outcome = dispatcher.emit(
        HoldReleaseRequestedEvent(user_id=user_id, hold_id=hold_id, api_key_id=g.api_key_id)
    ).data
    return HoldOut.from_result(outcome), 200, REPLAYED if outcome.replayed else {}


@admin_bp.post("/users/<uuid:user_id>/tokens/holds/<uuid:hold_id>/release")
@spec.validate(
    resp=responses({"HTTP_200": HoldOut}, 401, 403, 404, 409), tags=ADMIN_TAGS, security=BEARER
)
@inject
def admin_release_hold(
    user_id: uuid.UUID,
    hold_id: uuid.UUID,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """An admin returns all of any hold of the user (409 ``hold_closed`` once it is closed)."""
    outcome = dispatcher.emit(
        HoldReleaseRequestedEvent(user_id=user_id, hold_id=hold_id, is_admin=True)
    ).data
    return HoldOut.from_result(outcome), 200, REPLAYED if outcome.replayed else {}
