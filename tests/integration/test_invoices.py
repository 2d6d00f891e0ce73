"""GET /user/invoices (newest first, keyset pages) and GET /user/invoices/<id> (own only)."""

import uuid
from typing import Any

from flask.testing import FlaskClient

from tests.support.api import ApiClient, RegisteredUser

INVOICES = "/api/v1/user/invoices"


def buy(api: ApiClient, user: RegisteredUser, bundle: Any) -> str:
    invoice_id: str = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]["id"]
    return invoice_id


def test_pages_walk_every_invoice_newest_first_exactly_once(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    created = [buy(api, user, demo_catalog["tokens-50"]) for _ in range(5)]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get(INVOICES, query_string=query, headers=user.headers)
        assert response.status_code == 200
        body = response.get_json()
        seen += [invoice["id"] for invoice in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(created))
    assert pages == 3


def test_default_page_holds_the_line_items(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    buy(api, user, demo_catalog["tokens-250"])
    body = client.get(INVOICES, headers=user.headers).get_json()
    assert body["next_cursor"] is None
    (invoice,) = body["items"]
    assert invoice["total_amount"] == "199.00"
    assert invoice["line_items"][0]["description"] == "250 Tokens (250 tokens)"


def test_another_users_invoices_are_not_listed(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    buy(api, api.register(), demo_catalog["tokens-50"])
    assert client.get(INVOICES, headers=user.headers).get_json()["items"] == []


def test_own_invoice_is_shown(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    invoice_id = buy(api, user, demo_catalog["tokens-50"])
    response = client.get(f"{INVOICES}/{invoice_id}", headers=user.headers)
    assert response.status_code == 200
    assert response.get_json()["id"] == invoice_id
    assert response.get_json()["status"] == "pending"


def test_another_users_invoice_is_404_like_a_missing_one(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    theirs = buy(api, api.register(), demo_catalog["tokens-50"])
    other = client.get(f"{INVOICES}/{theirs}", headers=user.headers)
    missing = client.get(f"{INVOICES}/{uuid.uuid4()}", headers=user.headers)

    assert other.status_code == missing.status_code == 404
    assert other.get_json() == missing.get_json()
    assert other.get_json()["error"]["code"] == "invoice_not_found"


def test_a_malformed_invoice_id_is_a_json_404(client: FlaskClient, user: RegisteredUser) -> None:
    response = client.get(f"{INVOICES}/not-a-uuid", headers=user.headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_invalid_cursor_and_limit_are_400(client: FlaskClient, user: RegisteredUser) -> None:
    bad_cursor = client.get(INVOICES, query_string={"cursor": "garbage!"}, headers=user.headers)
    bad_limit = client.get(INVOICES, query_string={"limit": 101}, headers=user.headers)
    not_a_number = client.get(INVOICES, query_string={"limit": "ten"}, headers=user.headers)

    assert bad_cursor.status_code == 400
    assert bad_cursor.get_json()["error"]["code"] == "invalid_cursor"
    assert bad_limit.status_code == not_a_number.status_code == 400
    assert bad_limit.get_json()["error"]["code"] == "validation_failed"
