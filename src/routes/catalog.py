"""Public catalog: GET /plans, /token-bundles, /addons (active items only)."""

from dependency_injector.wiring import Provide, inject
from flask import Blueprint

from src.container import Container
from src.openapi import ViewResult, responses, spec
from src.schemas.catalog import AddOnOut, PlanOut, TokenBundleOut
from src.schemas.common import ItemList
from src.services.addon_service import AddOnService
from src.services.plan_service import PlanService
from src.services.token_bundle_service import TokenBundleService

bp = Blueprint("catalog", __name__)
TAGS = ["catalog"]


class PlanList(ItemList[PlanOut]):
    """The active plans."""


class TokenBundleList(ItemList[TokenBundleOut]):
    """The active token bundles."""


class AddOnList(ItemList[AddOnOut]):
    """The active add-ons."""


@bp.get("/plans")
@spec.validate(resp=responses({"HTTP_200": PlanList}), tags=TAGS)
@inject
def list_plans(plans: PlanService = Provide[Container.catalog.plan_service]) -> ViewResult:
    return PlanList(items=[PlanOut.model_validate(plan) for plan in plans.list_active()])


@bp.get("/token-bundles")
@spec.validate(resp=responses({"HTTP_200": TokenBundleList}), tags=TAGS)
@inject
def list_token_bundles(
    bundles: TokenBundleService = Provide[Container.catalog.token_bundle_service],
) -> ViewResult:
    items = [TokenBundleOut.model_validate(bundle) for bundle in bundles.list_active()]
    return TokenBundleList(items=items)


@bp.get("/addons")
@spec.validate(resp=responses({"HTTP_200": AddOnList}), tags=TAGS)
@inject
def list_add_ons(
    add_ons: AddOnService = Provide[Container.catalog.add_on_service],
) -> ViewResult:
    return AddOnList(items=[AddOnOut.model_validate(add_on) for add_on in add_ons.list_active()])
