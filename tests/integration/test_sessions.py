"""The API keeps no cookie session: no request gets a Set-Cookie, and code that tried to
write to Flask's session would fail loudly instead of setting one (src/sessions.py)."""

import pytest
from flask import session
from flask.testing import FlaskClient

from src.app import BillingApp
from tests.support.api import ApiClient

BALANCE = "/api/v1/user/tokens/balance"


def test_no_answer_sets_a_cookie(client: FlaskClient, api: ApiClient) -> None:
    user = api.register()
    answers = [
        client.get("/api/v1/health"),
        client.get(BALANCE, headers=user.headers),
        client.get(BALANCE),  # 401
        client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-pass"}),
    ]

    assert [answer.headers.get("Set-Cookie") for answer in answers] == [None] * 4


def test_writing_to_the_session_raises(app: BillingApp) -> None:
    with app.test_request_context("/"):
        assert not session
        with pytest.raises(RuntimeError):
            session["user"] = "someone"
