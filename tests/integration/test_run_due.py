"""Time-dependent work, moved through time with ``flask billing run-due --now`` (no sleeps):
payment expiry and retention run as of the instant given, and the periodic tasks run the same
commands through the job engine."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.idempotency_key import IdempotencyKey
from src.models.payment import Payment, PaymentStatus, WebhookEvent
from tests.support.api import ApiClient, RegisteredUser
from tests.support.jobs import jobs, run_jobs


def run_due(runner: FlaskCliRunner, now: datetime) -> dict[str, Any]:
    result = runner.invoke(args=["billing", "run-due", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.output)
    return summary


def start_manual_payment(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, bundle: Any
) -> uuid.UUID:
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    started = client.post(
        f"/api/v1/user/invoices/{invoice['id']}/pay",
        json={"provider": "manual"},
        headers=user.headers,
    )
    assert started.status_code == 201, started.get_json()
    return uuid.UUID(started.get_json()["payment_id"])


def payment_status(app: BillingApp, payment_id: uuid.UUID) -> PaymentStatus:
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert payment is not None
        return payment.status


def test_run_due_expires_what_is_due_at_that_instant_and_nothing_else(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    payment_id = start_manual_payment(api, client, user, demo_catalog["tokens-50"])
    started = utc_now()

    early = run_due(runner, started + timedelta(minutes=10))
    assert early["payments.expire"] == 0
    assert payment_status(app, payment_id) is PaymentStatus.PENDING

    late = run_due(runner, started + timedelta(minutes=31))
    assert late["payments.expire"] == 1
    assert payment_status(app, payment_id) is PaymentStatus.EXPIRED
    assert late["as_of"] == (started + timedelta(minutes=31)).isoformat()


def add_webhook_event(app: BillingApp, received_at: datetime) -> None:
    with app.app_context():
        db.session.add(
            WebhookEvent(
                provider="stripe",
                event_id=f"evt_{uuid.uuid4().hex}",
                event_type="payment_intent.succeeded",
                received_at=received_at,
            )
        )
        db.session.commit()


def count(app: BillingApp, model: Any) -> int:
    with app.app_context():
        return len(db.session.scalars(select(model)).all())


def test_retention_keeps_keys_for_24_hours_and_webhook_events_for_30_days(
    app: BillingApp,
    api: ApiClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    bundle = demo_catalog["tokens-50"]
    first = api.checkout(user, token_bundle_ids=(bundle,), idempotency_key="order-1")
    now = utc_now()
    add_webhook_event(app, now)

    kept = run_due(runner, now + timedelta(hours=23))
    assert kept["maintenance.retention"] == {"idempotency_keys": 0, "webhook_events": 0}
    replay = api.checkout(user, token_bundle_ids=(bundle,), idempotency_key="order-1")
    assert replay["invoice"]["id"] == first["invoice"]["id"]

    purged = run_due(runner, now + timedelta(hours=25))
    assert purged["maintenance.retention"] == {"idempotency_keys": 1, "webhook_events": 0}
    assert count(app, IdempotencyKey) == 0
    assert count(app, WebhookEvent) == 1
    # Past Stripe's window a retry with the same key is a new request.
    again = api.checkout(user, token_bundle_ids=(bundle,), idempotency_key="order-1")
    assert again["invoice"]["id"] != first["invoice"]["id"]

    month = run_due(runner, now + timedelta(days=31))
    assert month["maintenance.retention"]["webhook_events"] == 1
    assert count(app, WebhookEvent) == 0


def test_the_periodic_expiry_task_runs_the_same_command_through_the_engine(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    """A tick of the schedule as the worker's periodic deferrer would defer it (its
    ``timestamp`` is the tick), run by a real worker pass."""
    payment_id = start_manual_payment(api, client, user, demo_catalog["tokens-50"])
    tick = int((utc_now() + timedelta(minutes=31)).timestamp())
    with app.app_context():
        app.container.jobs.job_queue().enqueue("payments.expire", timestamp=tick)
        db.session.commit()

    run_jobs(app)

    deferred = [job for job in jobs(app, "payments.expire") if job["args"] == {"timestamp": tick}]
    assert [job["status"] for job in deferred] == ["succeeded"]
    assert payment_status(app, payment_id) is PaymentStatus.EXPIRED
