"""Catalog reads and the seed's upserts, for plans, token bundles and add-ons alike."""

import uuid
from typing import Generic, TypeVar

from sqlalchemy import select

from src.models.addon import AddOn
from src.models.plan import Plan
from src.models.token_bundle import TokenBundle
from src.repositories.base import SessionProxy

CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)


class CatalogRepository(Generic[CatalogItemT]):
    """One repository shape for the three catalog tables; ``model`` picks the table."""

    def __init__(self, session: SessionProxy, model: type[CatalogItemT]) -> None:
        self._session = session
        self._model: type[CatalogItemT] = model

    def get(self, item_id: uuid.UUID) -> CatalogItemT | None:
        return self._session.get(self._model, item_id)

    def get_by_code(self, code: str) -> CatalogItemT | None:
        return self._session.scalar(select(self._model).where(self._model.code == code))

    def list_active(self) -> list[CatalogItemT]:
        query = (
            select(self._model)
            .where(self._model.is_active.is_(True))
            .order_by(self._model.price, self._model.name)
        )
        return list(self._session.scalars(query))

    def add(self, item: CatalogItemT) -> CatalogItemT:
        self._session.add(item)
        self._session.flush()
        return item


class PlanRepository(CatalogRepository[Plan]):
    def __init__(self, session: SessionProxy) -> None:
        super().__init__(session, Plan)


class TokenBundleRepository(CatalogRepository[TokenBundle]):
    def __init__(self, session: SessionProxy) -> None:
        super().__init__(session, TokenBundle)


class AddOnRepository(CatalogRepository[AddOn]):
    def __init__(self, session: SessionProxy) -> None:
        super().__init__(session, AddOn)
