"""Declarative base: naming conventions (stable constraint names for migrations) and type map."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, MetaData, Table, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from src.clock import utc_now
from src.db_types import MinorUnits, UTCDateTime
from src.money import SUPPORTED_CURRENCIES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model maps datetimes to aware UTC and Decimals to integer minor units."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: MinorUnits(),
        uuid.UUID: Uuid(),
    }


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for statements built without the ORM (the one-statement paths)."""
    return Base.metadata.tables[model.__tablename__]


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, sort_order=-100)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utc_now, sort_order=100)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, sort_order=101)


def status_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """An enum column as VARCHAR plus a CHECK: adding a status is a migration of one constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def currency_check(column: str = "currency") -> CheckConstraint:
    """Only currencies the money module supports may be stored."""
    allowed = ", ".join(f"'{code}'" for code in sorted(SUPPORTED_CURRENCIES))
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_supported")
