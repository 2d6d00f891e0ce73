"""The one rule every catalog lookup shares: it must exist and be on sale."""

from typing import TypeVar

from src.errors import NotFound, ValidationFailed
from src.models.addon import AddOn
from src.models.plan import Plan
from src.models.token_bundle import TokenBundle

CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)


def require_purchasable(item: CatalogItemT | None, resource: str) -> CatalogItemT:
    """404 ``<resource>_not_found`` for an unknown id, 400 ``<resource>_inactive`` if retired."""
    if item is None:
        raise NotFound(resource)
    if not item.is_active:
        raise ValidationFailed(
            f"{item.name!r} is no longer available.", code=f"{resource}_inactive"
        )
    return item
