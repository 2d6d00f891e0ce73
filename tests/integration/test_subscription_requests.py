"""Subscriptions through HTTP on PostgreSQL, without a provider: time-correct reads (an ended
period is not access, and does not block a new plan, before any job ran), who may cancel,
resume and change what, and the refusals' codes."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.subscription import Subscription, SubscriptionStatus
from tests.support.api import ApiClient, RegisteredUser
from tests.support.catalog import CatalogBuilder
from tests.support.recording import record_notifications

API = "/api/v1"


def mark_paid(client: FlaskClient, admin: RegisteredUser, invoice_id: str) -> None:
    paid = client.post(
        f"{API}/admin/invoices/{invoice_id}/mark-paid",
        json={"payment_reference": f"wire-{uuid.uuid4().hex[:10]}"},
        headers=admin.headers,
    )
    assert paid.status_code == 200, paid.get_json()


def subscribe(
    client: FlaskClient, api: ApiClient, user: RegisteredUser, admin: RegisteredUser, plan: Any
) -> dict[str, Any]:
    checkout = api.checkout(user, plan_id=plan)
    mark_paid(client, admin, checkout["invoice"]["id"])
    return dict(checkout["subscription"])


def detail(client: FlaskClient, user: RegisteredUser, subscription_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/user/subscriptions/{subscription_id}", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def end_period_now(app: BillingApp, subscription_id: str) -> None:
    """Test set-up: the period ended a second ago and no job has run since."""
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(subscription_id))
        assert subscription is not None
        subscription.current_period_end = utc_now() - timedelta(seconds=1)
        db.session.commit()


@pytest.fixture
def plan(app: BillingApp) -> Any:
    return CatalogBuilder(app).plan(price="20.00", name="Monthly")


def test_an_ended_period_grants_nothing_before_any_job_ran(
    app: BillingApp,
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    admin: Any,
    plan: Any,
) -> None:
    subscription = subscribe(client, api, user, admin, plan)
    covered = client.get(f"{API}/user/entitlement", headers=user.headers).get_json()
    assert covered["source"] == "subscription"

    end_period_now(app, subscription["id"])

    lapsed = detail(client, user, subscription["id"])
    assert (lapsed["status"], lapsed["entitled"]) == ("active", False)
    entitlement = client.get(f"{API}/user/entitlement", headers=user.headers).get_json()
    assert entitlement["subscription"] is None and entitlement["source"] != "subscription"


def test_an_ended_period_does_not_block_a_new_plan_and_expires_then(
    app: BillingApp,
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    admin: Any,
    plan: Any,
) -> None:
    subscription = subscribe(client, api, user, admin, plan)
    api.checkout(user, plan_id=plan, expect=409)  # still running: one plan at a time
    end_period_now(app, subscription["id"])
    received = record_notifications(app)

    created = api.checkout(user, plan_id=plan)

    assert created["subscription"]["status"] == "pending"
    old = detail(client, user, subscription["id"])
    assert old["status"] == "expired"
    assert old["history"][-1]["reason"] == "period ended"
    assert "subscription.expired" in [event.name for event, _ in received]
    listed = client.get(f"{API}/user/subscriptions", headers=user.headers).get_json()["items"]
    assert [item["id"] for item in listed] == [created["subscription"]["id"], subscription["id"]]


def test_another_users_subscription_is_a_404_for_every_route(
    client: FlaskClient, api: ApiClient, user: RegisteredUser, admin: Any, plan: Any
) -> None:
    subscription = subscribe(client, api, user, admin, plan)
    stranger = api.register()
    base = f"{API}/user/subscriptions/{subscription['id']}"

    assert client.get(base, headers=stranger.headers).status_code == 404
    for path, body in (("cancel", {}), ("resume", None), ("change", {"plan_id": str(plan)})):
        response = client.post(f"{base}/{path}", json=body, headers=stranger.headers)
        assert response.status_code == 404, (path, response.get_json())
    assert detail(client, user, subscription["id"])["cancel_at_period_end"] is False


def test_an_admin_cancels_and_resumes_any_users_subscription(
    client: FlaskClient, api: ApiClient, user: RegisteredUser, admin: Any, plan: Any
) -> None:
    subscription = subscribe(client, api, user, admin, plan)
    base = f"{API}/admin/users/{user.id}/subscriptions/{subscription['id']}"

    assert client.post(f"{base}/cancel", json={}, headers=user.headers).status_code == 403
    scheduled = client.post(f"{base}/cancel", json={}, headers=admin.headers)
    assert scheduled.status_code == 200 and scheduled.get_json()["cancel_at_period_end"]
    resumed = client.post(f"{base}/resume", headers=admin.headers)
    assert resumed.status_code == 200 and not resumed.get_json()["cancel_at_period_end"]
    listed = client.get(f"{API}/admin/users/{user.id}/subscriptions", headers=admin.headers)
    assert [item["id"] for item in listed.get_json()["items"]] == [subscription["id"]]
    ended = client.post(f"{base}/cancel", json={"at_period_end": False}, headers=admin.headers)
    assert ended.get_json()["status"] == "canceled"
    assert ended.get_json()["history"][-1]["reason"] == "canceled now by an admin"
    again = client.post(f"{base}/cancel", json={}, headers=admin.headers)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "subscription_ended")


def test_a_pending_subscription_cannot_be_canceled_or_changed(
    client: FlaskClient, api: ApiClient, user: RegisteredUser, plan: Any
) -> None:
    pending = api.checkout(user, plan_id=plan)["subscription"]
    base = f"{API}/user/subscriptions/{pending['id']}"

    canceled = client.post(f"{base}/cancel", json={}, headers=user.headers)
    changed = client.post(f"{base}/change", json={"plan_id": str(plan)}, headers=user.headers)

    assert canceled.get_json()["error"]["code"] == "subscription_not_started"
    assert changed.get_json()["error"]["code"] == "subscription_not_changeable"
    assert detail(client, user, pending["id"])["status"] == "pending"


def test_plan_changes_that_are_refused(
    app: BillingApp,
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    admin: Any,
    plan: Any,
) -> None:
    catalog = CatalogBuilder(app)
    in_euros = catalog.plan(price="30.00", currency="EUR")
    retired = catalog.plan(price="30.00", active=False)
    subscription = subscribe(client, api, user, admin, plan)
    base = f"{API}/user/subscriptions/{subscription['id']}/change"

    def change(plan_id: Any) -> tuple[int, str]:
        response = client.post(base, json={"plan_id": str(plan_id)}, headers=user.headers)
        return response.status_code, response.get_json()["error"]["code"]

    assert change(in_euros) == (422, "currency_change")
    assert change(plan) == (409, "same_plan")
    assert change(uuid.uuid4())[0] == 404
    assert change(retired) == (400, "plan_inactive")
    assert detail(client, user, subscription["id"])["plan"]["id"] == str(plan)


def test_a_renewal_invoice_cannot_be_cancelled_like_a_checkout(
    app: BillingApp,
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    admin: Any,
    plan: Any,
    runner: Any,
) -> None:
    subscription = subscribe(client, api, user, admin, plan)
    at = detail(client, user, subscription["id"])["current_period_end"]
    result = runner.invoke(args=["billing", "run-due", "--now", at])
    assert result.exit_code == 0, result.output
    past_due = detail(client, user, subscription["id"])  # no card: the charge failed at once
    invoice_id = past_due["dunning"]["open_invoice_id"]

    response = client.post(f"{API}/user/invoices/{invoice_id}/cancel", headers=user.headers)

    assert (response.status_code, response.get_json()["error"]["code"]) == (
        409,
        "invoice_not_cancellable",
    )
    assert api.invoice(user, invoice_id)["status"] == "pending"


def test_a_trial_with_a_bundle_charges_the_bundle_and_trials_on_payment(
    app: BillingApp, client: FlaskClient, api: ApiClient, user: RegisteredUser, admin: Any
) -> None:
    catalog = CatalogBuilder(app)
    trial_plan = catalog.plan(price="19.00", trial_days=7)
    bundle = catalog.bundle(tokens=50, price="49.00")

    checkout = api.checkout(user, plan_id=trial_plan, token_bundle_ids=(bundle,))

    invoice = checkout["invoice"]
    assert (invoice["total_amount"], invoice["status"]) == ("49.00", "pending")
    plan_line = next(line for line in invoice["line_items"] if line["item_type"] == "subscription")
    assert plan_line["total_price"] == "0.00" and "7-day trial" in plan_line["description"]
    assert checkout["subscription"]["status"] == "pending"
    mark_paid(client, admin, invoice["id"])
    trialing = detail(client, user, checkout["subscription"]["id"])
    assert trialing["status"] == "trialing" and trialing["entitled"]
    assert trialing["next_renewal"]["amount"] == "19.00"
    assert api.balance(user)["balance"] == 50


def test_an_abandoned_trial_checkout_leaves_the_trial_available(
    app: BillingApp, client: FlaskClient, api: ApiClient, user: RegisteredUser
) -> None:
    trial_plan = CatalogBuilder(app).plan(price="19.00", trial_days=7)
    bundle = CatalogBuilder(app).bundle(tokens=50, price="49.00")
    first = api.checkout(user, plan_id=trial_plan, token_bundle_ids=(bundle,))
    cancelled = client.post(
        f"{API}/user/invoices/{first['invoice']['id']}/cancel", headers=user.headers
    )
    assert cancelled.status_code == 200, cancelled.get_json()

    second = api.checkout(user, plan_id=trial_plan)

    assert second["invoice"]["total_amount"] == "0.00"  # the trial was never used
    assert second["subscription"]["trial_ends_at"] is not None


def test_a_new_plan_after_a_lapse_ends_the_old_subscriptions_add_ons_and_open_invoices(
    app: BillingApp,
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    admin: Any,
    plan: Any,
    runner: Any,
) -> None:
    add_on = CatalogBuilder(app).add_on(price="5.00")
    old = subscribe(client, api, user, admin, plan)
    bought = api.checkout(user, add_on_ids=(add_on,))
    mark_paid(client, admin, bought["invoice"]["id"])
    end = detail(client, user, old["id"])["current_period_end"]
    assert runner.invoke(args=["billing", "run-due", "--now", end]).exit_code == 0
    invoice_id = detail(client, user, old["id"])["dunning"]["open_invoice_id"]
    with app.app_context():  # the renewal failed, then the customer walked away
        subscription = db.session.get(Subscription, uuid.UUID(old["id"]))
        assert subscription is not None
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.current_period_end = utc_now() - timedelta(seconds=1)
        db.session.commit()

    api.checkout(user, plan_id=plan)

    ended = detail(client, user, old["id"])
    assert ended["status"] == "expired"
    assert [item["status"] for item in ended["add_ons"]] == ["expired"]
    assert api.invoice(user, invoice_id)["status"] == "cancelled"
