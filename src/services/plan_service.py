"""Plans: what is on sale."""

import uuid

from src.models.plan import Plan
from src.services.catalog_rules import require_purchasable
from src.services.ports import CatalogRepositoryPort


class PlanService:
    def __init__(self, plans: CatalogRepositoryPort[Plan]) -> None:
        self._plans = plans

    def list_active(self) -> list[Plan]:
        return self._plans.list_active()

    def get_active(self, plan_id: uuid.UUID) -> Plan:
        return require_purchasable(self._plans.get(plan_id), "plan")
