"""Auto-reload under faults, against localstripe: a crash before the provider call, after it
(Stripe charged, nothing recorded), or after the outcome committed, then the engine's retry or
the janitor: Stripe holds exactly one charge for the reload, and invoice, payment and ledger
agree. The app runs in-process (its fault points are armed through the container) on the same
database and localstripe as the served one; the reload job runs in real worker passes."""

import json
import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from flask.testing import FlaskClient
from sqlalchemy import select, text

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.faults import InjectedFault
from src.jobs.names import AUTO_RELOAD_TASK
from src.models.payment import OFF_SESSION, Payment, PaymentStatus
from tests.support import stripe_fake as localstripe
from tests.support.api import ApiClient, RegisteredUser
from tests.support.faults import armed
from tests.support.holding_proxy import holding_proxy
from tests.support.jobs import jobs, make_due_now, run_jobs
from tests.support.server import running_worker
from tests.support.tokens import buy_tokens, consume

FAULT_POINTS = (
    "auto_reload.before_provider_call",
    "auto_reload.after_provider_call",
    "auto_reload.after_outcome_commit",
)
RELOAD_BUNDLE = "tokens-100"


def bundle_id(client: FlaskClient, tokens: int) -> str:
    bundles = client.get("/api/v1/token-bundles").get_json()["items"]
    return str(next(b["id"] for b in bundles if b["token_amount"] == tokens))


def reloading_user(
    stripe_app: BillingApp, sdk: stripe.StripeClient
) -> tuple[ApiClient, RegisteredUser]:
    """50 tokens, a saved card, auto-reload of 100 tokens under 40."""
    client = stripe_app.test_client()
    api = ApiClient(client)
    user = api.register()
    setup = client.post("/api/v1/user/payment-methods/setup", json={}, headers=user.headers)
    assert setup.status_code == 201, setup.get_json()
    customer = setup.get_json()["customer_id"]
    card = sdk.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    sdk.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    buy_tokens(api, user, bundle_id(client, 50))
    body = {"enabled": True, "threshold": 40, "bundle_id": bundle_id(client, 100)}
    configured = client.put("/api/v1/user/tokens/auto-reload", json=body, headers=user.headers)
    assert configured.status_code == 200, configured.get_json()
    return api, user


def reload_intents_at_stripe(sdk: stripe.StripeClient, user: RegisteredUser) -> list[Any]:
    """Every PaymentIntent localstripe holds for this user's reloads (by our metadata)."""
    intents = sdk.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [
        intent
        for intent in intents
        if "metadata" in intent
        and "user_id" in intent["metadata"]
        and intent["metadata"]["user_id"] == str(user.id)
    ]


def reload_payments(app: BillingApp, user: RegisteredUser) -> list[Payment]:
    with app.app_context():
        rows = db.session.scalars(
            select(Payment).where(Payment.user_id == user.id, Payment.method == OFF_SESSION)
        ).all()
        db.session.expunge_all()
        return list(rows)


def assert_one_reload(app: BillingApp, api: ApiClient, user: RegisteredUser, sdk: Any) -> None:
    [intent] = reload_intents_at_stripe(sdk, user)
    [payment] = reload_payments(app, user)
    assert intent.status == "succeeded"
    assert (payment.status, payment.provider_payment_intent_id) == (
        PaymentStatus.COMPLETED,
        intent.id,
    )
    assert api.balance(user)["balance"] == 35 + 100
    assert api.invoice(user, str(payment.invoice_id))["status"] == "paid"


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_crash_at_any_point_then_the_engines_retry_charges_once(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, point: str
) -> None:
    api, user = reloading_user(stripe_app, stripe_sdk)
    assert consume(api.client, user, 15, "dip").status_code == 201  # 35 < 40

    with armed(stripe_app, point) as faults:
        run_jobs(stripe_app)
    [job] = jobs(stripe_app, AUTO_RELOAD_TASK)
    assert point in faults.reached_points and job["status"] == "todo"  # the engine retries
    make_due_now(stripe_app, job["id"])
    run_jobs(stripe_app)

    assert jobs(stripe_app, AUTO_RELOAD_TASK)[0]["status"] == "succeeded"
    assert_one_reload(stripe_app, api, user, stripe_sdk)


@pytest.mark.parametrize("point", FAULT_POINTS[:2])
def test_a_crash_left_without_a_retry_is_resolved_by_the_janitor(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, point: str
) -> None:
    """The job is gone (failed for good, say): the janitor finds the intent at Stripe by its
    metadata and records what Stripe did, whether it charged or never got the call."""
    api, user = reloading_user(stripe_app, stripe_sdk)
    consume(api.client, user, 15, "dip")
    with stripe_app.app_context(), armed(stripe_app, point):
        with pytest.raises(InjectedFault):
            stripe_app.container.auto_reload_process().run(user.id)

    later = utc_now() + timedelta(minutes=6)
    with stripe_app.app_context():
        first = stripe_app.container.janitor_process().run(later)
        second = stripe_app.container.janitor_process().run(later)

    if point == "auto_reload.after_provider_call":  # Stripe charged: captured now
        assert first == {"captured": 1} and second == {}
        assert_one_reload(stripe_app, api, user, stripe_sdk)
    else:  # Stripe never heard of it: the intent closes, no charge, the next use may reload
        assert first == {"expired": 1} and second == {}
        assert reload_intents_at_stripe(stripe_sdk, user) == []
        [payment] = reload_payments(stripe_app, user)
        assert payment.status is PaymentStatus.EXPIRED
        assert api.balance(user)["balance"] == 35


def test_a_worker_killed_after_stripe_charged_is_retried_by_the_engine_and_charges_once(
    stripe_app: BillingApp,
    stripe_sdk: stripe.StripeClient,
    stripe_env: dict[str, str],
    localstripe_url: str,
    tmp_path: Path,
) -> None:
    """kill -9 of a real ``flask worker`` while Stripe's answer to its charge is in flight:
    the job is handed back by the engine (the dead worker's heartbeat stops), and the retry
    finds the charge at Stripe instead of making a second one."""
    api, user = reloading_user(stripe_app, stripe_sdk)
    consume(api.client, user, 15, "dip")
    with holding_proxy(localstripe_url, ("POST", "/v1/payment_intents")) as proxy:
        env = {**stripe_env, "STRIPE_API_BASE": proxy.url}
        with running_worker(env, tmp_path / "worker.log", concurrency=1) as worker:
            assert proxy.acted.wait(timeout=60), (tmp_path / "worker.log").read_text()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    [job] = jobs(stripe_app, AUTO_RELOAD_TASK)
    assert job["status"] == "doing" and len(reload_intents_at_stripe(stripe_sdk, user)) == 1
    with stripe_app.app_context():  # time passes for the dead worker: its heartbeat ages
        db.session.execute(
            text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'")
        )
        db.session.commit()

    retried = stripe_app.test_cli_runner().invoke(args=["jobs", "retry-stalled"])
    assert retried.exit_code == 0, retried.output
    run_jobs(stripe_app)

    [job] = jobs(stripe_app, AUTO_RELOAD_TASK)
    assert (job["status"], job["attempts"]) == ("succeeded", 2)
    assert_one_reload(stripe_app, api, user, stripe_sdk)


def signed_event(event: dict[str, Any]) -> tuple[str, dict[str, str]]:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, localstripe.WEBHOOK_SECRET)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def succeeded_webhook(sdk: stripe.StripeClient, user: RegisteredUser) -> dict[str, Any]:
    [intent] = reload_intents_at_stripe(sdk, user)
    return {
        "id": f"evt_{intent.id}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(utc_now().timestamp()),
        "data": {"object": intent.to_dict()},
    }


@pytest.mark.parametrize("webhook", ["before the outcome", "after the outcome", "never"])
def test_the_webhook_early_late_or_never_reaches_the_same_state(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, webhook: str
) -> None:
    api, user = reloading_user(stripe_app, stripe_sdk)
    consume(api.client, user, 15, "dip")
    with armed(stripe_app, "auto_reload.after_provider_call"):
        run_jobs(stripe_app)  # Stripe charged; the outcome is not recorded yet
    if webhook == "before the outcome":
        body, headers = signed_event(succeeded_webhook(stripe_sdk, user))
        delivered = api.client.post("/api/v1/webhooks/stripe", data=body, headers=headers)
        assert delivered.status_code == 200, delivered.get_json()
    [job] = jobs(stripe_app, AUTO_RELOAD_TASK)
    make_due_now(stripe_app, job["id"])
    run_jobs(stripe_app)
    if webhook == "after the outcome":
        body, headers = signed_event(succeeded_webhook(stripe_sdk, user))
        delivered = api.client.post("/api/v1/webhooks/stripe", data=body, headers=headers)
        assert delivered.get_json()["status"] in ("already_paid", "already_processed")

    assert_one_reload(stripe_app, api, user, stripe_sdk)
