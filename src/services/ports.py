"""The repository interfaces the services depend on.

The SQL repositories satisfy them structurally; the unit tests' in-memory fakes do too, so a
service's rules can be tested in microseconds without a database.
"""

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from src.models.addon import AddOn, AddOnSubscription
from src.models.api_key import ApiKey
from src.models.auto_reload import AutoReloadSetting
from src.models.idempotency_key import IdempotencyKey
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentRefund, PaymentStatus, PaymentStatusChange
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatusChange
from src.models.token_bundle import TokenBundle, TokenBundlePurchase
from src.models.token_ledger import TokenTransaction, UserTokenBalance
from src.models.token_usage import TokenUsage
from src.models.user import User
from src.pagination import Cursor, PageResult, SequenceCursor
from src.repositories.account_reads import BalanceRow
from src.repositories.bundle_capture_repository import BundleCapture, BundleCaptureRequest
from src.repositories.payment_repository import CurrencyTotal
from src.repositories.token_repository import BalanceChange, LedgerMismatch, LedgerPage
from src.repositories.usage_charge_repository import ChargeRequest, OneStatementCharge

CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)


class JobQueuePort(Protocol):
    """Defers a job in the caller's transaction: it exists if and only if the command commits."""

    def enqueue(
        self, task: str, *, queueing_lock: str | None = None, **arguments: Any
    ) -> int | None: ...


class SavepointPort(Protocol):
    """A savepoint in the caller's transaction: what runs inside is undone alone if it
    raises, and the transaction goes on (e.g. to record why)."""

    def savepoint(self) -> AbstractContextManager[object]: ...


class UserRepositoryPort(Protocol):
    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None: ...

    def get_by_email(self, email: str) -> User | None: ...

    def add(self, user: User) -> User: ...

    def change_trial(self, user_id: uuid.UUID, delta: int) -> int | None: ...


class CatalogRepositoryPort(Protocol[CatalogItemT]):
    def get(self, item_id: uuid.UUID) -> CatalogItemT | None: ...

    def get_by_code(self, code: str) -> CatalogItemT | None: ...

    def list_active(self) -> list[CatalogItemT]: ...

    def add(self, item: CatalogItemT) -> CatalogItemT: ...


class SubscriptionRepositoryPort(Protocol):
    def get(
        self, subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> Subscription | None: ...

    def find_open_for_user(self, user_id: uuid.UUID) -> Subscription | None: ...

    def get_open_for_user_locked(self, user_id: uuid.UUID) -> Subscription | None: ...

    def had_trial(self, user_id: uuid.UUID, plan_id: uuid.UUID) -> bool: ...

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]: ...

    def history(self, subscription_id: uuid.UUID) -> list[SubscriptionStatusChange]: ...

    def add_history(self, change: SubscriptionStatusChange) -> None: ...

    def due_renewals(self, as_of: datetime, limit: int) -> list[uuid.UUID]: ...

    def due_retries(self, as_of: datetime, limit: int) -> list[uuid.UUID]: ...

    def refresh_plan(self, subscription: Subscription) -> None: ...

    def add(self, subscription: Subscription) -> Subscription: ...


class PurchaseRepositoryPort(Protocol):
    def get(
        self, purchase_id: uuid.UUID, *, for_update: bool = False
    ) -> TokenBundlePurchase | None: ...

    def add(self, purchase: TokenBundlePurchase) -> TokenBundlePurchase: ...

    def lock_many(self, purchase_ids: list[uuid.UUID]) -> list[TokenBundlePurchase]: ...

    def mark_completed(self, purchase_ids: list[uuid.UUID], now: datetime) -> None: ...


class AddOnSubscriptionRepositoryPort(Protocol):
    def get(
        self, addon_subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> AddOnSubscription | None: ...

    def find_open(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None: ...

    def list_for_subscription(
        self, subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> list[AddOnSubscription]: ...

    def add(self, addon_subscription: AddOnSubscription) -> AddOnSubscription: ...


class InvoiceRepositoryPort(Protocol):
    def get(self, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice | None: ...

    def get_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice | None: ...

    def list_page(
        self,
        *,
        user_id: uuid.UUID | None,
        status: InvoiceStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Invoice]: ...

    def find_renewal(
        self, subscription_id: uuid.UUID, period_start: datetime
    ) -> Invoice | None: ...

    def open_for_subscription(self, subscription_id: uuid.UUID) -> list[Invoice]: ...

    def abandoned_before(self, created_before: datetime, limit: int) -> list[uuid.UUID]: ...

    def next_number(self) -> int: ...

    def save(self, invoice: Invoice) -> Invoice: ...

    def add(self, invoice: Invoice) -> Invoice: ...


class IdempotencyKeyRepositoryPort(Protocol):
    def find(self, user_id: uuid.UUID, key: str) -> IdempotencyKey | None: ...

    def try_claim(self, record: IdempotencyKey) -> bool: ...


class TokenRepositoryPort(Protocol):
    def get_balance(self, user_id: uuid.UUID) -> UserTokenBalance | None: ...

    def apply_change(
        self,
        user_id: uuid.UUID,
        balance_delta: int,
        purchased_delta: int,
        spent_delta: int,
        held_delta: int = 0,
        entries: int = 1,
    ) -> BalanceChange | None: ...

    def open_balance(self, user_id: uuid.UUID) -> None: ...

    def lock_balance(self, user_id: uuid.UUID) -> int: ...

    def ledger_mismatches(self) -> list[LedgerMismatch]: ...

    def add_transaction(self, transaction: TokenTransaction) -> TokenTransaction: ...

    def add_transactions(self, transactions: list[TokenTransaction]) -> list[TokenTransaction]: ...

    def list_transactions(
        self, user_id: uuid.UUID, limit: int, after: SequenceCursor | None
    ) -> LedgerPage: ...


class PaymentRepositoryPort(Protocol):
    def add(self, payment: Payment) -> Payment: ...

    def get(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None: ...

    def list_for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]: ...

    def find_open(self, invoice_id: uuid.UUID, provider: str) -> Payment | None: ...

    def find_open_auto_reload(self, user_id: uuid.UUID) -> Payment | None: ...

    def find_by_provider_ids(
        self, provider: str, payment_intent_id: str | None, charge_id: str | None
    ) -> Payment | None: ...

    def list_stale(self, created_before: datetime, limit: int) -> list[Payment]: ...

    def list_open_before(
        self, created_before: datetime, statuses: Sequence[PaymentStatus], limit: int
    ) -> list[Payment]: ...

    def find_by_reference(self, provider: str, reference: str) -> Payment | None: ...

    def list_page(
        self,
        user_id: uuid.UUID | None,
        status: PaymentStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Payment]: ...

    def count_by_status(self, user_id: uuid.UUID) -> dict[PaymentStatus, int]: ...

    def totals_by_currency(self, user_id: uuid.UUID) -> list[CurrencyTotal]: ...

    def add_status_change(self, change: PaymentStatusChange) -> PaymentStatusChange: ...

    def history(self, payment_id: uuid.UUID) -> list[PaymentStatusChange]: ...

    def add_refund(self, refund: PaymentRefund) -> PaymentRefund: ...

    def find_refund(self, provider_refund_id: str) -> PaymentRefund | None: ...

    def get_refund(
        self, refund_id: uuid.UUID, *, for_update: bool = False
    ) -> PaymentRefund | None: ...

    def find_refund_by_key(self, payment_id: uuid.UUID, key: str) -> PaymentRefund | None: ...

    def requested_refund_total(self, payment_id: uuid.UUID) -> Decimal: ...

    def list_requested_refunds(
        self, created_before: datetime, limit: int
    ) -> list[PaymentRefund]: ...

    def list_refunds(self, payment_id: uuid.UUID) -> list[PaymentRefund]: ...


class WebhookEventRepositoryPort(Protocol):
    def record_first_delivery(self, provider: str, event_id: str, event_type: str) -> bool: ...


class UsageRepositoryPort(Protocol):
    def get(self, usage_id: uuid.UUID, *, for_update: bool = False) -> TokenUsage | None: ...

    def find(self, user_id: uuid.UUID, reference: str) -> TokenUsage | None: ...

    def try_claim(self, usage: TokenUsage) -> bool: ...


class AccountReadRepositoryPort(Protocol):
    def account_exists(self, user_id: uuid.UUID) -> bool: ...

    def balance(self, user_id: uuid.UUID) -> BalanceRow | None: ...


class UsageChargeRepositoryPort(Protocol):
    def charge_alone(self, request: ChargeRequest) -> OneStatementCharge: ...

    def charge_in_transaction(self, request: ChargeRequest) -> OneStatementCharge: ...


class BundleCaptureRepositoryPort(Protocol):
    def settle(self, request: BundleCaptureRequest) -> BundleCapture: ...


class ApiKeyRepositoryPort(Protocol):
    def add(self, key: ApiKey) -> ApiKey: ...

    def get(self, key_id: uuid.UUID) -> ApiKey | None: ...

    def find_by_prefix(self, prefix: str) -> ApiKey | None: ...

    def list_all(self) -> list[ApiKey]: ...

    def touch(self, key_id: uuid.UUID, now: datetime) -> bool: ...


class AutoReloadRepositoryPort(Protocol):
    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> AutoReloadSetting | None: ...

    def add(self, setting: AutoReloadSetting) -> AutoReloadSetting: ...


class PasswordHasherPort(Protocol):
    """argon2-cffi's ``PasswordHasher`` fits this; verify raises on mismatch."""

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str: ...

    def verify(self, hash: str | bytes, password: str | bytes) -> bool: ...

    def check_needs_rehash(self, hash: str | bytes) -> bool: ...
