"""The accounts a benchmark needs, made before the timed part the way a client would make them.

Users register over the API (their access tokens drive the load); the admin is created with
``flask users create-admin`` (there is no API for the first admin) and logs in over the API;
tokens are granted through the admin adjustment endpoint. All of it is setup, not timed.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from bench.database import query
from bench.server import API, flask_cli

PASSWORD = "bench-password-1234"


@dataclass(frozen=True)
class BenchUser:
    id: str
    email: str
    token: str


def register_users(base_url: str, count: int, password: str = PASSWORD) -> list[BenchUser]:
    """Register ``bench-user-<i>@example.com`` for i < count (8 at a time) over the API."""

    def register(index: int) -> BenchUser:
        email = f"bench-user-{index}@example.com"
        response = requests.post(
            f"{base_url}{API}/auth/register",
            json={"email": email, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        return BenchUser(id=body["user"]["id"], email=email, token=body["access_token"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(register, range(count)))


def create_admin(database_url: str, base_url: str, email: str, password: str) -> BenchUser:
    """``flask users create-admin EMAIL --password P``, then log in over the API."""
    flask_cli(database_url, "users", "create-admin", email, "--password", password)
    response = requests.post(
        f"{base_url}{API}/auth/login", json={"email": email, "password": password}, timeout=30
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    rows = query(database_url, "SELECT id::text FROM users WHERE email = %s", (email,))
    return BenchUser(id=str(rows[0][0]), email=email, token=token)


def grant_tokens(
    base_url: str,
    admin: BenchUser,
    users: Sequence[BenchUser],
    amount: int,
    reason: str = "benchmark grant",
) -> None:
    """A bonus of ``amount`` tokens per user through POST /admin/users/<id>/tokens/adjust,
    8 at a time."""

    def grant(user: BenchUser) -> None:
        response = requests.post(
            f"{base_url}{API}/admin/users/{user.id}/tokens/adjust",
            json={"amount": amount, "reason": reason},
            headers={"Authorization": f"Bearer {admin.token}"},
            timeout=30,
        )
        response.raise_for_status()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(grant, users))
