"""What operators and scripts rely on: gunicorn, the flask CLI, the run command, secrets."""

import os
import subprocess
import sys
from pathlib import Path

import requests

from src.app import BillingApp
from tests.support.api import PASSWORD, unique_email
from tests.support.server import ROOT, free_port, serve


def test_gunicorn_serves_the_factory_over_real_http(served_url: str, app: BillingApp) -> None:
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    session = requests.Session()
    email = unique_email()
    registered = session.post(
        f"{served_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201
    session.headers["Authorization"] = f"Bearer {registered.json()['access_token']}"
    bundle = session.get(f"{served_url}/api/v1/token-bundles").json()["items"][0]

    checkout = session.post(
        f"{served_url}/api/v1/user/checkout", json={"token_bundle_ids": [bundle["id"]]}
    )
    assert checkout.status_code == 201
    invoice_id = checkout.json()["invoice"]["id"]
    shown = session.get(f"{served_url}/api/v1/user/invoices/{invoice_id}")
    assert shown.status_code == 200 and shown.json()["status"] == "pending"


def flask_routes(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "FLASK_APP"}
    env["APP_ENV"] = "development"
    return subprocess.run(
        [sys.executable, "-m", "flask", *args, "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_flask_finds_the_app_by_flag_and_by_flaskenv() -> None:
    by_flag = flask_routes("--app", "src.app")
    by_flaskenv = flask_routes()
    for result in (by_flag, by_flaskenv):
        assert result.returncode == 0, result.stderr
        assert "/api/v1/user/checkout" in result.stdout


def test_production_refuses_to_start_without_secrets() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("APP_ENV", "SECRET_KEY", "JWT_SECRET_KEY")
    }
    result = subprocess.run(
        [sys.executable, "-c", "from src.app import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_run_command_migrates_seeds_creates_the_admin_and_serves(tmp_path: Path) -> None:
    """bin/run on an empty SQLite database, exactly as the README tells a new user."""
    port = free_port()
    env = {
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'billing.db'}",
        "ADMIN_EMAIL": "owner@example.com",
        "ADMIN_PASSWORD": "owner-password",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_PARALLELISM": "1",
    }
    with serve([str(ROOT / "bin" / "run")], env, port, tmp_path / "run.log", timeout=120) as url:
        plans = requests.get(f"{url}/api/v1/plans").json()["items"]
        login = requests.post(
            f"{url}/api/v1/auth/login",
            json={"email": "owner@example.com", "password": "owner-password"},
        )
        health = requests.get(f"{url}/api/v1/health").json()
    assert len(plans) >= 2
    assert login.status_code == 200
    assert health == {"status": "ok", "database": "ok"}
