"""Rate limits: each holds at its limit, answers 429 ``rate_limited`` with Retry-After, and the
refused request does nothing. The suite runs with limits off; these tests turn them on with
small limits of their own (``limits(...)`` below)."""

import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient, FlaskCliRunner
from flask import request
from flask_limiter import Limiter
from flask_limiter._extension import LimiterContext
from flask_limiter.util import get_qualified_name

from src.app import BillingApp
from src.extensions import limiter

from src.models.payment import Payment
from src.models.token_usage import TokenUsage
from src.models.user import User
from src.rate_limits import is_limited_view
from tests.support.api import PASSWORD, ApiClient, RegisteredUser, unique_email

REDIS_URL = "redis://127.0.0.1:6379/0"
HIGH = "1000/minute"


@pytest.fixture
def app_settings(app_settings: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Limits on and high, except those a test names with ``limits(...)``."""
    high = {name: HIGH for name in ("LOGIN", "REGISTER", "PAYMENTS", "SERVICE")}
    return {
        **app_settings,
        "RATELIMIT_ENABLED": True,
        **{f"RATELIMIT_{name}": value for name, value in high.items()},
        **getattr(request, "param", {}),
    }


def limits(**settings: str | bool) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("app_settings", [settings], indirect=True, ids=["limits"])


def from_ip(ip: str) -> dict[str, str]:
    return {"REMOTE_ADDR": ip}


def login(client: FlaskClient, email: str, ip: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base=from_ip(ip),
    )


def register(client: FlaskClient, ip: str) -> Any:
    return client.post(
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD},
        environ_base=from_ip(ip),
    )


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert response.get_json()["error"]["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@limits(RATELIMIT_LOGIN="2/minute")
def test_login_is_limited_per_email_across_ips(client: FlaskClient, user: RegisteredUser) -> None:
    wrong = [login(client, user.email, f"10.0.1.{n}", password="wrong-guess") for n in (1, 2)]
    third = login(client, user.email, "10.0.1.3")  # the right password, a fresh IP

    assert [response.status_code for response in wrong] == [401, 401]
    assert_rate_limited(third)
    assert "access_token" not in third.get_json()


@limits(RATELIMIT_LOGIN="2/minute")
def test_login_is_limited_per_ip_across_emails(client: FlaskClient, api: ApiClient) -> None:
    users = [api.register() for _ in range(3)]

    answers = [login(client, registered.email, "10.0.2.1") for registered in users]

    assert [response.status_code for response in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2])
    assert "access_token" not in answers[2].get_json()
    assert login(client, users[2].email, "10.0.2.2").status_code == 200  # another IP


@limits(RATELIMIT_REGISTER="2/minute")
def test_register_is_limited_per_ip(client: FlaskClient, count_rows: Any) -> None:
    answers = [register(client, "10.0.3.1") for _ in range(3)]

    assert [response.status_code for response in answers[:2]] == [201, 201]
    assert_rate_limited(answers[2])
    assert count_rows(User) == 2
    assert register(client, "10.0.3.2").status_code == 201  # another IP


def pay(client: FlaskClient, user: RegisteredUser, invoice_id: str) -> Any:
    return client.post(
        f"/api/v1/user/invoices/{invoice_id}/pay",
        json={"provider": "manual"},
        headers=user.headers,
    )


@limits(RATELIMIT_PAYMENTS="2/minute")
def test_pay_verify_and_setup_share_a_limit_per_user(
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    bundle = demo_catalog["tokens-50"]
    first, second = (api.checkout(user, token_bundle_ids=(bundle,))["invoice"]["id"] for _ in "ab")
    paid = pay(client, user, first)
    verified = client.post(
        "/api/v1/user/payments/verify",
        json={"payment_id": paid.get_json()["payment_id"]},
        headers=user.headers,
    )

    refused = pay(client, user, second)
    setup = client.post(
        "/api/v1/user/payment-methods/setup", json={"provider": "stripe"}, headers=user.headers
    )

    assert (paid.status_code, verified.status_code) == (201, 200)
    assert_rate_limited(refused)
    assert_rate_limited(setup)
    assert count_rows(Payment) == 1
    other = api.register()
    other_invoice = api.checkout(other, token_bundle_ids=(bundle,))["invoice"]["id"]
    assert pay(client, other, other_invoice).status_code == 201  # another user's own budget


def create_api_key(runner: FlaskCliRunner, name: str) -> str:
    result = runner.invoke(args=["apikeys", "create", name])
    assert result.exit_code == 0, result.output
    key: str = result.output.strip().splitlines()[-1]
    return key


def service_consume(client: FlaskClient, key: str, user: RegisteredUser, reference: str) -> Any:
    return client.post(
        f"/api/v1/service/users/{user.id}/tokens/consume",
        json={"amount": 1, "reference": reference},
        headers={"X-API-Key": key},
    )


@limits(RATELIMIT_SERVICE="2/minute")
def test_service_writes_are_limited_per_api_key(
    client: FlaskClient, runner: FlaskCliRunner, user: RegisteredUser, count_rows: Any
) -> None:
    key, other_key = create_api_key(runner, "render-farm"), create_api_key(runner, "other")

    answers = [service_consume(client, key, user, f"svc-{n}") for n in range(3)]

    assert [response.status_code for response in answers[:2]] == [201, 201]
    assert_rate_limited(answers[2])
    assert count_rows(TokenUsage) == 2
    assert service_consume(client, other_key, user, "svc-other").status_code == 201


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_answers(), reason=f"no Redis answers on {REDIS_URL}")
@limits(RATELIMIT_LOGIN="2/minute", RATELIMIT_STORAGE_URI=REDIS_URL)
def test_limits_are_counted_in_redis_when_configured(
    client: FlaskClient, user: RegisteredUser
) -> None:
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"
    answers = [login(client, user.email, ip) for _ in range(3)]

    assert [response.status_code for response in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2])
    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(match=f"*email:{user.email}*"))
    assert keys, "the counter lives in Redis, shared by every worker"
    store.delete(*keys, *store.scan_iter(match=f"*ip:{ip}*"))


@limits(RATELIMIT_ENABLED=False, RATELIMIT_REGISTER="1/minute")
def test_disabled_limits_refuse_nothing(client: FlaskClient, count_rows: Any) -> None:
    answers = [register(client, "10.0.4.1") for _ in range(3)]

    assert [response.status_code for response in answers] == [201, 201, 201]
    assert count_rows(User) == 3


@limits(RATELIMIT_REGISTER="2/minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
def test_an_unreachable_redis_falls_back_to_memory_instead_of_failing(
    client: FlaskClient, count_rows: Any
) -> None:
    """No 500 while Redis is down: the limit is counted in the process meanwhile."""
    answers = [register(client, "10.0.0.9") for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [201, 201]
    assert_rate_limited(answers[2])
    assert count_rows(User) == 2


def test_the_limiter_is_skipped_only_where_no_limit_applies(app: BillingApp) -> None:
    """The request filter exempts every view without our mark (outside service writes), so a
    limit added any other way than through ``src.rate_limits`` would silently never hold.
    Flask-Limiter's own bookkeeping of decorated views is the reference here."""
    marked_by_library = limiter._marked_for_limiting
    assert marked_by_library, "the decorated login, register and payment views"
    for endpoint, view in app.view_functions.items():
        decorated = get_qualified_name(view) in marked_by_library or (
            limiter.limit_manager.has_hints(endpoint)
        )
        assert is_limited_view(view) == decorated, endpoint
    limited = {endpoint for endpoint, view in app.view_functions.items() if is_limited_view(view)}
    assert limited == {
        "api.auth.login",
        "api.auth.register",
        "api.payments.pay_invoice",
        "api.payments.verify_payment",
        "api.payments.setup_payment_method",
    }


def test_flask_limiter_runs_only_where_a_limit_applies(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate in front of Flask-Limiter's hooks (before-request check, after-request
    headers, teardown): a request no limit applies to reaches none of them; a service write
    and a decorated view reach all three. The library's own code runs, counted on its way
    in."""
    calls: list[tuple[str, str]] = []

    def counted(owner: type, name: str) -> None:
        original = getattr(owner, name)

        def spy(self: Any, *args: Any) -> Any:
            calls.append((name.rsplit("__", 1)[-1], request.endpoint or ""))
            return original(self, *args)

        monkeypatch.setattr(owner, name, spy)

    counted(Limiter, "_Limiter__evaluate_limits")
    counted(Limiter, "_Limiter__check_conditional_deductions")
    counted(LimiterContext, "reset")

    assert client.get("/api/v1/token-bundles").status_code == 200
    assert client.get("/api/v1/user/tokens/balance").status_code == 401
    assert calls == []

    unsigned = client.post(
        f"/api/v1/service/users/{uuid.uuid4()}/tokens/consume",
        json={"amount": 1, "reference": "gate"},
    )
    assert unsigned.status_code == 401
    service = "api.service.consume_for_user"
    assert calls == [
        ("evaluate_limits", service),
        ("check_conditional_deductions", service),
        ("reset", service),
    ]

    calls.clear()
    assert register(client, "10.0.0.20").status_code == 201
    assert {name for name, _ in calls} == {
        "evaluate_limits",
        "check_conditional_deductions",
        "reset",
    }
    assert {endpoint for _, endpoint in calls} == {"api.auth.register"}
