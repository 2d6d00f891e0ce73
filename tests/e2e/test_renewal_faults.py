"""A renewal's off-session charge under faults, against localstripe: the process dies before
calling Stripe, after Stripe charged (nothing recorded), or after the outcome committed; the
next run-due converges on exactly one charge at Stripe, one completed payment and one paid
renewal invoice. The app runs in-process so its fault points can be armed."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import select

from src.app import BillingApp
from src.clock import utc_now
from src.extensions import db
from src.models.payment import SAVED_CARD, Payment, PaymentStatus
from tests.support.catalog import CatalogBuilder
from tests.support.faults import armed
from tests.support.lifecycle import Lifecycle, just_after

POINTS = (
    "subscription_charge.before_provider_call",
    "subscription_charge.after_provider_call",
)


def renewal_payments(app: BillingApp, invoice_id: str) -> list[Payment]:
    with app.app_context():
        query = select(Payment).where(Payment.invoice_id == uuid.UUID(invoice_id))
        return list(db.session.scalars(query))


def holder_gone(app: BillingApp, invoice_id: str) -> None:
    """Stand-in for the start lease running out (PROVIDER_LEASE_SECONDS, 30 s): the process that
    held it is dead, so the next run may look for the payment at Stripe."""
    with app.app_context():
        for payment in db.session.scalars(
            select(Payment).where(Payment.invoice_id == uuid.UUID(invoice_id))
        ):
            payment.start_lease_until = utc_now() - timedelta(seconds=1)
        db.session.commit()


def charges_for(sdk: stripe.StripeClient, invoice_id: str) -> list[Any]:
    intents = sdk.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [
        intent
        for intent in intents
        if "metadata" in intent
        and "invoice_id" in intent["metadata"]
        and intent["metadata"]["invoice_id"] == invoice_id
        and intent.status == "succeeded"
    ]


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_around_the_charge_then_the_next_run_charges_once(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient, point: str
) -> None:
    life = Lifecycle(stripe_app, stripe_sdk)
    plan = CatalogBuilder(stripe_app).plan(price="12.00")
    user = life.customer()
    subscription = life.subscribe(user, plan)
    at = just_after(subscription["current_period_end"])

    with armed(stripe_app, point) as faults:
        crashed = life.runner.invoke(args=["billing", "run-due", "--now", at.isoformat()])
    assert point in faults.reached_points and crashed.exit_code != 0
    (renewal,) = life.invoices(user, kind="renewal")
    assert renewal["status"] == "pending"
    (unfinished,) = renewal_payments(stripe_app, renewal["id"])
    assert (unfinished.method, unfinished.status) == (SAVED_CARD, PaymentStatus.PENDING)

    life.run_due(at)  # the holder may still be alive: nobody calls Stripe for it meanwhile
    assert life.api.invoice(user, renewal["id"])["status"] == "pending"
    holder_gone(stripe_app, renewal["id"])
    life.run_due(at)

    assert life.api.invoice(user, renewal["id"])["status"] == "paid"
    statuses = sorted(p.status.value for p in renewal_payments(stripe_app, renewal["id"]))
    # One payment took the money; one never started at Stripe is expired by the janitor.
    assert statuses in (["completed"], ["completed", "expired"]), statuses
    assert len(charges_for(stripe_sdk, renewal["id"])) == 1
    assert life.subscription(user, subscription["id"])["status"] == "active"


def test_a_crash_after_the_outcome_committed_changes_nothing_on_the_next_run(
    stripe_app: BillingApp, stripe_sdk: stripe.StripeClient
) -> None:
    life = Lifecycle(stripe_app, stripe_sdk)
    user = life.customer()
    subscription = life.subscribe(user, CatalogBuilder(stripe_app).plan(price="12.00"))
    at = just_after(subscription["current_period_end"])
    life.run_due(at)
    (renewal,) = life.invoices(user, kind="renewal")

    life.run_due(at)

    assert len(charges_for(stripe_sdk, renewal["id"])) == 1
    assert len(renewal_payments(stripe_app, renewal["id"])) == 1
