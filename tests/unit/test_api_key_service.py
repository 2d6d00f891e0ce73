"""ApiKeyService over FakeApiKeyRepository: keys shown once, stored as a SHA-256 digest."""

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from src.clock import utc_now
from src.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from src.models.api_key import ApiKey
from src.repositories.base import DuplicateRow
from src.services.api_key_service import ApiKeyService
from tests.unit.fakes import FakeApiKeyRepository

KEY_FORMAT = re.compile(r"^bk_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")


@pytest.fixture
def keys() -> FakeApiKeyRepository:
    return FakeApiKeyRepository()


@pytest.fixture
def service(keys: FakeApiKeyRepository) -> ApiKeyService:
    return ApiKeyService(keys=keys)


def refused(service: ApiKeyService, plaintext: str | None) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        service.authenticate(plaintext)
    return caught.value


def test_create_returns_bk_prefix_secret_and_stores_only_a_sha256_digest(
    service: ApiKeyService, keys: FakeApiKeyRepository
) -> None:
    key, plaintext = service.create("reporting backend")

    match = KEY_FORMAT.match(plaintext)
    assert match is not None, plaintext
    assert keys.rows == {key.id: key}
    assert (key.name, key.prefix) == ("reporting backend", match["prefix"])
    assert key.key_digest == hashlib.sha256(plaintext.encode()).hexdigest()
    stored = [str(value) for value in vars(key).values()]
    assert not any(match["secret"] in value for value in stored)


def test_two_keys_differ_in_prefix_and_secret(service: ApiKeyService) -> None:
    (first, one), (second, two) = service.create("a"), service.create("b")

    assert first.prefix != second.prefix and one != two


def test_authenticate_returns_the_keys_record(service: ApiKeyService) -> None:
    key, plaintext = service.create("backend")

    assert service.authenticate(plaintext) is key


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"), id="wrong-secret"),
        pytest.param(lambda p: "bk_000000000000_" + p.split("_", 2)[2], id="unknown-prefix"),
        pytest.param(lambda p: "xx" + p[2:], id="wrong-scheme"),
        pytest.param(lambda p: p[:-5], id="truncated"),
        pytest.param(lambda p: "bk_" + p.split("_", 2)[1], id="no-secret"),
        pytest.param(lambda p: "", id="empty"),
        pytest.param(lambda p: p + "x", id="longer"),
    ],
)
def test_a_wrong_key_is_invalid_api_key(
    service: ApiKeyService, wrong: Callable[[str], str]
) -> None:
    _, plaintext = service.create("backend")

    error = refused(service, wrong(plaintext))

    assert (error.code, error.status_code) == ("invalid_api_key", 401)


def test_a_missing_key_is_invalid_api_key(service: ApiKeyService) -> None:
    assert refused(service, None).code == "invalid_api_key"


def test_a_revoked_key_is_refused(service: ApiKeyService) -> None:
    key, plaintext = service.create("backend")
    key.revoked_at = utc_now()

    assert refused(service, plaintext).code == "invalid_api_key"


def test_a_secret_with_underscores_still_authenticates(
    service: ApiKeyService, keys: FakeApiKeyRepository
) -> None:
    plaintext = "bk_abc123_se_cr_et"
    digest = hashlib.sha256(plaintext.encode()).hexdigest()
    key = keys.add(ApiKey(name="old", prefix="abc123", key_digest=digest))

    assert service.authenticate(plaintext) is key


def test_digests_are_compared_in_constant_time(
    service: ApiKeyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, plaintext = service.create("backend")
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("src.services.api_key_service.hmac.compare_digest", spy)

    assert service.authenticate(plaintext) is key
    assert compared == [(key.key_digest, hashlib.sha256(plaintext.encode()).hexdigest())]


def test_list_keys_is_every_key_oldest_first(
    service: ApiKeyService, keys: FakeApiKeyRepository
) -> None:
    first, _ = service.create("a")
    second, _ = service.create("b")
    first.created_at = second.created_at + timedelta(seconds=1)

    assert service.list_keys() == [second, first]


def test_fake_refuses_a_second_key_with_the_same_prefix(keys: FakeApiKeyRepository) -> None:
    keys.add(ApiKey(name="a", prefix="abc", key_digest="1" * 64))

    with pytest.raises(DuplicateRow):
        keys.add(ApiKey(name="b", prefix="abc", key_digest="2" * 64))


def test_create_grants_every_scope_by_default_or_the_ones_asked(service: ApiKeyService) -> None:
    everything, _ = service.create("a")
    reader, _ = service.create("b", ["usage:read", "usage:read"])

    assert everything.scopes == ["usage:read", "usage:write"]
    assert reader.scopes == ["usage:read"]


def test_create_refuses_an_unknown_scope(service: ApiKeyService) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.create("a", ["usage:admin"])

    assert caught.value.code == "unknown_scope"


@pytest.mark.parametrize("granted", [["usage:read"], ["usage:write"]])
def test_a_key_without_the_scope_is_forbidden(service: ApiKeyService, granted: list[str]) -> None:
    key, plaintext = service.create("backend", granted)
    missing = "usage:write" if granted == ["usage:read"] else "usage:read"

    with pytest.raises(Forbidden) as caught:
        service.authenticate(plaintext, missing)

    assert (caught.value.code, caught.value.status_code) == ("insufficient_scope", 403)
    assert service.authenticate(plaintext, granted[0]) is key


def test_last_used_at_is_written_at_most_once_a_minute(
    service: ApiKeyService, keys: FakeApiKeyRepository
) -> None:
    key, plaintext = service.create("backend")
    assert key.last_used_at is None

    service.authenticate(plaintext)
    first = key.last_used_at
    service.authenticate(plaintext)
    service.authenticate(plaintext)

    assert first is not None and key.last_used_at == first and keys.writes == 1
    key.last_used_at = first - timedelta(seconds=61)
    service.authenticate(plaintext)
    assert key.last_used_at is not None and key.last_used_at > first and keys.writes == 2


def test_revoke_refuses_the_key_from_then_on_and_keeps_the_first_time(
    service: ApiKeyService,
) -> None:
    key, plaintext = service.create("backend")

    revoked = service.revoke(key.id)
    first = revoked.revoked_at
    service.revoke(key.id)

    assert revoked is key and first is not None and key.revoked_at == first
    assert refused(service, plaintext).code == "invalid_api_key"


def test_revoke_of_an_unknown_key_is_api_key_not_found(service: ApiKeyService) -> None:
    with pytest.raises(NotFound) as caught:
        service.revoke(uuid.uuid4())

    assert caught.value.code == "api_key_not_found"
