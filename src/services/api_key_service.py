"""API keys for trusted backends: created by an operator, shown once, stored as a digest."""

import hashlib
import hmac
import secrets

from src.errors import Unauthorized
from src.models.api_key import ApiKey
from src.services.ports import ApiKeyRepositoryPort

KEY_PREFIX = "bk"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyService:
    def __init__(self, keys: ApiKeyRepositoryPort) -> None:
        self._keys = keys

    def create(self, name: str) -> tuple[ApiKey, str]:
        """A new key ``bk_<prefix>_<secret>``; the plaintext is returned once and never stored."""
        prefix = secrets.token_hex(6)
        plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        key = self._keys.add(ApiKey(name=name, prefix=prefix, key_digest=_digest(plaintext)))
        return key, plaintext

    def authenticate(self, plaintext: str | None) -> ApiKey:
        """The key's record; 401 ``invalid_api_key`` for a missing, unknown or revoked key."""
        parts = (plaintext or "").split("_", 2)
        if len(parts) == 3 and parts[0] == KEY_PREFIX:
            key = self._keys.find_by_prefix(parts[1])
            if (
                key is not None
                and key.revoked_at is None
                and hmac.compare_digest(key.key_digest, _digest(plaintext or ""))
            ):
                return key
        raise Unauthorized("A valid X-API-Key is required.", code="invalid_api_key")

    def list_keys(self) -> list[ApiKey]:
        return self._keys.list_all()
