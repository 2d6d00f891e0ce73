"""Service-to-service: a trusted backend (X-API-Key) spends and refunds for a user, since the
paid work usually runs on another service."""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, g, request

from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.openapi import ViewResult, responses, spec
from src.routes.usage import consume, refund_usage
from src.schemas.usage import (
    ConsumeRequest,
    ConsumeResponse,
    UsageRefundRequest,
    UsageRefundResponse,
)
from src.services.api_key_service import ApiKeyService
from src.services.user_service import UserService

bp = Blueprint("service", __name__, url_prefix="/service/users/<uuid:user_id>/tokens")
TAGS = ["service"]
API_KEY: dict[str, list[str]] = {"apiKeyAuth": []}


@bp.before_request
@inject
def require_api_key(keys: ApiKeyService = Provide[Container.users.api_key_service]) -> None:
    g.api_key_id = keys.authenticate(request.headers.get("X-API-Key")).id


@bp.post("/consume")
@spec.validate(
    json=ConsumeRequest,
    resp=responses({"HTTP_201": ConsumeResponse}, 401, 402, 404, 422),
    tags=TAGS,
    security=API_KEY,
)
@inject
def consume_for_user(
    user_id: uuid.UUID,
    json: ConsumeRequest,
    users: UserService = Provide[Container.users.user_service],
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Charge one use for ``user_id``, exactly as the user's own consume does."""
    users.get(user_id)
    return consume(dispatcher, user_id, json, api_key_id=g.api_key_id)


@bp.post("/usages/<uuid:usage_id>/refund")
@spec.validate(
    json=UsageRefundRequest,
    resp=responses({"HTTP_200": UsageRefundResponse}, 401, 404, 409),
    tags=TAGS,
    security=API_KEY,
)
@inject
def refund_for_user(
    user_id: uuid.UUID,
    usage_id: uuid.UUID,
    json: UsageRefundRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    return refund_usage(dispatcher, user_id, usage_id, json)
