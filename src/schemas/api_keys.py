"""API keys of trusted backends, as the admin API creates and lists them."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from src.models.api_key import ApiKey
from src.schemas.common import RequestModel, ResponseModel

Scope = Literal["usage:read", "usage:write"]


class ApiKeyCreateRequest(RequestModel):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[Scope] = Field(
        min_length=1,
        description="``usage:write``: consume, holds, releases; ``usage:read``: balance, ledger.",
    )


class ApiKeyOut(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> "ApiKeyOut":
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, only its digest is stored.")


class ApiKeyList(ResponseModel):
    items: list[ApiKeyOut]
