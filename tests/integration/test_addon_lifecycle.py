"""Issue 11's add-on rules over HTTP and PostgreSQL: an add-on checkout refuses a parent that
is not running now (409), add-ons never outlive their parent, and an add-on whose time ran
out can be bought again. Time is moved by writing the period ends the clock would have
passed (checkout takes "now" from the real clock)."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.addon import AddOnSubscription
from src.models.invoice import Invoice
from src.models.subscription import Subscription, SubscriptionStatus
from tests.support.api import ApiClient, RegisteredUser
from tests.support.webhooks import capture_payload, post_webhook


def pay(client: FlaskClient, checkout: dict[str, Any]) -> None:
    """The provider confirms the checkout's payment (a signed webhook)."""
    response = post_webhook(client, capture_payload(checkout["invoice"]))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "success", response.get_json()


def subscribed(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, catalog: dict[str, Any]
) -> dict[str, Any]:
    """A paid monthly subscription (its period runs from now for a month)."""
    checkout = api.checkout(user, plan_id=catalog["pro-monthly"])
    pay(client, checkout)
    return checkout


def end_period(app: BillingApp, subscription_id: str, at: datetime) -> None:
    """Time passes: the subscription's period ended at ``at``, and no job has run since."""
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(subscription_id))
        assert subscription is not None
        subscription.current_period_end = at
        db.session.commit()


def add_on_row(app: BillingApp, addon_subscription_id: str) -> AddOnSubscription:
    with app.app_context():
        row = db.session.get(AddOnSubscription, uuid.UUID(addon_subscription_id))
        assert row is not None
        db.session.expunge(row)
        return row


def period_end_of(app: BillingApp, subscription_id: str) -> datetime:
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(subscription_id))
        assert subscription is not None and subscription.current_period_end is not None
        return subscription.current_period_end


def counts(app: BillingApp) -> tuple[int, int]:
    with app.app_context():
        invoices = db.session.scalar(select(func.count()).select_from(Invoice))
        add_ons = db.session.scalar(select(func.count()).select_from(AddOnSubscription))
        return int(invoices or 0), int(add_ons or 0)


def test_an_add_on_checkout_refuses_a_parent_whose_period_has_ended(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    bought = subscribed(api, client, user, demo_catalog)
    end_period(app, bought["subscription"]["id"], utc_now() - timedelta(minutes=1))
    before = counts(app)

    refused = api.checkout(user, add_on_ids=(demo_catalog["priority-support"],), expect=409)

    assert refused["error"]["code"] == "add_on_parent_inactive"
    assert counts(app) == before
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(bought["subscription"]["id"]))
        assert subscription is not None and subscription.status is SubscriptionStatus.ACTIVE


def test_an_add_on_checkout_under_a_running_parent_is_accepted(
    api: ApiClient, client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """The control of the refusal above: the same checkout a minute before the period ends."""
    bought = subscribed(api, client, user, demo_catalog)

    checkout = api.checkout(user, add_on_ids=(demo_catalog["priority-support"],))

    assert checkout["add_ons"][0]["subscription_id"] == bought["subscription"]["id"]


def test_an_add_on_whose_time_ran_out_can_be_bought_again_and_the_old_one_expires(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    add_on = demo_catalog["priority-support"]
    first = api.checkout(user, plan_id=demo_catalog["pro-monthly"], add_on_ids=(add_on,))
    pay(client, first)
    old_id = first["add_ons"][0]["id"]
    assert add_on_row(app, old_id).status is SubscriptionStatus.ACTIVE
    still_on = api.checkout(user, add_on_ids=(add_on,), expect=409)
    assert still_on["error"]["code"] == "add_on_exists"
    with app.app_context():
        row = db.session.get(AddOnSubscription, uuid.UUID(old_id))
        assert row is not None
        row.expires_at = utc_now() - timedelta(minutes=1)
        db.session.commit()

    again = api.checkout(user, add_on_ids=(add_on,))

    assert again["add_ons"][0]["id"] != old_id
    assert again["add_ons"][0]["status"] == "pending"
    assert add_on_row(app, old_id).status is SubscriptionStatus.EXPIRED


def test_an_add_on_never_expires_after_its_parents_period(
    app: BillingApp, api: ApiClient, client: FlaskClient, demo_catalog: dict[str, Any]
) -> None:
    """A yearly add-on under a monthly plan ends with the plan's period, whether it was
    bought with the plan or later on its own."""
    yearly = demo_catalog["analytics-pack"]
    together = api.register()
    with_plan = api.checkout(together, plan_id=demo_catalog["pro-monthly"], add_on_ids=(yearly,))
    pay(client, with_plan)
    apart = api.register()
    parent = subscribed(api, client, apart, demo_catalog)
    on_its_own = api.checkout(apart, add_on_ids=(yearly,))
    pay(client, on_its_own)

    for subscription_id, checkout in (
        (with_plan["subscription"]["id"], with_plan),
        (parent["subscription"]["id"], on_its_own),
    ):
        parent_end = period_end_of(app, subscription_id)
        assert parent_end < utc_now() + timedelta(days=32)
        row = add_on_row(app, checkout["add_ons"][0]["id"])
        assert row.status is SubscriptionStatus.ACTIVE
        # Capped, not merely short: a year's expiry was cut to the parent's period end.
        assert row.expires_at == parent_end


def test_an_add_on_checkout_refuses_a_parent_that_is_not_paid_yet(
    app: BillingApp, api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """A pending subscription (its checkout not paid) is not running: 409, nothing written."""
    api.checkout(user, plan_id=demo_catalog["pro-monthly"])
    before = counts(app)

    refused = api.checkout(user, add_on_ids=(demo_catalog["priority-support"],), expect=409)

    assert refused["error"]["code"] == "add_on_parent_inactive"
    assert counts(app) == before
