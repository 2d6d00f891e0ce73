"""PUT/GET /user/tokens/auto-reload, and what a reload does when it cannot charge."""

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from src.app import BillingApp
from src.models.invoice import Invoice
from tests.support.api import ApiClient, RegisteredUser
from tests.support.jobs import run_jobs
from tests.support.recording import record_notifications
from tests.support.tokens import buy_tokens, consume

URL = "/api/v1/user/tokens/auto-reload"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "TRIAL_CREDITS": 0}


def configure(client: FlaskClient, user: RegisteredUser, **body: Any) -> Any:
    return client.put(URL, json=body, headers=user.headers)


def test_settings_are_saved_and_read_back(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    assert client.get(URL, headers=user.headers).status_code == 404
    bundle = str(demo_catalog["tokens-100"])
    saved = configure(client, user, enabled=True, threshold=20, bundle_id=bundle)
    assert saved.status_code == 200
    assert client.get(URL, headers=user.headers).get_json() == {
        "enabled": True,
        "threshold": 20,
        "bundle_id": bundle,
        "failure_count": 0,
        "disabled_reason": None,
    }


@pytest.mark.parametrize("threshold", [0, 101])
def test_threshold_must_be_1_to_100(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any], threshold: int
) -> None:
    response = configure(
        client, user, enabled=True, threshold=threshold, bundle_id=str(demo_catalog["tokens-50"])
    )
    assert response.status_code == 400


def test_an_unknown_bundle_is_404(client: FlaskClient, user: RegisteredUser) -> None:
    response = configure(client, user, enabled=True, threshold=5, bundle_id=str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "token_bundle_not_found"


def test_without_a_saved_card_three_failed_reloads_turn_it_off(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    configure(client, user, enabled=True, threshold=49, bundle_id=str(demo_catalog["tokens-50"]))
    for i in range(4):
        assert consume(client, user, 2, f"job-{i}").status_code == 201  # the use always passes
        run_jobs(app)  # the reload each use deferred

    setting = client.get(URL, headers=user.headers).get_json()
    assert setting["enabled"] is False and setting["failure_count"] == 3
    assert "No saved payment method" in setting["disabled_reason"]
    assert count_rows(Invoice) == 1  # the purchase; no reload invoice was left behind

    configure(client, user, enabled=True, threshold=49, bundle_id=str(demo_catalog["tokens-50"]))
    again = client.get(URL, headers=user.headers).get_json()
    assert (again["enabled"], again["failure_count"], again["disabled_reason"]) == (True, 0, None)


def test_a_use_above_the_threshold_starts_no_reload(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    configure(client, user, enabled=True, threshold=10, bundle_id=str(demo_catalog["tokens-50"]))
    received = record_notifications(app)
    consume(client, user, 5, "plenty-left")
    assert [event.name for event, _ in received] == ["tokens.consumed"]
    received.clear()
    consume(client, user, 40, "now-low")
    assert [event.name for event, _ in received] == ["tokens.consumed", "auto_reload.needed"]
