"""IdempotencyService over the fake key repository: claim, replay, reuse, in progress."""

import uuid

import pytest

from src.errors import Conflict, Unprocessable
from src.models.idempotency_key import IdempotencyKey
from src.services.idempotency_service import IdempotencyService, request_fingerprint
from tests.unit.builders import Billing
from tests.unit.fakes import FakeIdempotencyKeyRepository

USER = uuid.uuid4()
OTHER_USER = uuid.uuid4()


def test_claim_of_a_new_key_owns_it(billing: Billing) -> None:
    claim = billing.idempotency_service().claim(USER, "k-1", "fp")

    assert claim.replay is None
    assert billing.keys.find(USER, "k-1") is claim.record


def test_completed_key_replays_its_response(billing: Billing) -> None:
    service = billing.idempotency_service()
    IdempotencyService.complete(service.claim(USER, "k-1", "fp"), 201, {"ok": True})

    replay = service.claim(USER, "k-1", "fp").replay

    assert replay is not None
    assert (replay.status, replay.body) == (201, {"ok": True})


def test_key_with_another_fingerprint_is_idempotency_key_reused(billing: Billing) -> None:
    service = billing.idempotency_service()
    IdempotencyService.complete(service.claim(USER, "k-1", "fp"), 201, {"ok": True})

    with pytest.raises(Unprocessable) as caught:
        service.claim(USER, "k-1", "other-fp")

    assert caught.value.code == "idempotency_key_reused"


def test_keys_are_per_user(billing: Billing) -> None:
    service = billing.idempotency_service()
    service.claim(USER, "k-1", "fp")

    assert service.claim(OTHER_USER, "k-1", "other-fp").replay is None


class VanishingKeys(FakeIdempotencyKeyRepository):
    """The holder's insert blocked ours, then rolled back: the claim loses, find sees nothing."""

    def try_claim(self, record: IdempotencyKey) -> bool:
        return False


def test_lost_claim_whose_holder_rolled_back_is_in_progress() -> None:
    with pytest.raises(Conflict) as caught:
        IdempotencyService(VanishingKeys()).claim(USER, "k-1", "fp")

    assert caught.value.code == "idempotency_key_in_progress"


def test_fingerprint_depends_on_scope_and_payload_not_key_order() -> None:
    base = request_fingerprint("POST /x", {"a": 1, "b": [uuid.UUID(int=1)]})

    assert base == request_fingerprint("POST /x", {"b": [uuid.UUID(int=1)], "a": 1})
    assert base != request_fingerprint("POST /y", {"a": 1, "b": [uuid.UUID(int=1)]})
    assert base != request_fingerprint("POST /x", {"a": 2, "b": [uuid.UUID(int=1)]})
    assert len(base) == 64
