"""The job engine for real: procrastinate on the test database, run by real worker passes.

A consume that leaves the balance under the auto-reload threshold defers the reload in its own
transaction: committed, exactly one job; rolled back, none. The worker runs it through the
dispatcher; a job that keeps failing is retried with backoff, then ``failed``, and an operator
lists and retries it from the CLI.
"""

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from src.app import BillingApp
from src.extensions import db
from src.jobs.names import AUTO_RELOAD_TASK
from src.jobs.schedule import SCHEDULE
from src.models.token_usage import TokenUsage
from tests.support.api import ApiClient, RegisteredUser
from tests.support.jobs import jobs, make_due_now, run_jobs
from tests.support.tokens import buy_tokens, consume

RELOAD_URL = "/api/v1/user/tokens/auto-reload"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    # A short lock wait, so a lock held by the test fails the job quickly (a real timeout).
    return {**app_settings, "TRIAL_CREDITS": 0, "DB_LOCK_TIMEOUT_MS": 200}


@pytest.fixture
def low_balance_user(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> RegisteredUser:
    """50 tokens and auto-reload under 49: the next use needs a reload."""
    buy_tokens(api, user, demo_catalog["tokens-50"])
    bundle = str(demo_catalog["tokens-50"])
    body = {"enabled": True, "threshold": 49, "bundle_id": bundle}
    assert client.put(RELOAD_URL, json=body, headers=user.headers).status_code == 200
    return user


def test_a_committed_consume_leaves_exactly_one_reload_job(
    app: BillingApp, client: FlaskClient, low_balance_user: RegisteredUser
) -> None:
    assert consume(client, low_balance_user, 2, "first").status_code == 201
    assert consume(client, low_balance_user, 2, "second").status_code == 201  # one still waits

    [job] = jobs(app, AUTO_RELOAD_TASK)
    assert (job["task_name"], job["status"]) == (AUTO_RELOAD_TASK, "todo")
    assert job["args"] == {"user_id": str(low_balance_user.id)}


@pytest.fixture
def commit_refused(app: BillingApp) -> Iterator[None]:
    """A real fault at commit: a deferred trigger refuses any transaction that defers a job."""
    statements = (
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$",
        "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON procrastinate_jobs "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()",
    )
    with app.app_context():
        for statement in statements:
            db.session.execute(text(statement))
        db.session.commit()
    yield
    with app.app_context():
        db.session.execute(text("DROP TRIGGER refuse_commit ON procrastinate_jobs"))
        db.session.execute(text("DROP FUNCTION refuse_commit()"))
        db.session.commit()


def test_a_consume_that_rolls_back_leaves_no_job_and_no_charge(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    low_balance_user: RegisteredUser,
    commit_refused: None,
    count_rows: Any,
) -> None:
    response = consume(client, low_balance_user, 2, "refused-at-commit")

    assert response.status_code == 500
    assert jobs(app) == []
    assert api.balance(low_balance_user)["balance"] == 50
    assert count_rows(TokenUsage) == 0


def reload_setting(client: FlaskClient, user: RegisteredUser) -> dict[str, Any]:
    setting: dict[str, Any] = client.get(RELOAD_URL, headers=user.headers).get_json()
    return setting


def test_the_worker_runs_the_reload_through_the_dispatcher(
    app: BillingApp, client: FlaskClient, low_balance_user: RegisteredUser
) -> None:
    consume(client, low_balance_user, 2, "use")

    run_jobs(app)

    [job] = jobs(app, AUTO_RELOAD_TASK)
    assert (job["status"], job["attempts"]) == ("succeeded", 1)
    # No card is saved (no Stripe here): the reload ran and counted its failure.
    setting = reload_setting(client, low_balance_user)
    assert setting["failure_count"] == 1


@pytest.fixture
def reload_row_locked(app: BillingApp, low_balance_user: RegisteredUser) -> Iterator[None]:
    """Another session holds the user's auto-reload row: every reload hits lock_timeout."""
    connection = psycopg2.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg2", ""))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM auto_reload_settings WHERE user_id = %s FOR UPDATE",
            (str(low_balance_user.id),),
        )
    yield
    connection.rollback()
    connection.close()


def test_a_job_that_keeps_failing_is_retried_with_backoff_then_marked_failed(
    app: BillingApp,
    client: FlaskClient,
    runner: FlaskCliRunner,
    low_balance_user: RegisteredUser,
    reload_row_locked: None,
) -> None:
    consume(client, low_balance_user, 2, "use")
    [job] = jobs(app, AUTO_RELOAD_TASK)
    backoffs = []
    for attempt in range(1, 5):
        run_jobs(app)
        [job] = jobs(app, AUTO_RELOAD_TASK)
        assert (job["status"], job["attempts"]) == ("todo", attempt)
        backoffs.append(job["scheduled_at"])
        make_due_now(app, job["id"])
    run_jobs(app)

    [job] = jobs(app, AUTO_RELOAD_TASK)
    assert (job["status"], job["attempts"]) == ("failed", 5)
    assert backoffs == sorted(backoffs), "each retry waits longer"
    listed = runner.invoke(args=["jobs", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert f"{job['id']}\tfailed\t{AUTO_RELOAD_TASK}" in listed.output


def test_an_operator_retries_a_failed_job(
    app: BillingApp,
    client: FlaskClient,
    runner: FlaskCliRunner,
    low_balance_user: RegisteredUser,
) -> None:
    consume(client, low_balance_user, 2, "use")
    [job] = jobs(app, AUTO_RELOAD_TASK)
    with app.app_context():
        db.session.execute(
            text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"),
            {"id": job["id"]},
        )
        db.session.commit()

    refused = runner.invoke(args=["jobs", "retry", str(job["id"] + 1000)])
    retried = runner.invoke(args=["jobs", "retry", str(job["id"])])
    run_jobs(app)

    assert refused.exit_code == 1
    assert retried.exit_code == 0, retried.output
    assert jobs(app, AUTO_RELOAD_TASK)[0]["status"] == "succeeded"
    assert reload_setting(client, low_balance_user)["failure_count"] == 1


def test_every_periodic_job_is_registered(app: BillingApp) -> None:
    registry = app.container.jobs.job_app().periodic_registry.periodic_tasks.values()
    periodic = {entry.task.name: entry.cron for entry in registry}

    assert periodic == {
        **{work.name: work.cron for work in SCHEDULE},
        "jobs.retry_stalled": "* * * * *",
        "jobs.remove_old": "43 3 * * *",
    }
    assert {"payments.expire", "maintenance.retention"} <= periodic.keys()
    assert periodic["invoices.expire_abandoned"] == "*/10 * * * *"
