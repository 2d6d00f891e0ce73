"""POST /auth/register and /auth/login."""

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.user import User
from tests.support.api import PASSWORD, ApiClient, bearer, unique_email

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


def test_register_returns_user_and_a_working_token(client: FlaskClient) -> None:
    email = unique_email()
    response = client.post(REGISTER, json={"email": email, "password": PASSWORD})

    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["email"] == email
    uuid.UUID(body["user"]["id"])
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    invoices = client.get("/api/v1/user/invoices", headers=bearer(body["access_token"]))
    assert invoices.status_code == 200


def test_password_is_stored_as_an_argon2_hash(client: FlaskClient, app: BillingApp) -> None:
    email = unique_email()
    client.post(REGISTER, json={"email": email, "password": PASSWORD})
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.email == email))
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_email_is_case_insensitive_and_taken_twice_is_409(client: FlaskClient) -> None:
    email = unique_email()
    assert client.post(REGISTER, json={"email": email, "password": PASSWORD}).status_code == 201

    again = client.post(REGISTER, json={"email": email.upper(), "password": PASSWORD})

    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_taken"


def test_malformed_email_is_400(client: FlaskClient) -> None:
    response = client.post(REGISTER, json={"email": "not-an-email", "password": PASSWORD})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert [detail["field"] for detail in error["details"]] == ["email"]


def test_short_password_is_400_and_creates_nothing(client: FlaskClient, count_rows: Any) -> None:
    response = client.post(REGISTER, json={"email": unique_email(), "password": "short12"})
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "password"
    assert count_rows(User) == 0


def test_password_is_not_echoed_in_validation_errors(client: FlaskClient) -> None:
    response = client.post(REGISTER, json={"email": "bad", "password": "secret7"})
    assert "secret7" not in response.get_data(as_text=True)


def test_login_with_the_right_password_returns_a_token(api: ApiClient, client: FlaskClient) -> None:
    user = api.register()
    response = client.post(LOGIN, json={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200
    token = response.get_json()["access_token"]
    assert client.get("/api/v1/user/invoices", headers=bearer(token)).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(
    api: ApiClient, client: FlaskClient
) -> None:
    user = api.register()
    wrong_password = client.post(LOGIN, json={"email": user.email, "password": "nope-nope-nope"})
    unknown_email = client.post(LOGIN, json={"email": unique_email(), "password": PASSWORD})

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert wrong_password.get_json()["error"]["code"] == "invalid_credentials"


def test_user_routes_need_a_valid_token(client: FlaskClient) -> None:
    missing = client.get("/api/v1/user/invoices")
    garbage = client.get("/api/v1/user/invoices", headers=bearer("not.a.jwt"))

    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "unauthorized"
    assert garbage.status_code == 401
    assert garbage.get_json()["error"]["code"] == "invalid_token"


def test_expired_token_is_401_token_expired(app: BillingApp, client: FlaskClient) -> None:
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity=str(uuid.uuid4()), expires_delta=timedelta(seconds=-1))
    response = client.get("/api/v1/user/invoices", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"
