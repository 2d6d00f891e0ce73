"""Idempotency-Key semantics (Stripe's): same key and body replay; same key, other body, 422."""

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from src.errors import Conflict, Unprocessable
from src.models.idempotency_key import IdempotencyKey
from src.services.ports import IdempotencyKeyRepositoryPort


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyClaim:
    """Either this request owns the key (``replay is None``) or it must replay ``replay``."""

    record: IdempotencyKey
    replay: StoredResponse | None


def request_fingerprint(scope: str, payload: dict[str, Any]) -> str:
    """A stable digest of what was asked: endpoint scope plus the normalised request."""
    canonical = json.dumps({"scope": scope, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyService:
    def __init__(self, keys: IdempotencyKeyRepositoryPort) -> None:
        self._keys = keys

    def claim(self, user_id: uuid.UUID, key: str, fingerprint: str) -> IdempotencyClaim:
        """Own the key, or learn what to replay.

        The claim row is written in the command's own transaction, so it commits with the
        work it guards (or not at all). A concurrent duplicate blocks on the unique key until
        the first request ends, then finds its committed response.
        """
        existing = self._keys.find(user_id, key)
        if existing is None:
            record = IdempotencyKey(user_id=user_id, key=key, request_fingerprint=fingerprint)
            if self._keys.try_claim(record):
                return IdempotencyClaim(record=record, replay=None)
            existing = self._keys.find(user_id, key)
            if existing is None:  # the holder rolled back after we lost: let the client retry
                raise self._in_progress()
        return IdempotencyClaim(record=existing, replay=self._replay(existing, fingerprint))

    @staticmethod
    def complete(claim: IdempotencyClaim, status: int, body: dict[str, Any]) -> None:
        """Store the response a retry will replay (same transaction as the work)."""
        claim.record.response_status = status
        claim.record.response_body = body

    def _replay(self, record: IdempotencyKey, fingerprint: str) -> StoredResponse:
        if record.request_fingerprint != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was used with a different request.",
                code="idempotency_key_reused",
            )
        if record.response_status is None or record.response_body is None:
            raise self._in_progress()
        return StoredResponse(status=record.response_status, body=record.response_body)

    @staticmethod
    def _in_progress() -> Conflict:
        return Conflict(
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            code="idempotency_key_in_progress",
        )
