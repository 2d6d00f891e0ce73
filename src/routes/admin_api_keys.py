"""Admin API for the API keys of trusted backends: create (the key shown once), list, revoke.

A revocation is committed at once and keys are read from the database on every request, so
a revoked key is refused (401) at once on every worker.
"""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, Response

from src.container import Container
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.openapi import BEARER, ViewResult, responses, spec
from src.routes.admin import require_admin
from src.schemas.api_keys import ApiKeyCreated, ApiKeyCreateRequest, ApiKeyList, ApiKeyOut
from src.services.api_key_service import ApiKeyService

bp = Blueprint("admin_api_keys", __name__, url_prefix="/admin/api-keys")
bp.before_request(require_admin)
TAGS = ["admin"]


@bp.post("")
@spec.validate(
    json=ApiKeyCreateRequest,
    resp=responses({"HTTP_201": ApiKeyCreated}, 401, 403, 422),
    tags=TAGS,
    security=BEARER,
)
@inject
def create_api_key(
    json: ApiKeyCreateRequest,
    keys: ApiKeyService = Provide[Container.users.api_key_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> ViewResult:
    """A new key with its scopes; ``key`` is in this answer only (its digest is stored)."""
    with unit_of_work as uow:
        key, plaintext = keys.create(json.name, json.scopes)
        body = ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=plaintext)
        uow.commit()
    return body, 201


@bp.get("")
@spec.validate(resp=responses({"HTTP_200": ApiKeyList}, 401, 403), tags=TAGS, security=BEARER)
@inject
def list_api_keys(keys: ApiKeyService = Provide[Container.users.api_key_service]) -> ViewResult:
    """Every key, oldest first, revoked ones included (never the key itself)."""
    return ApiKeyList(items=[ApiKeyOut.of(key) for key in keys.list_keys()])


@bp.delete("/<uuid:key_id>")
@spec.validate(resp=responses({"HTTP_204": None}, 401, 403, 404), tags=TAGS, security=BEARER)
@inject
def revoke_api_key(
    key_id: uuid.UUID,
    keys: ApiKeyService = Provide[Container.users.api_key_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> Response:
    """Revoke: refused (401) from the next request on; revoking again is a no-op."""
    with unit_of_work as uow:
        keys.revoke(key_id)
        uow.commit()
    return Response(status=204)
