"""The catalog: plans, token bundles, add-ons, and the seeder that loads them.

The bundle and add-on services also keep what was bought from them (bundle purchases, add-on
subscriptions), so those two repositories live here with the services that own them; that
keeps the catalog upstream of checkout instead of the two areas reading from each other.
"""

from dependency_injector import containers, providers

from src.repositories.addon_subscription_repository import AddOnSubscriptionRepository
from src.repositories.base import SessionProxy
from src.repositories.catalog_repository import (
    AddOnRepository,
    PlanRepository,
    TokenBundleRepository,
)
from src.repositories.purchase_repository import TokenBundlePurchaseRepository
from src.services.addon_service import AddOnService
from src.services.catalog_seed import CatalogSeeder
from src.services.plan_service import PlanService
from src.services.token_bundle_service import TokenBundleService


class CatalogContainer(containers.DeclarativeContainer):
    session: providers.Dependency[SessionProxy] = providers.Dependency()

    plan_repository = providers.Factory(PlanRepository, session=session)
    token_bundle_repository = providers.Factory(TokenBundleRepository, session=session)
    add_on_repository = providers.Factory(AddOnRepository, session=session)
    purchase_repository = providers.Factory(TokenBundlePurchaseRepository, session=session)
    addon_subscription_repository = providers.Factory(AddOnSubscriptionRepository, session=session)

    plan_service = providers.Factory(PlanService, plans=plan_repository)
    token_bundle_service = providers.Factory(
        TokenBundleService, bundles=token_bundle_repository, purchases=purchase_repository
    )
    add_on_service = providers.Factory(
        AddOnService, add_ons=add_on_repository, addon_subscriptions=addon_subscription_repository
    )
    catalog_seeder = providers.Factory(
        CatalogSeeder,
        plans=plan_repository,
        bundles=token_bundle_repository,
        add_ons=add_on_repository,
    )
