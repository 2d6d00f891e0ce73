"""What operators and scripts rely on: the HTTP server, the flask CLI, the run command, secrets."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the venv
import psycopg2
import pytest
import requests
from sqlalchemy import text

from src import embedded_postgres
from src import serve as http_server
from src.app import BillingApp
from src.extensions import db
from tests.e2e.conftest import served_env
from tests.support.api import PASSWORD, unique_email
from tests.support.http_api import eventually
from tests.support.server import ROOT, free_port, running_worker, serve, wait_until_up


def test_the_http_server_serves_the_factory_over_real_http(
    served_url: str, app: BillingApp
) -> None:
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


def test_python_m_src_serve_becomes_granian_serves_and_stops_cleanly_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    """The image's and compose's command: the variables choose the bind and the workers, the
    server takes the process's place (so the container's signals reach it), and SIGTERM ends
    it with status 0."""
    port = free_port()
    env = {**served_env(database_url), "HOST": "127.0.0.1", "PORT": str(port)}
    env.update(WEB_CONCURRENCY="3", ACCESS_LOG="true")
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "src.serve"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = f"http://127.0.0.1:{port}/api/v1/health"
        wait_until_up(health, process, log, timeout=60)
        assert requests.get(health, timeout=5).status_code == 200
        main = psutil.Process(process.pid)
        assert "granian" in main.cmdline(), main.cmdline()
        assert len(main.children()) == 3, "WEB_CONCURRENCY worker processes"
        eventually(lambda: log.read_text().count("Started worker-") == 3, timeout=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        http_server.sweep_process_group(process.pid)
    assert '"GET /api/v1/health HTTP/1.1" 200' in log.read_text(), "ACCESS_LOG=true logs"


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


def _workers_registered(data_directory: Path) -> int:
    connection = psycopg2.connect(embedded_postgres.running_url(data_directory))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM procrastinate_workers")
            row = cursor.fetchone()
            return int(row[0]) if row else 0
    finally:
        connection.close()


def _wait_for_worker(data_directory: Path, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = _workers_registered(data_directory)
        if count:
            return count
        time.sleep(0.5)
    return 0


def test_the_run_command_starts_postgres_the_api_and_a_worker_and_stops_them(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """bin/run with no DATABASE_URL, exactly as the README tells a new user: the embedded
    PostgreSQL starts in the instance folder, the API serves, one worker runs jobs; on
    SIGTERM all of it stops, and a second start finds the same data."""
    port = free_port()
    # The embedded server's data is not under pytest's basetemp, which pytest makes
    # owner-only again whenever another session starts (its ``pgserver`` user then could not
    # reach it); the directory goes with the test.
    scratch = Path(tempfile.mkdtemp(prefix="billing-run-"))
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    instance = scratch / "instance"
    env = {
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": "",
        "INSTANCE_PATH": str(instance),
        "ADMIN_EMAIL": "owner@example.com",
        "ADMIN_PASSWORD": "owner-password",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_PARALLELISM": "1",
    }
    data_directory = instance / "pgdata"
    command = [str(ROOT / "bin" / "run")]
    with serve(command, env, port, tmp_path / "run.log", timeout=120) as url:
        plans = requests.get(f"{url}/api/v1/plans").json()["items"]
        login = requests.post(
            f"{url}/api/v1/auth/login",
            json={"email": "owner@example.com", "password": "owner-password"},
        )
        health = requests.get(f"{url}/api/v1/health").json()
        workers = _wait_for_worker(data_directory)
        buyer = requests.post(
            f"{url}/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
    assert len(plans) >= 2
    assert login.status_code == 200
    assert health == {"status": "ok", "database": "ok"}
    assert workers == 1
    assert (data_directory / "PG_VERSION").exists()
    assert not (data_directory / "postmaster.pid").exists(), "the embedded server was stopped"

    with serve(command, env, port, tmp_path / "run-again.log", timeout=120) as url:
        again = requests.post(
            f"{url}/api/v1/auth/login",
            json={"email": buyer.json()["user"]["email"], "password": PASSWORD},
        )
    assert again.status_code == 200, "the account made before the restart is still there"
    assert "Generated local secrets" not in (tmp_path / "run-again.log").read_text()


def _registered_workers(app: BillingApp) -> int:
    with app.app_context():
        count = db.session.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar()
        db.session.rollback()
    return int(count or 0)


def test_flask_worker_runs_until_sigterm_then_deregisters(
    app: BillingApp, database_url: str, tmp_path: Path
) -> None:
    before = _registered_workers(app)
    with running_worker(served_env(database_url), tmp_path / "worker.log") as process:
        eventually(lambda: _registered_workers(app) == before + 1, timeout=30)
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=30)

    assert exit_code == 0, (tmp_path / "worker.log").read_text()
    assert _registered_workers(app) == before
