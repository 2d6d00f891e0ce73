"""Verified bearer tokens are cached per worker (issue 14) without honouring any token the
library would refuse: the cache is keyed by the signing key, and ``exp`` is checked again."""

from datetime import timedelta
from typing import Any

import pytest
from flask_jwt_extended import JWTManager, create_access_token
from flask_jwt_extended.utils import get_unverified_jwt_headers

from src import token_cache
from src.app import BillingApp, create_app
from src.clock import utc_now
from src.extensions import db, jwt
from tests.conftest import TEST_SETTINGS
from tests.support.api import ApiClient

BALANCE = "/api/v1/user/tokens/balance"


def test_a_token_signed_with_another_key_is_401_even_after_its_own_app_cached_it(
    app: BillingApp, api: ApiClient, database_url: str
) -> None:
    user = api.register()
    assert app.test_client().get(BALANCE, headers=user.headers).status_code == 200  # cached
    other = create_app(
        {**TEST_SETTINGS, "DATABASE_URL": database_url, "JWT_SECRET_KEY": "another-key-" * 4}
    )

    response = other.test_client().get(BALANCE, headers=user.headers)
    with other.app_context():
        for engine in db.engines.values():
            engine.dispose()

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_a_cached_token_past_its_exp_is_verified_by_the_library_again(
    app: BillingApp, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = api.register()
    with app.app_context():
        token = create_access_token(identity=str(user.id), expires_delta=timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}"}
    library_calls: list[str] = []
    library = JWTManager._decode_jwt_from_config

    def counted(self: Any, encoded: str, *args: Any, **kwargs: Any) -> Any:
        library_calls.append(encoded)
        return library(self, encoded, *args, **kwargs)

    monkeypatch.setattr(JWTManager, "_decode_jwt_from_config", counted)
    client = app.test_client()

    assert client.get(BALANCE, headers=headers).status_code == 200
    assert client.get(BALANCE, headers=headers).status_code == 200
    assert library_calls == [token]  # the second request was answered from the cache

    later = utc_now() + timedelta(minutes=6)
    monkeypatch.setattr(token_cache, "utc_now", lambda: later)
    client.get(BALANCE, headers=headers)

    assert library_calls == [token, token]  # expired by the cache's clock: the library decides
    assert isinstance(jwt, token_cache.CachingJWTManager)


def test_a_token_header_is_parsed_once_and_every_caller_gets_its_own_copy(
    app: BillingApp, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = api.register()
    with app.app_context():
        token = create_access_token(identity=str(user.id), expires_delta=timedelta(minutes=5))
    parsed: list[str] = []
    library = get_unverified_jwt_headers

    def counted(encoded: str) -> dict[str, Any]:
        parsed.append(encoded)
        return library(encoded)

    monkeypatch.setattr(token_cache, "get_unverified_jwt_headers", counted)
    token_cache._header_items.cache_clear()
    client = app.test_client()

    assert client.get(BALANCE, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get(BALANCE, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert parsed == [token]
    header = token_cache.unverified_headers(token)
    assert header == library(token) and header["alg"] == "HS256"
    header["alg"] = "none"  # a caller's change never reaches the next caller
    assert token_cache.unverified_headers(token)["alg"] == "HS256"


def test_a_tampered_token_is_still_401_once_its_header_is_cached(
    app: BillingApp, api: ApiClient
) -> None:
    user = api.register()
    client = app.test_client()
    assert client.get(BALANCE, headers=user.headers).status_code == 200
    header, payload, signature = user.token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    response = client.get(BALANCE, headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
