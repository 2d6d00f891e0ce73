"""The subscription lifecycle through HTTP, moved through months with ``flask billing run-due
--now``, every charge made off-session by the real Stripe SDK against localstripe: renewals,
dunning, paying during dunning, cancel and resume, upgrades with proration, downgrades and
trials. The ledger invariant is checked after every test (tests/e2e/conftest.py)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import stripe

from src.app import BillingApp
from src.models.plan import BillingPeriod
from tests.support.catalog import CatalogBuilder
from tests.support.concurrency import run_concurrently
from tests.support.lifecycle import DECLINING_CARD, Lifecycle, instant, just_after
from tests.support.recording import record_notifications

DAY = timedelta(days=1)


@pytest.fixture
def life(stripe_app: BillingApp, stripe_sdk: stripe.StripeClient) -> Lifecycle:
    return Lifecycle(stripe_app, stripe_sdk)


@pytest.fixture
def plans(stripe_app: BillingApp) -> dict[str, Any]:
    catalog = CatalogBuilder(stripe_app)
    return {
        "basic": catalog.plan(price="9.99", name="Basic"),
        "plus": catalog.plan(price="29.99", name="Plus"),
        "yearly": catalog.plan(price="99.00", name="Yearly", period=BillingPeriod.YEARLY),
        "trial": catalog.plan(price="19.00", name="Trial plan", trial_days=14),
    }


def stripe_charges(sdk: stripe.StripeClient, customer: str) -> list[Any]:
    """The customer's succeeded PaymentIntents at localstripe (which cannot filter by
    customer, so the test does)."""
    intents = sdk.v1.payment_intents.list(params={"limit": 100})
    return [i for i in intents.data if i.customer == customer and i.status == "succeeded"]


def customer_id(life: Lifecycle, user: Any) -> str:
    setup = life.post(user, "/user/payment-methods/setup", {})
    return str(setup.get_json()["customer_id"])


def test_a_monthly_plan_renews_three_times_with_the_saved_card(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])
    first_end = subscription["current_period_end"]

    for _ in range(3):
        summary = life.run_due(just_after(subscription["current_period_end"]))
        assert summary["subscriptions.renew"]["counts"] == {"paid": 1}, summary
        renewed = life.subscription(user, subscription["id"])
        assert renewed["status"] == "active" and renewed["entitled"]
        # Contiguous: the new period starts where the last one ended.
        assert renewed["current_period_start"] == subscription["current_period_end"]
        subscription = renewed

    renewals = sorted(life.invoices(user, kind="renewal"), key=lambda i: i["period_start"])
    starts = [invoice["period_start"] for invoice in renewals]
    assert starts == [first_end, renewals[0]["period_end"], renewals[1]["period_end"]]
    assert [i["status"] for i in renewals] == ["paid"] * 3
    assert {i["total_amount"] for i in renewals} == {"9.99"}
    stripe_paid = [p for p in life.payments(user) if p["provider"] == "stripe"]
    assert len(stripe_paid) == 3 and {p["status"] for p in stripe_paid} == {"completed"}
    assert len(stripe_charges(stripe_sdk, customer_id(life, user))) == 3
    assert [change for change in life.history(user, subscription["id"])].count(
        ("active", "active")
    ) == 3


def test_run_due_twice_at_the_same_instant_makes_one_invoice_and_one_charge(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])
    at = just_after(subscription["current_period_end"])

    first, second = life.run_due(at), life.run_due(at)

    assert first["subscriptions.renew"]["counts"] == {"paid": 1}
    assert second["subscriptions.renew"]["counts"] == {}
    assert len(life.invoices(user, kind="renewal")) == 1
    assert len(stripe_charges(stripe_sdk, customer_id(life, user))) == 1


def test_a_declined_card_goes_past_due_retries_on_days_1_3_5_then_cancels(
    life: Lifecycle, plans: dict[str, Any], stripe_app: BillingApp
) -> None:
    addon = CatalogBuilder(stripe_app).add_on(price="5.00")
    user = life.customer(DECLINING_CARD)
    subscription = life.subscribe(user, plans["basic"])
    bought = life.checkout(user, None, add_on_ids=(addon,))
    assert life.mark_paid(bought["invoice"]["id"]).status_code == 200
    boundary = instant(subscription["current_period_end"])

    life.run_due(boundary + timedelta(seconds=1))
    past_due = life.subscription(user, subscription["id"])
    assert past_due["status"] == "past_due" and past_due["entitled"]  # grace: until the end
    assert past_due["dunning"]["attempts"] == 1
    assert instant(past_due["dunning"]["next_retry_at"]) == boundary + DAY
    (invoice,) = life.invoices(user, kind="renewal")
    assert invoice["status"] == "pending" and invoice["total_amount"] == "14.99"

    life.run_due(boundary + DAY - timedelta(seconds=1))  # not yet due: nothing happens
    assert life.subscription(user, subscription["id"])["dunning"]["attempts"] == 1
    for day, retry_next in ((1, 3), (3, 5)):
        life.run_due(boundary + day * DAY)
        dunning = life.subscription(user, subscription["id"])["dunning"]
        assert instant(dunning["next_retry_at"]) == boundary + retry_next * DAY

    life.run_due(boundary + 5 * DAY)

    canceled = life.subscription(user, subscription["id"])
    assert canceled["status"] == "canceled" and not canceled["entitled"]
    assert [a["status"] for a in canceled["add_ons"]] == ["canceled"]
    assert life.api.invoice(user, invoice["id"])["status"] == "uncollectible"
    refused = life.post(user, f"/user/invoices/{invoice['id']}/pay", {"provider": "stripe"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "invoice_not_payable"
    failed = [p for p in life.payments(user) if p["provider"] == "stripe"]
    assert len(failed) == 4 and {p["status"] for p in failed} == {"failed"}
    # The customer buys anew.
    assert life.checkout(user, plans["basic"])["subscription"]["status"] == "pending"


def test_paying_the_open_invoice_on_day_2_restores_active_from_the_boundary(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer(card=None)  # no saved card: the renewal fails at once
    subscription = life.subscribe(user, plans["basic"])
    boundary = subscription["current_period_end"]
    life.run_due(just_after(boundary))
    past_due = life.subscription(user, subscription["id"])
    assert past_due["status"] == "past_due"
    invoice_id = past_due["dunning"]["open_invoice_id"]

    started = life.post(user, f"/user/invoices/{invoice_id}/pay", {"provider": "stripe"})
    assert started.status_code == 201, started.get_json()
    intent = started.get_json()["provider_payment_id"]
    stripe_sdk.v1.payment_intents.update(intent, params={"payment_method": "pm_card_visa"})
    stripe_sdk.v1.payment_intents.confirm(intent)
    verified = life.post(
        user, "/user/payments/verify", {"payment_id": started.get_json()["payment_id"]}
    )
    assert verified.status_code == 200, verified.get_json()

    restored = life.subscription(user, subscription["id"])
    assert restored["status"] == "active" and restored["dunning"] is None
    assert restored["current_period_start"] == boundary  # no free days, no lost days
    life.run_due(instant(boundary) + 3 * DAY)  # the day-3 retry is no longer due
    assert life.subscription(user, subscription["id"])["status"] == "active"


def test_cancel_at_period_end_and_resume(life: Lifecycle, plans: dict[str, Any]) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])
    path = f"/user/subscriptions/{subscription['id']}"

    canceled = life.post(user, f"{path}/cancel", {})
    assert canceled.status_code == 200
    assert canceled.get_json()["cancel_at_period_end"] and canceled.get_json()["entitled"]
    assert canceled.get_json()["next_renewal"] is None
    resumed = life.post(user, f"{path}/resume")
    assert resumed.status_code == 200 and not resumed.get_json()["cancel_at_period_end"]
    assert life.post(user, f"{path}/resume").status_code == 409

    assert life.post(user, f"{path}/cancel", {"at_period_end": True}).status_code == 200
    life.run_due(just_after(subscription["current_period_end"]))

    ended = life.subscription(user, subscription["id"])
    assert ended["status"] == "canceled" and not ended["entitled"]
    assert life.invoices(user, kind="renewal") == []
    assert life.post(user, f"{path}/resume").status_code == 409


def test_cancel_now_ends_access_at_once_without_a_refund(
    life: Lifecycle, plans: dict[str, Any]
) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])

    response = life.post(
        user, f"/user/subscriptions/{subscription['id']}/cancel", {"at_period_end": False}
    )

    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["entitled"]) == ("canceled", False)
    assert {p["status"] for p in life.payments(user)} == {"completed"}  # nothing refunded
    assert life.checkout(user, plans["plus"])["subscription"]["status"] == "pending"


def test_an_upgrade_charges_the_exact_proration_and_takes_effect_now(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])

    response = life.post(
        user, f"/user/subscriptions/{subscription['id']}/change", {"plan_id": str(plans["plus"])}
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["change"] == "upgraded" and body["subscription"]["plan"]["name"] == "Plus"
    invoice = body["invoice"]
    assert invoice["kind"] == "proration" and invoice["status"] == "paid"
    start, end = instant(subscription["current_period_start"]), instant(invoice["period_end"])
    changed_at = instant(invoice["period_start"])
    unused = (end - changed_at) // timedelta(seconds=1)
    total = (end - start) // timedelta(seconds=1)
    exact = Decimal("20.00") * unused / total
    assert Decimal(invoice["total_amount"]) == exact.quantize(Decimal("0.01"), "ROUND_HALF_EVEN")
    assert len(stripe_charges(stripe_sdk, customer_id(life, user))) == 1
    # The next renewal bills the new plan in full.
    life.run_due(just_after(body["subscription"]["current_period_end"]))
    (renewal,) = life.invoices(user, kind="renewal")
    assert (renewal["total_amount"], renewal["status"]) == ("29.99", "paid")


def test_a_downgrade_takes_effect_at_the_next_renewal(
    life: Lifecycle, plans: dict[str, Any]
) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["plus"])

    response = life.post(
        user, f"/user/subscriptions/{subscription['id']}/change", {"plan_id": str(plans["basic"])}
    )

    body = response.get_json()
    assert response.status_code == 200 and body["change"] == "scheduled"
    assert body["subscription"]["plan"]["name"] == "Plus"
    assert body["subscription"]["pending_plan"]["name"] == "Basic"
    assert body["subscription"]["next_renewal"]["amount"] == "9.99"
    life.run_due(just_after(subscription["current_period_end"]))
    renewed = life.subscription(user, subscription["id"])
    assert renewed["plan"]["name"] == "Basic" and renewed["pending_plan"] is None
    (renewal,) = life.invoices(user, kind="renewal")
    assert (renewal["total_amount"], renewal["status"]) == ("9.99", "paid")


def test_changing_the_billing_period_is_refused(life: Lifecycle, plans: dict[str, Any]) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])

    response = life.post(
        user,
        f"/user/subscriptions/{subscription['id']}/change",
        {"plan_id": str(plans["yearly"])},
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "billing_period_change"
    assert life.subscription(user, subscription["id"])["plan"]["name"] == "Basic"


def test_a_trial_converts_with_the_first_charge_at_its_end(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer()
    checkout = life.checkout(user, plans["trial"])
    assert checkout["invoice"]["total_amount"] == "0.00"
    assert checkout["invoice"]["status"] == "paid"  # nothing to pay: settled at once
    trialing = life.subscription(user, checkout["subscription"]["id"])
    assert trialing["status"] == "trialing" and trialing["entitled"]
    trial_end = instant(trialing["trial_ends_at"])
    assert trial_end - instant(trialing["current_period_start"]) == 14 * DAY

    life.run_due(trial_end + timedelta(seconds=1))

    active = life.subscription(user, trialing["id"])
    assert (
        active["status"] == "active" and active["current_period_start"] == trialing["trial_ends_at"]
    )
    (renewal,) = life.invoices(user, kind="renewal")
    assert (renewal["total_amount"], renewal["status"]) == ("19.00", "paid")
    assert len(stripe_charges(stripe_sdk, customer_id(life, user))) == 1
    # One trial per customer and plan: the next subscription to it is charged in full.
    life.post(user, f"/user/subscriptions/{trialing['id']}/cancel", {"at_period_end": False})
    again = life.checkout(user, plans["trial"])
    assert again["invoice"]["total_amount"] == "19.00"


def test_a_canceled_trial_ends_without_a_charge(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer()
    checkout = life.checkout(user, plans["trial"])
    subscription_id = checkout["subscription"]["id"]
    assert life.post(user, f"/user/subscriptions/{subscription_id}/cancel", {}).status_code == 200
    trial_end = instant(life.subscription(user, subscription_id)["trial_ends_at"])

    life.run_due(trial_end + timedelta(seconds=1))

    ended = life.subscription(user, subscription_id)
    assert ended["status"] == "canceled"
    assert life.invoices(user, kind="renewal") == []
    assert stripe_charges(stripe_sdk, customer_id(life, user)) == []


def test_a_lapsed_subscriber_can_buy_a_new_plan(life: Lifecycle, plans: dict[str, Any]) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])
    life.post(user, f"/user/subscriptions/{subscription['id']}/cancel", {})
    life.run_due(just_after(subscription["current_period_end"]))

    created = life.checkout(user, plans["plus"])

    assert created["subscription"]["status"] == "pending"
    listed = life.get(user, "/user/subscriptions")["items"]
    assert [item["status"] for item in listed] == ["pending", "canceled"]


def test_two_run_dues_at_once_make_one_renewal_invoice_and_one_charge(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    """Two real threads run the renewal at the same instant (as two workers, or run-due beside
    the periodic job, would): the subscription's row lock and the invoice's unique index
    leave one invoice, one payment and one charge."""
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])
    at = just_after(subscription["current_period_end"])
    app = life.app

    def renew(_client: Any, _index: int) -> dict[str, int]:
        with app.app_context():
            counts: dict[str, int] = app.container.renewal_process().run(at).counts
            return counts

    outcomes = run_concurrently(app, 2, renew)

    assert sorted(outcome.get("paid", 0) for outcome in outcomes) == [0, 1], outcomes
    (renewal,) = life.invoices(user, kind="renewal")
    assert renewal["status"] == "paid"
    assert len([p for p in life.payments(user) if p["provider"] == "stripe"]) == 1
    assert len(stripe_charges(stripe_sdk, customer_id(life, user))) == 1


def test_each_status_change_is_published_and_kept_with_its_reason(
    life: Lifecycle, plans: dict[str, Any]
) -> None:
    user = life.customer(DECLINING_CARD)
    subscription = life.subscribe(user, plans["basic"])
    boundary = instant(subscription["current_period_end"])
    received = record_notifications(life.app)

    life.run_due(boundary + timedelta(seconds=1))
    for day in (1, 3, 5):
        life.run_due(boundary + day * DAY)

    names = [event.name for event, _ in received]
    assert names.count("invoice.created") == 1
    assert names.count("subscription.past_due") == 1
    assert names.count("subscription.canceled") == 1
    history = life.subscription(user, subscription["id"])["history"]
    assert [(c["from_status"], c["to_status"]) for c in history] == [
        (None, "pending"),
        ("pending", "active"),
        ("active", "past_due"),
        ("past_due", "past_due"),
        ("past_due", "past_due"),
        ("past_due", "canceled"),
    ]
    assert history[2]["reason"] and history[-1]["reason"].startswith("dunning ended")


def test_renewal_and_payment_publish_subscription_renewed_and_invoice_paid(
    life: Lifecycle, plans: dict[str, Any]
) -> None:
    user = life.customer()
    subscription = life.subscribe(user, plans["basic"])
    received = record_notifications(life.app)

    life.run_due(just_after(subscription["current_period_end"]))

    names = [event.name for event, _ in received]
    assert {"invoice.created", "subscription.renewed", "invoice.paid"} <= set(names)


def test_an_upgrade_the_card_refuses_waits_for_its_invoice_to_be_paid(
    life: Lifecycle, plans: dict[str, Any], stripe_sdk: stripe.StripeClient
) -> None:
    user = life.customer(DECLINING_CARD)
    subscription = life.subscribe(user, plans["basic"])
    change = f"/user/subscriptions/{subscription['id']}/change"

    response = life.post(user, change, {"plan_id": str(plans["plus"])})

    body = response.get_json()
    assert response.status_code == 200 and body["change"] == "awaiting_payment"
    assert body["subscription"]["plan"]["name"] == "Basic"  # not upgraded without the money
    assert body["subscription"]["status"] == "active"  # a refused upgrade is not dunning
    invoice = body["invoice"]
    assert (invoice["kind"], invoice["status"]) == ("proration", "pending")
    again = life.post(user, change, {"plan_id": str(plans["plus"])})
    assert again.get_json()["error"]["code"] == "upgrade_in_progress"

    started = life.post(user, f"/user/invoices/{invoice['id']}/pay", {"provider": "stripe"})
    assert started.status_code == 201, started.get_json()
    intent = started.get_json()["provider_payment_id"]
    stripe_sdk.v1.payment_intents.update(intent, params={"payment_method": "pm_card_visa"})
    stripe_sdk.v1.payment_intents.confirm(intent)
    payment_id = started.get_json()["payment_id"]
    assert life.post(user, "/user/payments/verify", {"payment_id": payment_id}).status_code == 200

    upgraded = life.subscription(user, subscription["id"])
    assert upgraded["plan"]["name"] == "Plus"
    assert upgraded["current_period_end"] == subscription["current_period_end"]


def test_an_unpaid_upgrade_lapses_with_its_period(life: Lifecycle, plans: dict[str, Any]) -> None:
    user = life.customer(card=None)
    subscription = life.subscribe(user, plans["basic"])
    body = life.post(
        user, f"/user/subscriptions/{subscription['id']}/change", {"plan_id": str(plans["plus"])}
    ).get_json()
    assert body["change"] == "awaiting_payment"

    life.run_due(just_after(subscription["current_period_end"]))

    assert life.api.invoice(user, body["invoice"]["id"])["status"] == "cancelled"
    (renewal,) = life.invoices(user, kind="renewal")
    assert renewal["total_amount"] == "9.99"  # the renewal bills the plan it still has
