"""End-to-end fixtures: the app served by granian on loopback, on the test database, and
localstripe as its Stripe (the real SDK talks to it; its signed webhooks reach the app)."""

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from src.app import BillingApp, create_app
from src.extensions import db
from tests.conftest import TEST_SETTINGS
from tests.support import stripe_fake as localstripe
from tests.support.ledger import assert_ledger_consistent
from tests.support.server import free_port, app_server_command, running_worker, serve


def served_env(database_url: str, **extra: Any) -> dict[str, str]:
    settings = {**TEST_SETTINGS, "APP_ENV": "production", "DATABASE_URL": database_url, **extra}
    return {key: str(value) for key, value in settings.items() if value is not None}


@pytest.fixture(scope="module")
def served_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("granian")) / "server.log"
    with serve(app_server_command(port), served_env(database_url), port, log) as url:
        yield url


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("localstripe")) / "localstripe.log"
    with localstripe.running_localstripe(log) as url:
        yield url


@pytest.fixture(scope="module")
def stripe_env(database_url: str, localstripe_url: str) -> dict[str, str]:
    return served_env(
        database_url,
        STRIPE_SECRET_KEY=localstripe.API_KEY,
        STRIPE_API_BASE=localstripe_url,
        STRIPE_WEBHOOK_SECRET=localstripe.WEBHOOK_SECRET,
        TRIAL_CREDITS=0,
    )


@pytest.fixture(scope="module")
def stripe_app_url(
    stripe_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app under granian, its Stripe client pointed at localstripe."""
    port = free_port()
    log = Path(tmp_path_factory.mktemp("granian-stripe")) / "server.log"
    with serve(app_server_command(port, workers=3), stripe_env, port, log) as url:
        yield url


@pytest.fixture(scope="module")
def stripe_worker(
    stripe_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A real job worker (``flask worker``) beside the served app, with the same settings."""
    log = Path(tmp_path_factory.mktemp("worker")) / "worker.log"
    with running_worker(stripe_env, log) as process:
        yield process


@pytest.fixture
def stripe_sdk(localstripe_url: str) -> stripe.StripeClient:
    """The official SDK as a test's own Stripe client (the customer's browser, the dashboard)."""
    localstripe.reset(localstripe_url)
    return stripe.StripeClient(
        localstripe.API_KEY, base_addresses={"api": localstripe_url}, max_network_retries=0
    )


@pytest.fixture
def app_webhook(localstripe_url: str, stripe_app_url: str) -> Iterator[str]:
    """localstripe delivers every event, signed, to the app; silenced again afterwards."""
    target = f"{stripe_app_url}/api/v1/webhooks/stripe"
    localstripe.register_webhook(localstripe_url, target)
    yield target
    localstripe.silence_webhook(localstripe_url, target)


@pytest.fixture(autouse=True)
def clean_database(app: BillingApp) -> Iterator[BillingApp]:
    """Depending on ``app`` truncates every table after each test; the ledger is checked."""
    yield app
    assert_ledger_consistent(app)


AppFactory = Callable[[str], BillingApp]


@pytest.fixture
def stripe_apps(
    database_url: str, localstripe_url: str, stripe_sdk: stripe.StripeClient
) -> Iterator[AppFactory]:
    """In-process apps with the served app's Stripe settings (``stripe_env``), on the same
    database; ``make(api_base)`` points one at localstripe or at a proxy in front of it."""
    made: list[BillingApp] = []

    def make(api_base: str) -> BillingApp:
        application = create_app(
            {
                **TEST_SETTINGS,
                "DATABASE_URL": database_url,
                "STRIPE_SECRET_KEY": localstripe.API_KEY,
                "STRIPE_API_BASE": api_base,
                "STRIPE_WEBHOOK_SECRET": localstripe.WEBHOOK_SECRET,
                "TRIAL_CREDITS": 0,
            }
        )
        if not made:
            assert application.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
        made.append(application)
        return application

    yield make
    for application in made:
        application.container.unwire()
        with application.app_context():
            for engine in db.engines.values():  # the session's and the autocommit reads'
                engine.dispose()


@pytest.fixture
def stripe_app(stripe_apps: AppFactory, localstripe_url: str) -> BillingApp:
    return stripe_apps(localstripe_url)
