"""API keys for trusted backends: created by an operator, shown once, stored as a digest,
scoped, and revocable (read from the database on every request: refused at once everywhere)."""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

from src.clock import utc_now
from src.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from src.models.api_key import ALL_SCOPES, ApiKey
from src.services.ports import ApiKeyRepositoryPort

KEY_PREFIX = "bk"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """Known scopes, deduplicated, in a stable order; 422 ``unknown_scope`` otherwise."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise ValidationFailed(
            f"Unknown scope(s): {', '.join(unknown)}.",
            code="unknown_scope",
            details={"allowed": list(ALL_SCOPES)},
        )
    return [scope for scope in ALL_SCOPES if scope in wanted]


class ApiKeyService:
    def __init__(self, keys: ApiKeyRepositoryPort) -> None:
        self._keys = keys

    def create(self, name: str, scopes: Iterable[str] = ALL_SCOPES) -> tuple[ApiKey, str]:
        """A new key ``bk_<prefix>_<secret>``; the plaintext is returned once and never stored."""
        granted = normalize_scopes(scopes)
        prefix = secrets.token_hex(6)
        plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        key = self._keys.add(
            ApiKey(name=name, prefix=prefix, key_digest=_digest(plaintext), scopes=granted)
        )
        return key, plaintext

    def authenticate(self, plaintext: str | None, scope: str | None = None) -> ApiKey:
        """The key's record; 401 ``invalid_api_key`` for a missing, unknown or revoked key,
        403 ``insufficient_scope`` for a key without ``scope``. A use is recorded in
        ``last_used_at`` at most once a minute."""
        parts = (plaintext or "").split("_", 2)
        if len(parts) == 3 and parts[0] == KEY_PREFIX:
            key = self._keys.find_by_prefix(parts[1])
            if (
                key is not None
                and key.revoked_at is None
                and hmac.compare_digest(key.key_digest, _digest(plaintext or ""))
            ):
                if scope is not None and scope not in key.scopes:
                    raise Forbidden(
                        f"This API key lacks the scope {scope}.",
                        code="insufficient_scope",
                        details={"required": scope},
                    )
                self._keys.touch(key.id, utc_now())
                return key
        raise Unauthorized("A valid X-API-Key is required.", code="invalid_api_key")

    def revoke(self, key_id: uuid.UUID) -> ApiKey:
        """Revoke once; revoking a revoked key keeps its first revocation time."""
        key = self._keys.get(key_id)
        if key is None:
            raise NotFound("api_key")
        if key.revoked_at is None:
            key.revoked_at = utc_now()
        return key

    def list_keys(self) -> list[ApiKey]:
        return self._keys.list_all()
