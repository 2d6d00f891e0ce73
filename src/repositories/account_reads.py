"""The reads every request of the hot paths makes, one autocommit statement each.

The ORM's ``Session.get`` with ``populate_existing`` cost more CPU than the database did,
and a transaction around a single SELECT added a BEGIN and a ROLLBACK round trip. These
statements are built once (SQLAlchemy Core: compiled once per process, then cached) and run
on the autocommit engine, so a read is one round trip and one indexed lookup. The balance,
which every read of the hot path makes, is sent by the driver itself (driver.py) as a
prepared statement (prepared.py): parsed and planned as text on every read, it cost
PostgreSQL 0.10 ms of CPU per read, prepared 0.07 ms (bench/README.md, eighth session).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, Uuid, bindparam, exists, select

from src.models.token_ledger import UserTokenBalance
from src.models.user import User
from src.repositories.prepared import PreparedStatement

_USER_ID = bindparam("p_user_id", type_=Uuid)
_ACCOUNT_EXISTS = select(exists().where(User.id == _USER_ID))
_BALANCE = select(
    UserTokenBalance.balance,
    UserTokenBalance.held,
    UserTokenBalance.total_purchased,
    UserTokenBalance.total_spent,
).where(UserTokenBalance.user_id == _USER_ID)
PREPARED_BALANCE = PreparedStatement("billing_balance", _BALANCE, [("p_user_id", "uuid")])


@dataclass(frozen=True)
class BalanceRow:
    balance: int
    held: int
    total_purchased: int
    total_spent: int


class AccountReadRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def account_exists(self, user_id: uuid.UUID) -> bool:
        with self._engine.connect() as connection:
            return bool(connection.execute(_ACCOUNT_EXISTS, {"p_user_id": user_id}).scalar())

    def balance(self, user_id: uuid.UUID) -> BalanceRow | None:
        """The user's balance row; None when there is none (no account, or nothing yet)."""
        row = PREPARED_BALANCE.fetch_first_alone(self._engine, {"p_user_id": user_id})
        if row is None:
            return None
        balance, held, total_purchased, total_spent = row
        return BalanceRow(balance, held, total_purchased, total_spent)
