"""Auto-reload in three commands around the provider call (src/intents/auto_reload.py runs
them): plan, commit the intent, record the outcome; and a late failure reported by webhook."""

from datetime import datetime, timedelta

from src.clock import utc_now
from src.errors import ApiError, NotFound
from src.events.auto_reload_events import (
    AutoReloadIntent,
    AutoReloadIntentRequestedEvent,
    AutoReloadOutcomeReportedEvent,
    AutoReloadPlan,
    AutoReloadPlanRequestedEvent,
)
from src.events.base import EventResult, IEventHandler
from src.events.token_events import AutoReloadPaymentFailedEvent
from src.events.token_results import AutoReloadAttempt
from src.models.auto_reload import AutoReloadSetting
from src.models.invoice import Invoice, InvoiceStatus, LineItemType
from src.models.payment import OFF_SESSION, OPEN_PAYMENT_STATUSES, Payment, PaymentStatus
from src.providers.base import RemoteStatus
from src.services.auto_reload_service import AutoReloadService
from src.services.capture_service import CaptureService, off_session_capture
from src.services.invoice_service import InvoiceService, LineItemDraft
from src.services.payment_service import PaymentService, existing
from src.services.payment_starts import payment_start
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import TokenService
from src.services.user_service import UserService


class _ReloadRules:
    """What every step of a reload shares: when one is due, and how a failure is booked."""

    def __init__(
        self,
        auto_reload_service: AutoReloadService,
        token_service: TokenService,
        payment_service: PaymentService,
    ) -> None:
        self._reloads = auto_reload_service
        self._tokens = token_service
        self._payments = payment_service

    def reason_to_skip(self, setting: AutoReloadSetting | None) -> str | None:
        if setting is None or not setting.enabled:
            return "auto-reload is off"
        in_flight = self._payments.open_auto_reload(setting.user_id)
        if in_flight is not None and in_flight.provider_payment_intent_id is not None:
            return "a reload is already being paid"
        if in_flight is None and self._tokens.get_balance(setting.user_id).balance >= (
            setting.threshold
        ):
            return "balance is at or above the threshold"
        return None


class PlanAutoReloadHandler(IEventHandler[AutoReloadPlanRequestedEvent, AutoReloadPlan]):
    """Reads only: whether a reload is due, and the customer whose saved card the provider is
    asked for next, with no transaction open."""

    def __init__(
        self,
        auto_reload_service: AutoReloadService,
        token_service: TokenService,
        payment_service: PaymentService,
        user_service: UserService,
        provider_name: str = "stripe",
    ) -> None:
        self._reloads = auto_reload_service
        self._rules = _ReloadRules(auto_reload_service, token_service, payment_service)
        self._users = user_service
        self._provider_name = provider_name

    def handle(self, event: AutoReloadPlanRequestedEvent) -> EventResult[AutoReloadPlan]:
        skipped = self._rules.reason_to_skip(self._reloads.find(event.user_id))
        if skipped is not None:
            return EventResult(AutoReloadPlan(skipped, self._provider_name))
        customer = self._users.customer_id(self._users.get(event.user_id), self._provider_name)
        return EventResult(AutoReloadPlan(None, self._provider_name, customer))


class OpenAutoReloadHandler(IEventHandler[AutoReloadIntentRequestedEvent, AutoReloadIntent]):
    """Commits the intent: the reload's invoice and its pending off-session payment (whose id
    is the provider's idempotency key). At most one is in flight per user (the settings row is
    locked, and a unique index backs it). A run that finds the one a previous run committed
    without provider ids hands it back, to be looked for at the provider before any new call."""

    def __init__(
        self,
        auto_reload_service: AutoReloadService,
        token_service: TokenService,
        token_bundle_service: TokenBundleService,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        user_service: UserService,
        expiry_minutes: int,
        provider_name: str = "stripe",
    ) -> None:
        self._reloads = auto_reload_service
        self._rules = _ReloadRules(auto_reload_service, token_service, payment_service)
        self._bundles = token_bundle_service
        self._invoices = invoice_service
        self._payments = payment_service
        self._users = user_service
        self._expiry = timedelta(minutes=expiry_minutes)
        self._provider_name = provider_name

    def handle(self, event: AutoReloadIntentRequestedEvent) -> EventResult[AutoReloadIntent]:
        setting = self._reloads.lock(event.user_id)
        skipped = self._rules.reason_to_skip(setting)
        if skipped is not None or setting is None:
            return EventResult(AutoReloadIntent(AutoReloadAttempt("skipped", skipped)))
        user = self._users.get(event.user_id)
        customer = self._users.customer_id(user, self._provider_name)
        unfinished = self._payments.open_auto_reload(user.id)
        if unfinished is not None and unfinished.invoice_id is not None:
            invoice = self._invoices.get_for_capture(unfinished.invoice_id)
            start = payment_start(unfinished.id, invoice, customer, card=event.card)
            return EventResult(AutoReloadIntent(None, start, existing(unfinished), resumed=True))
        now = utc_now()
        if event.card is None:
            return self._failed(setting, "No saved payment method.", now)
        try:
            bundle = self._bundles.get_active(setting.bundle_id)
        except ApiError as error:
            return self._failed(setting, error.message, now)
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
        payment = self._payments.open(invoice, self._provider_name, OFF_SESSION, now + self._expiry)
        self._reloads.record_attempt(setting, invoice.id, now)
        start = payment_start(payment.id, invoice, customer, card=event.card)
        return EventResult(AutoReloadIntent(None, start, existing(payment)))

    def _failed(
        self, setting: AutoReloadSetting, reason: str, now: datetime
    ) -> EventResult[AutoReloadIntent]:
        self._reloads.record_failure(setting, reason, now)
        return EventResult(AutoReloadIntent(AutoReloadAttempt("failed", reason)))


class RecordAutoReloadOutcomeHandler(
    IEventHandler[AutoReloadOutcomeReportedEvent, AutoReloadAttempt]
):
    """Records what the provider said. Paid at once → captured through the same capture as the
    webhook (whose later delivery is a duplicate); refused or cancelled → the payment failed,
    the invoice is cancelled and the failure counted; still open → the provider ids are kept and
    the reload stays in flight until the provider reports a terminal state. Locks in capture's
    order (invoice, payment, then the settings row), and changes nothing once the payment is no
    longer open (a webhook or the janitor came first)."""

    def __init__(
        self,
        auto_reload_service: AutoReloadService,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        token_bundle_service: TokenBundleService,
        capture_service: CaptureService,
    ) -> None:
        self._reloads = auto_reload_service
        self._invoices = invoice_service
        self._payments = payment_service
        self._bundles = token_bundle_service
        self._capture = capture_service

    def handle(self, event: AutoReloadOutcomeReportedEvent) -> EventResult[AutoReloadAttempt]:
        known = self._payments.get(event.payment_id)
        if known.invoice_id is None or known.user_id is None:
            raise NotFound("payment")
        invoice = self._invoices.get_for_capture(known.invoice_id)
        payment = self._payments.get_locked(event.payment_id)
        setting = self._reloads.lock(known.user_id)
        if payment.status not in OPEN_PAYMENT_STATUSES:
            return EventResult(self._settled(payment))
        now = utc_now()
        remote = event.remote
        if (
            event.declined is not None
            or remote is None
            or remote.status
            in (
                RemoteStatus.FAILED,
                RemoteStatus.CANCELLED,
                RemoteStatus.NOT_FOUND,
            )
        ):
            reason = event.declined or (remote.failure_message if remote else None)
            reason = reason or "The payment did not go through."
            code = event.decline_code or "auto_reload_failed"
            self._close_failed(payment, invoice, setting, code, reason, now)
            return EventResult(AutoReloadAttempt("failed", reason, invoice.id))
        intent_id = remote.payment_intent_id or event.payment_intent_id
        payment.provider_payment_intent_id = payment.provider_payment_intent_id or intent_id
        payment.provider_reference = payment.provider_reference or intent_id
        if remote.status is RemoteStatus.SUCCEEDED:
            outcome, notifications = self._capture.capture(
                off_session_capture(payment, invoice.id, remote, intent_id)
            )
            if outcome.status == "requires_refund":  # taken, not applied: refunded, a failure
                reason = outcome.message or "The payment could not be applied."
                self._close_unapplied(invoice, setting, reason, now)
                return EventResult(
                    AutoReloadAttempt("failed", reason, invoice.id), tuple(notifications)
                )
            if setting is not None:
                self._reloads.record_success(setting)
                setting.in_flight_invoice_id = None
            attempt = AutoReloadAttempt("succeeded", None, invoice.id)
            return EventResult(attempt, tuple(notifications))
        if remote.status is RemoteStatus.PROCESSING and self._payments.can_move(
            payment, PaymentStatus.PROCESSING
        ):
            self._payments.move(payment, PaymentStatus.PROCESSING, "processing at the provider")
        if setting is not None:
            self._reloads.record_success(setting)  # the provider took the charge
        return EventResult(AutoReloadAttempt("started", None, invoice.id))

    def _close_failed(
        self,
        payment: Payment,
        invoice: Invoice,
        setting: AutoReloadSetting | None,
        code: str,
        reason: str,
        now: datetime,
    ) -> None:
        self._payments.fail(payment, code, reason, "auto_reload")
        if invoice.status is InvoiceStatus.PENDING:
            self._invoices.cancel(invoice.id, invoice.user_id, now)
            for line in invoice.line_items:
                self._bundles.cancel_purchase(line.item_id)
        if setting is not None:
            setting.in_flight_invoice_id = None
            self._reloads.record_failure(setting, reason, now)

    def _close_unapplied(
        self, invoice: Invoice, setting: AutoReloadSetting | None, reason: str, now: datetime
    ) -> None:
        """The provider took the money but the reload's invoice could not take it: the
        payment is ``requires_refund`` (capture saw to it); the reload counts as failed."""
        if invoice.status is InvoiceStatus.PENDING:
            self._invoices.cancel(invoice.id, invoice.user_id, now)
            for line in invoice.line_items:
                self._bundles.cancel_purchase(line.item_id)
        if setting is not None:
            setting.in_flight_invoice_id = None
            self._reloads.record_failure(setting, reason, now)

    @staticmethod
    def _settled(payment: Payment) -> AutoReloadAttempt:
        if payment.status is PaymentStatus.COMPLETED:
            return AutoReloadAttempt("succeeded", None, payment.invoice_id)
        return AutoReloadAttempt("failed", payment.error_message, payment.invoice_id)


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
