"""The common consume as one SQL statement: claim, debit, ledger entry, in one round trip.

A consume paid with tokens used to take about nine statements through the ORM (look-up,
savepoint claim, subscription, trial, debit, ledger, usage update, auto-reload look-up),
and most of the request's time was SQLAlchemy's unit of work between them, with the
balance row locked. Here data-modifying CTEs do it all at once:

- ``debit`` takes the tokens with the same conditional UPDATE as ``apply_change``
  (available = balance - held never below zero; the row lock serialises one user's
  changes), but only when the statement's snapshot shows no earlier use of the reference,
  no open subscription whose plan covers uses, and no trial credit left: exactly the cases
  in which the entitlement order ends at "tokens";
- ``claim`` inserts the usage row, complete, from what ``debit`` returned (no row when
  nothing was debited), and ``entry`` the ledger entry with ``sequence = version``;
- the outer SELECT returns the new balance and version, and in the transaction's form the
  armed auto-reload threshold (the handler defers the reload job when the use crossed it).

When nothing was charged, a second statement (``_build_diagnosis``) reads why: an earlier use of
the reference, a covering subscription, trial credit, the balance and what is held, and the
threshold. Only the refused and the rare uses pay that trip. The charge used to read those
six values itself, on every use: PostgreSQL planned and ran six more sub-selects per
consume, under the balance row's lock, for a 402 or a hand-over to the full path (0.035 ms
of PostgreSQL's CPU on each of the consume's 0.35 ms, bench/README.md, ninth session).
Being read after the charge, they can show a later state than the one the charge saw; the
caller already treats a refusal that they do not explain as a race and lets the full path
decide with fresh data (services/usage_fast_path.py).

A concurrent use of the same reference is serialised by the unique index on
``(user_id, reference)``: the loser's INSERT fails with 23505 and, a statement being
atomic, its debit and ledger entry are undone with it. The statement is built once with
SQLAlchemy Core, compiled once per process and prepared once per connection (prepared.py);
the form that commits alone is sent by the driver itself (driver.py).

It comes in two forms. ``charge_alone`` runs it on the autocommit engine, as a transaction
of its own: no BEGIN and no COMMIT round trip, and the balance row is locked only while
PostgreSQL runs the statement and flushes its commit, never while Python works between
statements (one user's uses queue on that lock). That is only sound when the statement is
the whole command, so this form also refuses to debit when the use would take the balance
under an armed auto-reload threshold: that use must defer the reload job in the same
transaction. ``charge_in_transaction`` is the same statement without that guard, in the
unit of work's transaction, for exactly that case.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Engine,
    Integer,
    Exists,
    ScalarSelect,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    exists,
    false,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from src.errors import RetryableConflict
from src.models.auto_reload import AutoReloadSetting
from src.models.base import table_of
from src.models.plan import Plan
from src.models.subscription import OPEN_SUBSCRIPTION_STATUSES, Subscription
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.models.token_usage import USAGE_REFERENCE, TokenUsage, UsageSource, UsageStatus
from src.models.user import User
from src.repositories.base import UNIQUE_VIOLATION_SQLSTATE, SessionProxy
from src.repositories.prepared import PreparedStatement, prefixed_binds
from src.repositories.token_repository import out_of_range_as_balance_limit

REFERENCE_CONSTRAINT = "uq_token_usages_user_id_reference"


class ReferenceClaimedConcurrently(RetryableConflict):
    """Another transaction recorded the same reference first; this one was undone whole.

    Running the command again finds that use and replays it (the dispatcher retries
    commands that lost a conflict)."""

    code = "usage_in_progress"


@dataclass(frozen=True)
class OneStatementCharge:
    """What the statement did. ``balance`` / ``version`` are set when it charged; the
    reasons (from ``reference_seen`` to ``snapshot_held``) are read only when it did not.

    ``reload_threshold`` is the armed threshold (None: auto-reload off) wherever the caller
    needs it: from the transaction's form, and from the diagnosis of a refusal. A charge by
    the form that commits alone leaves it None, as the charge proves that the use did not
    take the balance under an armed threshold (the guard), so no reload is due."""

    balance: int | None
    version: int | None
    reference_seen: bool
    covered_by_subscription: bool
    trial_remaining: int | None  # None: no such user
    snapshot_balance: int | None  # None: no balance row
    snapshot_held: int | None
    reload_threshold: int | None  # None: auto-reload off

    @property
    def charged(self) -> bool:
        return self.balance is not None

    @classmethod
    def of_charge(
        cls, balance: int, version: int, reload_threshold: int | None
    ) -> "OneStatementCharge":
        return cls(
            balance=balance,
            version=version,
            reference_seen=False,
            covered_by_subscription=False,
            trial_remaining=None,
            snapshot_balance=None,
            snapshot_held=None,
            reload_threshold=reload_threshold,
        )


@dataclass(frozen=True)
class ChargeRequest:
    usage_id: uuid.UUID
    entry_id: uuid.UUID
    user_id: uuid.UUID
    amount: int
    reference: str
    description: str | None
    ledger_description: str
    api_key_id: uuid.UUID | None
    now: datetime

    def parameters(self) -> dict[str, Any]:
        return prefixed_binds(self)


# The conditions of the charge, each built afresh where it is used: one clause object in two
# places of a statement confuses the cache's extraction of its literal values.


def _reference_seen(user_id: BindParameter[Any], reference: BindParameter[Any]) -> Exists:
    usages = table_of(TokenUsage)
    return exists().where(usages.c.user_id == user_id, usages.c.reference == reference)


def _covered(user_id: BindParameter[Any]) -> Exists:
    """An open subscription whose plan covers uses (not metered)."""
    subscriptions = table_of(Subscription)
    plans = table_of(Plan)
    open_status = or_(
        *(
            subscriptions.c.status == literal(status.value, subscriptions.c.status.type)
            for status in OPEN_SUBSCRIPTION_STATUSES
        )
    )
    return exists().where(
        subscriptions.c.user_id == user_id,
        open_status,  # OR of equalities: an IN list would be expanded at every execution
        plans.c.id == subscriptions.c.plan_id,
        plans.c.usage_metered.is_(false()),
    )


def _trial(user_id: BindParameter[Any]) -> ScalarSelect[Any]:
    users = table_of(User)
    return select(users.c.trial_remaining).where(users.c.id == user_id).scalar_subquery()


def _build_statement(alone: bool) -> Select[Any]:
    """``alone``: the form that commits by itself (module docstring)."""
    balances = table_of(UserTokenBalance)
    usages = table_of(TokenUsage)
    ledger = table_of(TokenTransaction)
    reloads = table_of(AutoReloadSetting)

    user_id = bindparam("p_user_id", type_=Uuid)
    amount = bindparam("p_amount", type_=Integer)
    reference = bindparam("p_reference", type_=String)
    now = bindparam("p_now", type_=balances.c.updated_at.type)

    def reload_due() -> Exists:
        """An armed threshold the debited row's new balance would fall under."""
        return exists().where(
            reloads.c.user_id == user_id,
            reloads.c.enabled.is_(True),
            reloads.c.threshold > balances.c.balance - amount,
        )

    conditions = [
        balances.c.user_id == user_id,
        balances.c.balance - amount - balances.c.held >= 0,
        ~_reference_seen(user_id, reference),
        ~_covered(user_id),
        _trial(user_id) <= 0,
    ]
    if alone:
        conditions.append(~reload_due())
    debit = (
        update(balances)
        .where(*conditions)
        .values(
            balance=balances.c.balance - amount,
            total_spent=balances.c.total_spent + amount,
            version=balances.c.version + 1,
            updated_at=now,
        )
        .returning(balances.c.balance, balances.c.version)
        .cte("debit")
    )
    claim = (
        insert(usages)
        .from_select(
            [
                "id",
                "user_id",
                "reference",
                "requested_amount",
                "charged_tokens",
                "source",
                "status",
                "description",
                "balance_after",
                "api_key_id",
                "created_at",
            ],
            select(
                bindparam("p_usage_id", type_=Uuid),
                user_id,
                reference,
                amount,
                amount,
                literal(UsageSource.TOKENS.value, usages.c.source.type),
                literal(UsageStatus.CHARGED.value, usages.c.status.type),
                bindparam("p_description", type_=String),
                debit.c.balance,
                bindparam("p_api_key_id", type_=Uuid),
                now,
            ).select_from(debit),
        )
        .returning(usages.c.id)
        .cte("claim")
    )
    entry = (
        insert(ledger)
        .from_select(
            [
                "id",
                "user_id",
                "sequence",
                "amount",
                "held_delta",
                "transaction_type",
                "reference_type",
                "reference_id",
                "description",
                "balance_after",
                "created_at",
            ],
            select(
                bindparam("p_entry_id", type_=Uuid),
                user_id,
                debit.c.version,
                -amount,
                literal(0),
                literal(TokenTransactionType.USAGE.value, ledger.c.transaction_type.type),
                literal(USAGE_REFERENCE, String),
                bindparam("p_usage_id", type_=Uuid),
                bindparam("p_ledger_description", type_=String),
                debit.c.balance,
                now,
            ).select_from(debit),
        )
        .returning(ledger.c.id)
        .cte("entry")
    )
    charged = [
        select(debit.c.balance).scalar_subquery().label("balance"),
        select(debit.c.version).scalar_subquery().label("version"),
        # Referencing the two INSERTs keeps them in the statement (PostgreSQL runs a
        # data-modifying CTE whether or not its rows are read). As booleans: returned as
        # ids, each was turned into a ``uuid.UUID`` by the driver and dropped unread.
        select(claim.c.id).exists().label("usage_written"),
        select(entry.c.id).exists().label("entry_written"),
    ]
    if not alone:
        charged.append(_armed_threshold(user_id).label("threshold"))
    return select(*charged)


def _armed_threshold(user_id: BindParameter[Any]) -> ScalarSelect[Any]:
    reloads = table_of(AutoReloadSetting)
    query = select(reloads.c.threshold).where(
        and_(reloads.c.user_id == user_id, reloads.c.enabled.is_(True))
    )
    return query.scalar_subquery()


def _build_diagnosis() -> Select[Any]:
    """Why a charge did not happen: the conditions of ``debit``, each as its value."""
    balances = table_of(UserTokenBalance)
    user_id = bindparam("p_user_id", type_=Uuid)
    reference = bindparam("p_reference", type_=String)

    def snapshot(column: str) -> ScalarSelect[Any]:
        query = select(balances.c[column]).where(balances.c.user_id == user_id)
        return query.scalar_subquery()

    return select(
        _reference_seen(user_id, reference).label("reference_seen"),
        _covered(user_id).label("covered"),
        _trial(user_id).label("trial_remaining"),
        snapshot("balance").label("snapshot"),
        snapshot("held").label("held"),
        _armed_threshold(user_id).label("threshold"),
    )


_PARAMETER_TYPES = (
    ("p_usage_id", "uuid"),
    ("p_entry_id", "uuid"),
    ("p_user_id", "uuid"),
    ("p_amount", "integer"),
    ("p_reference", "text"),
    ("p_description", "text"),
    ("p_ledger_description", "text"),
    ("p_api_key_id", "uuid"),
    ("p_now", "timestamptz"),
)
PREPARED_CHARGE = PreparedStatement(
    "billing_charge_usage", _build_statement(alone=False), _PARAMETER_TYPES
)
PREPARED_CHARGE_ALONE = PreparedStatement(
    "billing_charge_usage_alone", _build_statement(alone=True), _PARAMETER_TYPES
)
PREPARED_DIAGNOSIS = PreparedStatement(
    "billing_charge_diagnosis", _build_diagnosis(), (("p_user_id", "uuid"), ("p_reference", "text"))
)


class UsageChargeRepository:
    def __init__(self, session: SessionProxy, autocommit_engine: Engine) -> None:
        self._session = session
        self._autocommit_engine = autocommit_engine

    def charge_alone(self, request: ChargeRequest) -> OneStatementCharge:
        """Run the guarded statement as its own transaction (committed when it returns), sent
        by the driver on a pooled connection (driver.py); diagnose a refusal the same way."""
        values = request.parameters()
        with _as_charge_errors():
            balance, version, *_ = PREPARED_CHARGE_ALONE.fetch_one_alone(
                self._autocommit_engine, values
            )
        if balance is not None:
            return OneStatementCharge.of_charge(balance, version, reload_threshold=None)
        # The diagnosis takes the two of the charge's parameters it names.
        return _refusal_of(PREPARED_DIAGNOSIS.fetch_one_alone(self._autocommit_engine, values))

    def charge_in_transaction(self, request: ChargeRequest) -> OneStatementCharge:
        """Run the statement in the session's transaction (on its connection: no ORM), and a
        refusal's diagnosis in it too."""
        connection = self._session.connection()
        values = request.parameters()
        with _as_charge_errors():
            row = PREPARED_CHARGE.execute(connection, values).one()
        balance, version, _usage, _entry, threshold = tuple(row)
        if balance is not None:
            return OneStatementCharge.of_charge(balance, version, reload_threshold=threshold)
        return _refusal_of(tuple(PREPARED_DIAGNOSIS.execute(connection, values).one()))


@contextmanager
def _as_charge_errors() -> Iterator[None]:
    """A total past the column's range: 422 ``balance_limit``; the reference claimed by a
    concurrent use: ``ReferenceClaimedConcurrently`` (the dispatcher retries)."""
    try:
        with out_of_range_as_balance_limit():
            yield
    except IntegrityError as error:
        diagnostics = getattr(error.orig, "diag", None)
        if (
            getattr(error.orig, "pgcode", None) == UNIQUE_VIOLATION_SQLSTATE
            and getattr(diagnostics, "constraint_name", None) == REFERENCE_CONSTRAINT
        ):
            raise ReferenceClaimedConcurrently(
                "This use is being recorded; retry.", code="usage_in_progress"
            ) from error
        raise


def _refusal_of(row: tuple[Any, ...]) -> OneStatementCharge:
    """The diagnosis's columns, in ``_build_diagnosis``'s order."""
    seen, covered, trial, snapshot, held, threshold = row
    return OneStatementCharge(
        balance=None,
        version=None,
        reference_seen=bool(seen),
        covered_by_subscription=bool(covered),
        trial_remaining=trial,
        snapshot_balance=snapshot,
        snapshot_held=held,
        reload_threshold=threshold,
    )
