"""In-memory fakes of the repository ports and of the unit of work (no database anywhere).

Models are built transiently, so the column defaults a flush would apply (ids, timestamps,
statuses) are filled by each fake's ``add``; the unique constraints the services rely on are
imitated by raising ``DuplicateRow`` like the SQL repositories do, and the token ledger's
CHECK constraints by raising ``CheckViolation``.
"""

import uuid
from typing import Any, Generic, TypeVar

from src.clock import utc_now
from src.models.addon import AddOn, AddOnSubscription
from src.models.idempotency_key import IdempotencyKey
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundle, TokenBundlePurchase
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.models.user import User, UserRole
from src.pagination import Cursor, PageResult, SequenceCursor
from src.repositories.base import DuplicateRow
from src.repositories.token_repository import BalanceChange, LedgerPage

CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)
OPEN_STATUSES = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)


def apply_defaults(row: Any, **defaults: Any) -> None:
    """Do what a flush would: fill ``id``, timestamps and the given defaults where unset."""
    now = utc_now()
    for name, value in {"id": uuid.uuid4(), "created_at": now, "updated_at": now}.items():
        if hasattr(type(row), name) and getattr(row, name) is None:
            setattr(row, name, value)
    for name, value in defaults.items():
        if getattr(row, name) is None:
            setattr(row, name, value)


class FakeUserRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, User] = {}

    def get(self, user_id: uuid.UUID) -> User | None:
        return self.rows.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        return next((user for user in self.rows.values() if user.email == email), None)

    def add(self, user: User) -> User:
        """Like the unique e-mail constraint (checked here, not through get_by_email)."""
        if any(existing.email == user.email for existing in self.rows.values()):
            raise DuplicateRow("uq_users_email")
        apply_defaults(user, role=UserRole.USER)
        self.rows[user.id] = user
        return user


class FakeCatalogRepository(Generic[CatalogItemT]):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, CatalogItemT] = {}

    def get(self, item_id: uuid.UUID) -> CatalogItemT | None:
        return self.rows.get(item_id)

    def get_by_code(self, code: str) -> CatalogItemT | None:
        return next((item for item in self.rows.values() if item.code == code), None)

    def list_active(self) -> list[CatalogItemT]:
        active = [item for item in self.rows.values() if item.is_active]
        return sorted(active, key=lambda item: (item.price, item.name))

    def add(self, item: CatalogItemT) -> CatalogItemT:
        if self.get_by_code(item.code) is not None:
            raise DuplicateRow("code")
        apply_defaults(item, is_active=True, description="")
        self.rows[item.id] = item
        return item


class FakeSubscriptionRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Subscription] = {}

    def get(self, subscription_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None:
        return self.rows.get(subscription_id)

    def find_open_for_user(self, user_id: uuid.UUID) -> Subscription | None:
        return self._open_for(user_id)

    def add(self, subscription: Subscription) -> Subscription:
        """Like the partial unique index: one pending or active subscription per user."""
        apply_defaults(subscription, status=SubscriptionStatus.PENDING)
        if subscription.status in OPEN_STATUSES and self._open_for(subscription.user_id):
            raise DuplicateRow("uq_subscriptions_user_open")
        self.rows[subscription.id] = subscription
        return subscription

    def _open_for(self, user_id: uuid.UUID) -> Subscription | None:
        # Private, so a test subclass that hides rows from lookups still meets the "index".
        open_rows = (row for row in self.rows.values() if row.status in OPEN_STATUSES)
        return next((row for row in open_rows if row.user_id == user_id), None)


class FakePurchaseRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, TokenBundlePurchase] = {}

    def get(
        self, purchase_id: uuid.UUID, *, for_update: bool = False
    ) -> TokenBundlePurchase | None:
        return self.rows.get(purchase_id)

    def add(self, purchase: TokenBundlePurchase) -> TokenBundlePurchase:
        apply_defaults(purchase, status=PurchaseStatus.PENDING)
        self.rows[purchase.id] = purchase
        return purchase


class FakeAddOnSubscriptionRepository:
    def __init__(self, parents: FakeSubscriptionRepository | None = None) -> None:
        self.rows: dict[uuid.UUID, AddOnSubscription] = {}
        self.parents = parents

    def get(
        self, addon_subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> AddOnSubscription | None:
        """Loads ``subscription`` from ``parents`` when unset, as the ORM's lazy load would."""
        row = self.rows.get(addon_subscription_id)
        if row is not None and row.subscription is None and self.parents is not None:
            row.subscription = self.parents.rows[row.subscription_id]
        return row

    def find_open(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None:
        return self._open_for(user_id, add_on_id)

    def list_for_subscription(self, subscription_id: uuid.UUID) -> list[AddOnSubscription]:
        return [row for row in self.rows.values() if row.subscription_id == subscription_id]

    def add(self, addon_subscription: AddOnSubscription) -> AddOnSubscription:
        """Like the partial unique index: one open subscription per (user, add-on)."""
        apply_defaults(addon_subscription, status=SubscriptionStatus.PENDING)
        row = addon_subscription
        if row.status in OPEN_STATUSES and self._open_for(row.user_id, row.addon_id):
            raise DuplicateRow("uq_addon_subscriptions_user_addon_open")
        self.rows[row.id] = row
        return row

    def _open_for(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None:
        open_rows = (row for row in self.rows.values() if row.status in OPEN_STATUSES)
        return next(
            (row for row in open_rows if (row.user_id, row.addon_id) == (user_id, add_on_id)),
            None,
        )


class FakeInvoiceRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Invoice] = {}
        self.sequence = 0

    def get(self, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice | None:
        return self.rows.get(invoice_id)

    def get_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice | None:
        invoice = self.rows.get(invoice_id)
        return invoice if invoice is not None and invoice.user_id == user_id else None

    def list_page(
        self,
        *,
        user_id: uuid.UUID | None,
        status: InvoiceStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Invoice]:
        rows = sorted(self.rows.values(), key=lambda row: (row.created_at, row.id), reverse=True)
        rows = [
            row
            for row in rows
            if (user_id is None or row.user_id == user_id)
            and (status is None or row.status == status)
            and (after is None or (row.created_at, row.id) < (after.created_at, after.id))
        ]
        if len(rows) <= limit:
            return PageResult(items=rows, next_cursor=None)
        last = rows[limit - 1]
        return PageResult(rows[:limit], Cursor(created_at=last.created_at, id=last.id))

    def next_number(self) -> int:
        self.sequence += 1
        return self.sequence

    def add(self, invoice: Invoice) -> Invoice:
        if any(row.number == invoice.number for row in self.rows.values()):
            raise DuplicateRow("uq_invoices_number")
        apply_defaults(invoice, status=InvoiceStatus.PENDING)
        for line in invoice.line_items:
            apply_defaults(line, invoice_id=invoice.id)
        self.rows[invoice.id] = invoice
        return invoice

    def save(self, invoice: Invoice) -> Invoice:
        """Like the unique (provider, payment_reference): one payment settles one invoice."""
        if invoice.payment_reference is not None and any(
            (row.provider, row.payment_reference) == (invoice.provider, invoice.payment_reference)
            for row in self.rows.values()
            if row.id != invoice.id
        ):
            raise DuplicateRow("uq_invoices_provider_payment_reference")
        return invoice


class FakeIdempotencyKeyRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], IdempotencyKey] = {}

    def find(self, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        return self.rows.get((user_id, key))

    def try_claim(self, record: IdempotencyKey) -> bool:
        if (record.user_id, record.key) in self.rows:
            return False
        apply_defaults(record)
        self.rows[(record.user_id, record.key)] = record
        return True


class CheckViolation(Exception):
    """A CHECK constraint would refuse this row (no passing test should ever see it)."""


class FakeTokenRepository:
    """``apply_change`` is the conditional UPDATE: ``None`` when the row is missing or the
    balance would go below zero, else the new (balance, version). The ledger's unique
    constraints raise ``DuplicateRow``; there is no rollback (the dispatcher's job)."""

    def __init__(self) -> None:
        self.balances: dict[uuid.UUID, UserTokenBalance] = {}
        self.transactions: list[TokenTransaction] = []

    def get_balance(self, user_id: uuid.UUID) -> UserTokenBalance | None:
        return self.balances.get(user_id)

    def apply_change(
        self, user_id: uuid.UUID, balance_delta: int, purchased_delta: int, spent_delta: int
    ) -> BalanceChange | None:
        row = self.balances.get(user_id)
        if row is None or row.balance + balance_delta < 0:
            return None
        purchased, spent = row.total_purchased + purchased_delta, row.total_spent + spent_delta
        if purchased < 0 or spent < 0:
            raise CheckViolation(f"negative totals: {purchased=}, {spent=}")
        row.balance += balance_delta
        row.total_purchased, row.total_spent = purchased, spent
        row.version, row.updated_at = row.version + 1, utc_now()
        return BalanceChange(balance=row.balance, version=row.version)

    def open_balance(self, user_id: uuid.UUID) -> None:
        if user_id not in self.balances:
            self.balances[user_id] = UserTokenBalance(
                user_id=user_id,
                balance=0,
                total_purchased=0,
                total_spent=0,
                version=0,
                updated_at=utc_now(),
            )

    def add_transaction(self, transaction: TokenTransaction) -> TokenTransaction:
        """Like uq (user_id, sequence) and uq (transaction_type, reference_type, reference_id);
        a NULL never collides, as in SQL."""
        new = transaction
        if new.amount == 0 or new.balance_after < 0:
            raise CheckViolation(f"amount={new.amount}, balance_after={new.balance_after}")
        if any(
            (row.user_id, row.sequence) == (new.user_id, new.sequence) for row in self.transactions
        ):
            raise DuplicateRow("uq_token_transactions_user_id_sequence")
        if new.reference_type is not None and new.reference_id is not None:
            if self.find_transaction(new.transaction_type, new.reference_type, new.reference_id):
                raise DuplicateRow("uq_token_transactions_transaction_type_reference")
        apply_defaults(new)
        self.transactions.append(new)
        return new

    def find_transaction(
        self, transaction_type: TokenTransactionType, reference_type: str, reference_id: uuid.UUID
    ) -> TokenTransaction | None:
        key = (transaction_type, reference_type, reference_id)
        return next(
            (
                t
                for t in self.transactions
                if (t.transaction_type, t.reference_type, t.reference_id) == key
            ),
            None,
        )

    def list_transactions(
        self, user_id: uuid.UUID, limit: int, after: SequenceCursor | None
    ) -> LedgerPage:
        rows = self.entries_for(user_id)[::-1]
        rows = [row for row in rows if after is None or row.sequence < after.sequence]
        if len(rows) <= limit:
            return LedgerPage(items=rows, next_cursor=None)
        return LedgerPage(items=rows[:limit], next_cursor=SequenceCursor(rows[limit - 1].sequence))

    def entries_for(self, user_id: uuid.UUID) -> list[TokenTransaction]:
        """The user's ledger, oldest first."""
        mine = (row for row in self.transactions if row.user_id == user_id)
        return sorted(mine, key=lambda row: row.sequence)

    def ledger_mismatches(self) -> dict[uuid.UUID, tuple[int, int]]:
        """{user: (balance, sum of ledger)} for every balance that is not its ledger's sum."""
        sums = {user: sum(t.amount for t in self.entries_for(user)) for user in self.balances}
        return {
            user: (row.balance, sums[user])
            for user, row in self.balances.items()
            if row.balance != sums[user]
        }


class FakePaymentRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Payment] = {}

    def add(self, payment: Payment) -> Payment:
        apply_defaults(payment)
        self.rows[payment.id] = payment
        return payment

    def get(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        return self.rows.get(payment_id)

    def list_for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]:
        return [row for row in self.rows.values() if row.invoice_id == invoice_id]


class FakeUnitOfWork:
    """One object for every transaction; ``log`` reads e.g. ``["begin", "commit"]``."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.fail_commit: Exception | None = None
        self._committed = False

    @property
    def commits(self) -> int:
        return self.log.count("commit")

    @property
    def rollbacks(self) -> int:
        return self.log.count("rollback")

    def __enter__(self) -> "FakeUnitOfWork":
        self._committed = False
        self.log.append("begin")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self.log.append("rollback")

    def commit(self) -> None:
        if self.fail_commit is not None:
            raise self.fail_commit
        self._committed = True
        self.log.append("commit")

    def factory(self) -> "FakeUnitOfWork":
        """What the dispatcher calls per transaction (the container's provider in the app)."""
        return self
