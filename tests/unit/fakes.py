"""In-memory fakes of the repository ports and of the unit of work (no database anywhere).

Models are built transiently, so the column defaults a flush would apply (ids, timestamps,
statuses) are filled by each fake's ``add``; the unique constraints the services rely on are
imitated by raising ``DuplicateRow`` like the SQL repositories do.
"""

import uuid
from typing import Any, Generic, TypeVar

from src.clock import utc_now
from src.models.addon import AddOn, AddOnSubscription
from src.models.idempotency_key import IdempotencyKey
from src.models.invoice import Invoice, InvoiceStatus
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundle, TokenBundlePurchase
from src.models.user import User, UserRole
from src.pagination import Cursor, PageResult
from src.repositories.base import DuplicateRow

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
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, AddOnSubscription] = {}

    def get(
        self, addon_subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> AddOnSubscription | None:
        return self.rows.get(addon_subscription_id)

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
