"""A reload declined after it started (the provider's late payment_failed) is counted like one
declined at once, and its invoice is cancelled."""

import uuid

from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentFailedEvent
from src.events.token_events import AutoReloadPaymentFailedEvent
from src.handlers.auto_reload_handlers import AutoReloadPaymentFailedHandler
from src.handlers.listeners import AutoReloadListener
from src.models.auto_reload import AutoReloadSetting
from src.models.invoice import InvoiceStatus
from src.models.token_bundle import PurchaseStatus
from tests.unit.builders import PAYER, Billing
from tests.unit.fakes import FakeUnitOfWork


def late_failure_handler(billing: Billing) -> AutoReloadPaymentFailedHandler:
    return AutoReloadPaymentFailedHandler(
        auto_reload_service=billing.auto_reload_service(),
        invoice_service=billing.invoice_service(),
        token_bundle_service=billing.token_bundle_service(),
    )


def failed(invoice_id: uuid.UUID) -> AutoReloadPaymentFailedEvent:
    return AutoReloadPaymentFailedEvent(
        user_id=PAYER, invoice_id=invoice_id, reason="Your card was declined."
    )


def test_the_in_flight_reload_failing_later_is_counted_and_cancelled(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    started = billing.reload(PAYER)
    assert started.invoice_id is not None

    assert late_failure_handler(billing).handle(failed(started.invoice_id)).data is True

    assert setting.failure_count == 1 and setting.in_flight_invoice_id is None
    invoice = billing.invoices.rows[started.invoice_id]
    assert invoice.status is InvoiceStatus.CANCELLED
    purchase = billing.purchases.rows[invoice.line_items[0].item_id]
    assert purchase.status is PurchaseStatus.CANCELLED


def test_a_failure_of_another_invoice_is_not_a_reload_failure(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    started = billing.reload(PAYER)

    assert late_failure_handler(billing).handle(failed(uuid.uuid4())).data is False

    assert setting.failure_count == 0
    assert setting.in_flight_invoice_id == started.invoice_id


def test_the_listener_hands_payment_failures_to_the_reload_bookkeeping(
    billing: Billing, setting: AutoReloadSetting
) -> None:
    started = billing.reload(PAYER)
    assert started.invoice_id is not None
    uow = FakeUnitOfWork()
    dispatcher = EventDispatcher(
        uow.factory, {"auto_reload.payment_failed": lambda: late_failure_handler(billing)}, {}
    )
    listener = AutoReloadListener(lambda: dispatcher)

    listener.notify(
        PaymentFailedEvent(
            payment_id=uuid.uuid4(), invoice_id=started.invoice_id, user_id=PAYER, reason="no"
        )
    )

    assert setting.failure_count == 1
    assert uow.commits == 1
