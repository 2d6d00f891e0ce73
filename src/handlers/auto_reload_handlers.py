"""auto_reload.requested → a new invoice for the chosen bundle, charged off-session to the
saved card. Tokens then arrive through the normal capture path (the provider's webhook)."""

import uuid
from datetime import datetime, timedelta

from src.clock import utc_now
from src.errors import ApiError
from src.events.base import EventResult, IEventHandler
from src.events.token_events import AutoReloadPaymentFailedEvent, AutoReloadRequestedEvent
from src.events.token_results import AutoReloadAttempt
from src.models.auto_reload import AutoReloadSetting
from src.models.invoice import InvoiceStatus, LineItemType
from src.providers.base import LineForProvider, PaymentProviders, PaymentStart
from src.services.auto_reload_service import AutoReloadService
from src.services.invoice_service import InvoiceService, LineItemDraft
from src.services.payment_service import PaymentService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import TokenService
from src.services.user_service import UserService

OFF_SESSION = "off_session"


class AutoReloadHandler(IEventHandler[AutoReloadRequestedEvent, AutoReloadAttempt]):
    """At most one reload in flight per user: the settings row is locked, and a reload whose
    invoice is still pending blocks the next. A refused charge is counted (three in a row turn
    auto-reload off) and its invoice cancelled; it is an outcome, not an error, so it commits."""

    def __init__(
        self,
        auto_reload_service: AutoReloadService,
        token_service: TokenService,
        token_bundle_service: TokenBundleService,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        user_service: UserService,
        payment_providers: PaymentProviders,
        expiry_minutes: int,
        provider_name: str = "stripe",
    ) -> None:
        self._reloads = auto_reload_service
        self._tokens = token_service
        self._bundles = token_bundle_service
        self._invoices = invoice_service
        self._payments = payment_service
        self._users = user_service
        self._providers = payment_providers
        self._expiry = timedelta(minutes=expiry_minutes)
        self._provider_name = provider_name

    def handle(self, event: AutoReloadRequestedEvent) -> EventResult[AutoReloadAttempt]:
        setting = self._reloads.lock(event.user_id)
        skipped = self._reason_to_skip(setting)
        if skipped is not None or setting is None:
            return EventResult(AutoReloadAttempt("skipped", skipped))
        now = utc_now()
        provider = self._providers.get(self._provider_name)
        user = self._users.get_locked(event.user_id)
        customer = self._users.customer_id(user, provider.name)
        try:
            bundle = self._bundles.get_active(setting.bundle_id)
            card = provider.saved_payment_method(customer)
        except ApiError as error:
            return self._failed(setting, error.message, now)
        if card is None:
            return self._failed(setting, "No saved payment method.", now)

        purchase = self._bundles.create_purchase(user.id, bundle, 1)
        draft = LineItemDraft(
            item_type=LineItemType.TOKEN_BUNDLE,
            item_id=purchase.id,
            description=f"Auto-reload: {bundle.name} ({bundle.token_amount} tokens)",
            quantity=1,
            unit_price=bundle.price,
            currency=bundle.currency,
        )
        invoice = self._invoices.create_invoice(user.id, [draft])
        payment = self._payments.open(invoice, provider.name, OFF_SESSION, now + self._expiry)
        self._reloads.record_attempt(setting, invoice.id, now)
        try:
            started = provider.start_payment(
                PaymentStart(
                    payment_id=payment.id,
                    invoice_id=invoice.id,
                    invoice_number=invoice.number,
                    user_id=user.id,
                    amount=invoice.total_amount,
                    currency=invoice.currency,
                    customer_id=customer,
                    lines=(LineForProvider(draft.description, 1, bundle.price),),
                    saved_payment_method=card,
                )
            )
        except ApiError as error:
            self._payments.fail(payment, error.code, error.message, "auto_reload")
            self._invoices.cancel(invoice.id, user.id, now)
            self._bundles.cancel_purchase(purchase.id)
            setting.in_flight_invoice_id = None
            return self._failed(setting, error.message, now)
        self._payments.attach(payment, started)
        self._reloads.record_success(setting)
        return EventResult(AutoReloadAttempt("started", None, invoice.id))

    def _reason_to_skip(self, setting: AutoReloadSetting | None) -> str | None:
        if setting is None or not setting.enabled:
            return "auto-reload is off"
        if self._tokens.get_balance(setting.user_id).balance >= setting.threshold:
            return "balance is at or above the threshold"
        if setting.in_flight_invoice_id is not None and self._still_paying(
            setting.in_flight_invoice_id
        ):
            return "a reload is already being paid"
        return None

    def _still_paying(self, invoice_id: uuid.UUID) -> bool:
        """In flight: the reload invoice is pending and a payment of it is still open (a
        payment that failed later no longer holds the next reload back)."""
        invoice = self._invoices.find(invoice_id)
        if invoice is None or invoice.status is not InvoiceStatus.PENDING:
            return False
        return bool(self._payments.open_payments(invoice_id))

    def _failed(
        self, setting: AutoReloadSetting, reason: str, now: datetime
    ) -> EventResult[AutoReloadAttempt]:
        self._reloads.record_failure(setting, reason, now)
        return EventResult(AutoReloadAttempt("failed", reason))


class AutoReloadPaymentFailedHandler(IEventHandler[AutoReloadPaymentFailedEvent, bool]):
    """A reload declined after it started (the provider's late failure) counts like one
    declined at once: the failure is counted and the reload's invoice cancelled."""

    def __init__(
        self,
        auto_reload_service: AutoReloadService,
        invoice_service: InvoiceService,
        token_bundle_service: TokenBundleService,
    ) -> None:
        self._reloads = auto_reload_service
        self._invoices = invoice_service
        self._bundles = token_bundle_service

    def handle(self, event: AutoReloadPaymentFailedEvent) -> EventResult[bool]:
        setting = self._reloads.lock(event.user_id)
        if setting is None or setting.in_flight_invoice_id != event.invoice_id:
            return EventResult(False)
        now = utc_now()
        invoice = self._invoices.find(event.invoice_id)
        if invoice is not None and invoice.status is InvoiceStatus.PENDING:
            self._invoices.cancel(invoice.id, event.user_id, now)
            for line in invoice.line_items:
                self._bundles.cancel_purchase(line.item_id)
        setting.in_flight_invoice_id = None
        self._reloads.record_failure(setting, event.reason or "The payment failed.", now)
        return EventResult(True)
