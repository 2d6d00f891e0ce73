"""Holds sit behind the same guards as the rest of the service API: the ``usage:write`` scope,
and the per-key rate limit (both applied to the service blueprint by path and method)."""

from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from src.models.token_hold import TokenHold
from tests.support.api import RegisteredUser


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_settings,
        "TRIAL_CREDITS": 0,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_SERVICE": "2/minute",
        "RATELIMIT_LOGIN": "1000/minute",
        "RATELIMIT_REGISTER": "1000/minute",
        "RATELIMIT_PAYMENTS": "1000/minute",
    }


def key(runner: FlaskCliRunner, *scopes: str) -> str:
    args = ["apikeys", "create", "holds", *[part for s in scopes for part in ("--scope", s)]]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    created: str = result.output.strip().splitlines()[-1]
    return created


def place(client: FlaskClient, api_key: str, user: RegisteredUser, reference: str) -> Any:
    return client.post(
        f"/api/v1/service/users/{user.id}/tokens/holds",
        json={"amount": 1, "reference": reference},
        headers={"X-API-Key": api_key},
    )


def fund(client: FlaskClient, admin: RegisteredUser, user: RegisteredUser) -> None:
    response = client.post(
        f"/api/v1/admin/users/{user.id}/tokens/adjust",
        json={"amount": 10, "reason": "test funds"},
        headers=admin.headers,
    )
    assert response.status_code in (200, 201), response.get_json()


def test_a_read_only_key_cannot_place_a_hold(
    client: FlaskClient,
    runner: FlaskCliRunner,
    admin: RegisteredUser,
    user: RegisteredUser,
    count_rows: Any,
) -> None:
    fund(client, admin, user)
    refused = place(client, key(runner, "usage:read"), user, "read-only")

    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_scope"
    assert count_rows(TokenHold) == 0


def test_holds_count_against_the_keys_rate_limit(
    client: FlaskClient,
    runner: FlaskCliRunner,
    admin: RegisteredUser,
    user: RegisteredUser,
    count_rows: Any,
) -> None:
    fund(client, admin, user)
    writer = key(runner, "usage:write")

    answers = [place(client, writer, user, f"job-{i}") for i in range(3)]

    assert [a.status_code for a in answers[:2]] == [201, 201]
    assert answers[2].status_code == 429 and answers[2].headers.get("Retry-After")
    assert answers[2].get_json()["error"]["code"] == "rate_limited"
    assert count_rows(TokenHold) == 2
