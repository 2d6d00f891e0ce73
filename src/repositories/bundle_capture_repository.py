"""The common capture as one SQL statement: a checkout of token bundles, paid in full.

Through the ORM a capture of a 3-bundle invoice took eleven statements (the invoice locked
with its lines, a savepoint, the invoice, the purchases locked and completed, the balance,
the entries, the open-payment look-up, the payment and its history), and the server spent
about 7.5 ms of CPU on it, most of it in SQLAlchemy's unit of work between them. Here
data-modifying CTEs do all of it at once, for the one case the webhook mostly sees:

- ``lines`` reads the invoice's lines with their purchases (the statement's snapshot);
- ``paid`` is the invoice's PENDING -> PAID, and the gate: it updates the row only when
  it is a pending checkout (``purchase``) invoice of exactly the claimed amount and
  currency, every line a pending token bundle purchase, the reference not used by another
  invoice, no payment of this provider open for it, and the balance able to take the
  tokens. Everything else depends on its RETURNING, so when any of that is false the
  statement writes nothing and the caller takes the full path (CaptureService), which
  answers ``already_paid``, ``requires_refund`` or completes a started payment. A
  concurrent capture of the same invoice waits on the row lock the UPDATE takes and then,
  re-checking ``status = 'pending'`` on the committed row (READ COMMITTED), updates
  nothing: the full path then finds it paid;
- ``completed`` moves the purchases to COMPLETED, ``credit`` moves the balance by their
  sum and the version by their count (creating the balance row if there is none), and
  ``entries`` writes one ledger entry per purchase in line order with its sequence and
  running ``balance_after``: the ledger reads exactly as the full path writes it
  (``TokenService.credit_many``);
- ``payment`` and ``history`` record the completed payment as ``PaymentService.complete``
  records one it did not start.

The outer SELECT always returns one row saying whether the gate opened, how many lines it
saw, and each entry written. What the snapshot could not foresee (another invoice taking
the same reference at the same moment, a concurrent credit taking the balance past its
range, a purchase that stopped being pending, a ledger entry already there) fails or
under-writes the statement; a savepoint then undoes it and the caller takes the full path,
whose own checks answer for it. Only the full path ever refuses money.

Built once with SQLAlchemy Core, compiled once per process and prepared once per
connection (prepared.py). It runs in the command's transaction, so a provider event's
"seen once" record commits with it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DataError, IntegrityError

from src.models.base import table_of
from src.models.invoice import Invoice, InvoiceKind, InvoiceLineItem, InvoiceStatus, LineItemType
from src.models.payment import (
    OPEN_PAYMENT_STATUSES,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
)
from src.models.token_bundle import (
    PURCHASE_LEDGER_REFERENCE,
    PurchaseStatus,
    TokenBundle,
    TokenBundlePurchase,
)
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.repositories.base import SessionProxy
from src.repositories.prepared import PreparedStatement, prefixed_binds
from src.repositories.token_repository import INT32_MAX

CAPTURED_REASON = "captured"  # the history's reason, as PaymentService.complete writes it


@dataclass(frozen=True)
class BundleCaptureRequest:
    """``amount_minor``: the claimed amount in minor units, already known to be exact."""

    invoice_id: uuid.UUID
    provider: str
    reference: str
    amount_minor: int
    currency: str
    payload_digest: str | None
    payment_intent_id: str | None
    charge_id: str | None
    payment_id: uuid.UUID
    paid_at: datetime
    now: datetime

    def parameters(self) -> dict[str, Any]:
        return prefixed_binds(self)


@dataclass(frozen=True)
class CreditedPurchase:
    purchase_id: uuid.UUID
    tokens: int
    balance_after: int


@dataclass(frozen=True)
class BundleCapture:
    """What the statement did: nothing (``user_id`` None), or all of it."""

    user_id: uuid.UUID | None
    credited: tuple[CreditedPurchase, ...]


NOTHING_DONE = BundleCapture(user_id=None, credited=())


def _build_statement() -> Select[Any]:
    invoices = table_of(Invoice)
    line_items = table_of(InvoiceLineItem)
    purchases = table_of(TokenBundlePurchase)
    bundles = table_of(TokenBundle)
    balances = table_of(UserTokenBalance)
    ledger = table_of(TokenTransaction)
    payments = table_of(Payment)
    history = table_of(PaymentStatusChange)
    stamp = invoices.c.updated_at.type

    invoice_id = bindparam("p_invoice_id", type_=Uuid)
    provider = bindparam("p_provider", type_=String)
    reference = bindparam("p_reference", type_=String)
    paid_at = bindparam("p_paid_at", type_=stamp)
    now = bindparam("p_now", type_=stamp)

    def constant(value: str, column: Any) -> Any:
        return literal(value, column.type)

    def pending_purchase() -> Any:
        return constant(PurchaseStatus.PENDING.value, purchases.c.status)

    lines = (
        select(
            line_items.c.position,
            line_items.c.item_id,
            purchases.c.status,
            (cast(purchases.c.quantity, BigInteger) * purchases.c.token_amount).label("tokens"),
        )
        .select_from(
            line_items.outerjoin(
                purchases,
                and_(
                    purchases.c.id == line_items.c.item_id,
                    line_items.c.item_type
                    == constant(LineItemType.TOKEN_BUNDLE.value, line_items.c.item_type),
                ),
            )
        )
        .where(line_items.c.invoice_id == invoice_id)
        .cte("lines")
    )

    def after_credit(column: str) -> Any:
        """The user's counter plus every line's tokens, in bigint (never out of range)."""
        current = select(balances.c[column]).where(balances.c.user_id == invoices.c.user_id)
        total = select(func.sum(lines.c.tokens)).scalar_subquery()
        return func.coalesce(current.scalar_subquery(), 0) + total

    other = invoices.alias("other")
    open_payment = or_(
        *(
            payments.c.status == constant(status.value, payments.c.status)
            for status in OPEN_PAYMENT_STATUSES
        )
    )
    paid = (
        update(invoices)
        .where(
            invoices.c.id == invoice_id,
            invoices.c.status == constant(InvoiceStatus.PENDING.value, invoices.c.status),
            invoices.c.kind == constant(InvoiceKind.PURCHASE.value, invoices.c.kind),
            invoices.c.total_minor == bindparam("p_amount_minor", type_=BigInteger),
            invoices.c.currency == bindparam("p_currency", type_=String),
            exists().select_from(lines),
            ~exists().where(lines.c.status.is_distinct_from(pending_purchase())),
            ~exists().where(other.c.provider == provider, other.c.payment_reference == reference),
            ~exists().where(
                payments.c.invoice_id == invoice_id, payments.c.provider == provider, open_payment
            ),
            after_credit("balance") <= INT32_MAX,
            after_credit("total_purchased") <= INT32_MAX,
        )
        .values(
            status=constant(InvoiceStatus.PAID.value, invoices.c.status),
            provider=provider,
            payment_reference=reference,
            paid_at=paid_at,
            updated_at=now,
        )
        .returning(invoices.c.id, invoices.c.user_id, invoices.c.number)
        .cte("paid")
    )
    completed = (
        update(purchases)
        .where(
            purchases.c.id == lines.c.item_id,
            purchases.c.status == pending_purchase(),
            paid.c.id == invoice_id,
        )
        .values(
            status=constant(PurchaseStatus.COMPLETED.value, purchases.c.status),
            completed_at=paid_at,
            updated_at=now,
        )
        .returning(
            purchases.c.id,
            purchases.c.quantity,
            purchases.c.bundle_id,
            lines.c.tokens,
            lines.c.position,
            paid.c.user_id,
            paid.c.number,
        )
        .cte("completed")
    )
    gained = func.sum(completed.c.tokens)
    new_balance = pg_insert(balances).from_select(
        ["user_id", "balance", "held", "total_purchased", "total_spent", "version", "updated_at"],
        select(
            completed.c.user_id,
            gained,
            literal(0),
            gained,
            literal(0),
            func.count(),
            now,
        ).group_by(completed.c.user_id),
    )
    credit = (
        new_balance.on_conflict_do_update(
            index_elements=[balances.c.user_id],
            set_={
                "balance": balances.c.balance + new_balance.excluded.balance,
                "total_purchased": balances.c.total_purchased
                + new_balance.excluded.total_purchased,
                "version": balances.c.version + new_balance.excluded.version,
                "updated_at": new_balance.excluded.updated_at,
            },
        )
        .returning(balances.c.balance, balances.c.version)
        .cte("credit")
    )
    in_line_order = completed.c.position
    numbered = select(
        completed.c.id,
        completed.c.user_id,
        completed.c.tokens,
        completed.c.quantity,
        completed.c.bundle_id,
        completed.c.number,
        func.row_number().over(order_by=in_line_order).label("ordinal"),
        func.sum(completed.c.tokens).over(order_by=in_line_order).label("running"),
        func.count().over().label("entries"),
        func.sum(completed.c.tokens).over().label("total"),
    ).subquery("numbered")
    description = (
        cast(numbered.c.quantity, Text)
        + literal(" x ")
        + bundles.c.name
        + literal(" (")
        + numbered.c.number
        + literal(")")
    )
    entries = (
        insert_from(
            ledger,
            {
                "id": func.gen_random_uuid(),
                "user_id": numbered.c.user_id,
                "sequence": credit.c.version - numbered.c.entries + numbered.c.ordinal,
                "amount": numbered.c.tokens,
                "held_delta": literal(0),
                "transaction_type": constant(
                    TokenTransactionType.PURCHASE.value, ledger.c.transaction_type
                ),
                "reference_type": literal(PURCHASE_LEDGER_REFERENCE, String),
                "reference_id": numbered.c.id,
                "description": description,
                "balance_after": credit.c.balance - numbered.c.total + numbered.c.running,
                "created_at": now,
            },
            select(numbered)
            .join(bundles, bundles.c.id == numbered.c.bundle_id)
            .join(credit, true()),
        )
        .returning(
            ledger.c.reference_id, ledger.c.amount, ledger.c.balance_after, ledger.c.sequence
        )
        .cte("entries")
    )
    payment = (
        insert_from(
            payments,
            {
                "id": bindparam("p_payment_id", type_=Uuid),
                "invoice_id": paid.c.id,
                "user_id": paid.c.user_id,
                "provider": provider,
                "provider_reference": reference,
                "provider_payment_intent_id": bindparam("p_payment_intent_id", type_=String),
                "provider_charge_id": bindparam("p_charge_id", type_=String),
                "amount_minor": bindparam("p_amount_minor", type_=BigInteger),
                "refunded_minor": literal(0, BigInteger),
                "currency": bindparam("p_currency", type_=String),
                "status": constant(PaymentStatus.COMPLETED.value, payments.c.status),
                "payload_digest": bindparam("p_payload_digest", type_=String),
                "completed_at": now,
                "created_at": now,
                "updated_at": now,
            },
            select(paid),
        )
        .returning(payments.c.id)
        .cte("payment")
    )
    change = (
        insert_from(
            history,
            {
                "id": func.gen_random_uuid(),
                "payment_id": payment.c.id,
                "from_status": null(),
                "to_status": literal(PaymentStatus.COMPLETED.value, String),
                "reason": literal(CAPTURED_REASON, String),
                "created_at": now,
            },
            select(payment),
        )
        .returning(history.c.id)
        .cte("history")
    )
    outcome = select(
        select(paid.c.user_id).scalar_subquery().label("user_id"),
        select(func.count()).select_from(lines).scalar_subquery().label("lines"),
        select(func.count()).select_from(change).scalar_subquery().label("recorded"),
    ).subquery("outcome")
    return (
        select(
            outcome.c.user_id,
            outcome.c.lines,
            outcome.c.recorded,
            entries.c.reference_id,
            entries.c.amount.label("tokens"),
            entries.c.balance_after,
        )
        .select_from(outcome.outerjoin(entries, true()))
        .order_by(entries.c.sequence)
    )


def insert_from(table: Table, columns: dict[str, Any], source: Select[Any]) -> Any:
    """``INSERT INTO table (columns) SELECT <their values> FROM source's FROM list``."""
    rows = source.with_only_columns(*columns.values())
    return pg_insert(table).from_select(list(columns), rows)


_PARAMETER_TYPES = (
    ("p_invoice_id", "uuid"),
    ("p_provider", "text"),
    ("p_reference", "text"),
    ("p_amount_minor", "bigint"),
    ("p_currency", "text"),
    ("p_payload_digest", "text"),
    ("p_payment_intent_id", "text"),
    ("p_charge_id", "text"),
    ("p_payment_id", "uuid"),
    ("p_paid_at", "timestamptz"),
    ("p_now", "timestamptz"),
)
PREPARED_BUNDLE_CAPTURE = PreparedStatement(
    "billing_capture_bundles", _build_statement(), _PARAMETER_TYPES
)


class BundleCaptureRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def settle(self, request: BundleCaptureRequest) -> BundleCapture:
        """Run the statement in the session's transaction (on its connection: no ORM), in a
        savepoint that undoes it whenever it did not do all of its work."""
        connection = self._session.connection()
        savepoint = connection.begin_nested()
        try:
            rows = PREPARED_BUNDLE_CAPTURE.execute(connection, request.parameters()).all()
        except (IntegrityError, DataError):
            savepoint.rollback()
            return NOTHING_DONE
        except BaseException:
            savepoint.rollback()
            raise
        first = rows[0]
        credited = tuple(
            CreditedPurchase(uuid.UUID(str(row.reference_id)), row.tokens, row.balance_after)
            for row in rows
            if row.reference_id is not None
        )
        if first.user_id is None or len(credited) != first.lines or first.recorded != 1:
            savepoint.rollback()
            return NOTHING_DONE
        savepoint.commit()
        return BundleCapture(user_id=uuid.UUID(str(first.user_id)), credited=credited)
