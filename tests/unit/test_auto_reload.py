"""The auto-reload process (plan, intent, provider call, outcome) over the fakes and
FakePaymentProvider, and the listener that hands it late failures."""

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar

import pytest

from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentFailureReportedEvent
from src.events.token_events import AutoReloadNeededEvent, TokensConsumedEvent
from src.handlers.listeners import AutoReloadListener
from src.models.auto_reload import AutoReloadSetting
from src.models.invoice import InvoiceStatus, LineItemType
from src.models.payment import OFF_SESSION, PaymentStatus
from src.providers.base import ProviderDeclined
from src.models.token_bundle import PurchaseStatus
from tests.unit.builders import PAYER, Billing
from tests.unit.fakes import FakeUnitOfWork

DECLINED = ProviderDeclined("The card was declined.", code="card_declined")
RowT = TypeVar("RowT")


def only(rows: Mapping[uuid.UUID, RowT]) -> RowT:
    [row] = rows.values()
    return row


def test_a_reload_invoices_the_bundle_and_charges_the_saved_card_off_session(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    setting.failure_count = 2

    attempt = billing.reload(PAYER)

    invoice = only(billing.invoices.rows)
    assert (attempt.status, attempt.reason, attempt.invoice_id) == ("started", None, invoice.id)
    assert (invoice.user_id, invoice.status, invoice.total_amount) == (
        PAYER,
        InvoiceStatus.PENDING,
        Decimal("20.00"),
    )
    [line] = invoice.line_items
    purchase = only(billing.purchases.rows)
    assert (line.item_type, line.item_id, purchase.status) == (
        LineItemType.TOKEN_BUNDLE,
        purchase.id,
        PurchaseStatus.PENDING,
    )
    [start] = billing.provider.starts
    assert (start.saved_payment_method, start.customer_id, start.amount) == (
        "pm_card",
        "cus_1",
        Decimal("20.00"),
    )
    payment = only(billing.payments.rows)
    assert (payment.status, payment.method, payment.provider_payment_intent_id) == (
        PaymentStatus.PENDING,
        OFF_SESSION,
        "pi_1",
    )
    assert setting.in_flight_invoice_id == invoice.id and setting.last_attempt_at is not None
    assert (setting.failure_count, setting.enabled) == (0, True)
    assert billing.auto_reloads.locked == [PAYER, PAYER]  # the intent, then the outcome
    assert billing.balance(PAYER) == 5  # the tokens come with the capture, not now


def test_a_declined_charge_is_counted_and_its_invoice_and_purchase_cancelled(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    billing.provider.failures["start_payment"] = DECLINED

    attempt = billing.reload(PAYER)

    assert (attempt.status, attempt.reason) == ("failed", "The card was declined.")
    payment = only(billing.payments.rows)
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "card_declined")
    assert only(billing.invoices.rows).status is InvoiceStatus.CANCELLED
    assert only(billing.purchases.rows).status is PurchaseStatus.CANCELLED
    assert (setting.failure_count, setting.enabled, setting.in_flight_invoice_id) == (
        1,
        True,
        None,
    )
    assert setting.last_failure_at is not None


@pytest.mark.parametrize("cause", ["no-card", "no-customer", "bundle-inactive"])
def test_a_reload_that_cannot_be_charged_is_counted_and_creates_nothing(
    billing: Billing, setting: AutoReloadSetting, cause: str
) -> None:
    if cause == "no-card":
        billing.provider.saved_method = None
    elif cause == "no-customer":
        billing.users.rows[PAYER].stripe_customer_id = None
    else:
        billing.bundles.rows[setting.bundle_id].is_active = False

    attempt = billing.reload(PAYER)

    assert attempt.status == "failed" and attempt.reason
    if cause != "bundle-inactive":
        assert attempt.reason == "No saved payment method."
    assert setting.failure_count == 1 and setting.last_failure_at is not None
    assert (billing.invoices.rows, billing.payments.rows, billing.provider.starts) == ({}, {}, [])


def test_three_failures_in_a_row_turn_auto_reload_off_saying_why(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    billing.provider.failures["start_payment"] = DECLINED

    attempts = [billing.reload(PAYER).status for _ in range(3)]

    assert attempts == ["failed", "failed", "failed"]
    assert (setting.enabled, setting.failure_count) == (False, 3)
    assert setting.disabled_reason is not None
    assert "3 failed reloads" in setting.disabled_reason
    assert "The card was declined." in setting.disabled_reason
    fourth = billing.reload(PAYER)
    assert (fourth.status, fourth.reason) == ("skipped", "auto-reload is off")
    assert billing.provider.calls.count("start_payment") == 3


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("disabled", "auto-reload is off"),
        ("not-configured", "auto-reload is off"),
        ("at-threshold", "balance is at or above the threshold"),
        ("above-threshold", "balance is at or above the threshold"),
    ],
)
def test_a_reload_is_skipped_without_touching_anything(
    billing: Billing, setting: AutoReloadSetting, case: str, reason: str
) -> None:
    if case == "disabled":
        setting.enabled = False
    elif case == "not-configured":
        del billing.auto_reloads.rows[PAYER]
    else:
        billing.grant(PAYER, 5 if case == "at-threshold" else 50)

    attempt = billing.reload(PAYER)

    assert (attempt.status, attempt.reason, attempt.invoice_id) == ("skipped", reason, None)
    assert (billing.invoices.rows, billing.provider.calls) == ({}, [])
    assert setting.failure_count == 0


def test_a_reload_still_being_paid_blocks_a_second(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    first = billing.reload(PAYER)

    second = billing.reload(PAYER)

    assert (second.status, second.reason) == ("skipped", "a reload is already being paid")
    assert len(billing.invoices.rows) == 1 and len(billing.provider.starts) == 1
    assert setting.in_flight_invoice_id == first.invoice_id


@pytest.mark.parametrize("settled", [InvoiceStatus.PAID, InvoiceStatus.CANCELLED])
def test_once_the_reload_invoice_is_settled_the_next_reload_starts(
    billing: Billing, setting: AutoReloadSetting, settled: InvoiceStatus
) -> None:
    first = billing.reload(PAYER)
    assert first.invoice_id is not None
    billing.invoices.rows[first.invoice_id].status = settled
    # The provider reported a terminal state: paid, or the payment was cancelled.
    only(billing.payments.rows).status = (
        PaymentStatus.COMPLETED if settled is InvoiceStatus.PAID else PaymentStatus.CANCELLED
    )

    second = billing.reload(PAYER)

    assert second.status == "started" and second.invoice_id != first.invoice_id
    assert setting.in_flight_invoice_id == second.invoice_id


def test_a_reload_whose_payment_failed_later_does_not_block_the_next(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    first = billing.reload(PAYER)
    failure = PaymentFailureReportedEvent(
        provider="stripe",
        provider_event_id="evt_failed",
        provider_event_type="payment_intent.payment_failed",
        payment_id=only(billing.payments.rows).id,
        payment_intent_id="pi_1",
        failure_code="card_declined",
        failure_message="The card was declined.",
    )
    assert billing.payment_failure_handler().handle(failure).data.status == "recorded"

    second = billing.reload(PAYER)

    assert second.status != "skipped", second.reason
    assert second.invoice_id != first.invoice_id


def dispatcher_for(billing: Billing, uow: FakeUnitOfWork) -> EventDispatcher:
    return EventDispatcher(uow.factory, {}, {})


def test_the_listener_leaves_reloads_to_the_job(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    """The reload is a job deferred by the consume itself; the notification is only a fact."""
    built: list[EventDispatcher] = []

    def factory() -> EventDispatcher:
        built.append(dispatcher_for(billing, FakeUnitOfWork()))
        return built[-1]

    listener = AutoReloadListener(factory)

    listener.notify(AutoReloadNeededEvent(user_id=PAYER, balance=5))

    assert built == [] and billing.invoices.rows == {}


def test_listener_ignores_other_notifications(billing: Billing) -> None:
    built: list[EventDispatcher] = []

    def factory() -> EventDispatcher:
        built.append(dispatcher_for(billing, FakeUnitOfWork()))
        return built[-1]

    listener = AutoReloadListener(factory)
    consumed = TokensConsumedEvent(
        user_id=PAYER, usage_id=PAYER, source="tokens", charged_tokens=1, balance=5
    )

    listener.notify(consumed)

    assert built == [] and billing.invoices.rows == {}
