"""GET /user/entitlement: what would pay for the caller's next use."""

from dependency_injector.wiring import Provide, inject
from flask import Blueprint


from src.container import Container
from src.openapi import BEARER, ViewResult, responses, spec
from src.schemas.billing import SubscriptionOut
from src.schemas.usage import EntitlementOut
from src.security import current_user_id, require_user
from src.services.entitlement_service import EntitlementService

bp = Blueprint("entitlement", __name__, url_prefix="/user")


@bp.before_request
def require_login() -> None:
    require_user()


@bp.get("/entitlement")
@spec.validate(resp=responses({"HTTP_200": EntitlementOut}, 401), tags=["tokens"], security=BEARER)
@inject
def entitlement(
    entitlements: EntitlementService = Provide[Container.tokens.entitlement_service],
) -> ViewResult:
    """``source``: subscription, trial, tokens, or null (the next use would be refused)."""
    current = entitlements.current(current_user_id())
    return EntitlementOut(
        source=current.source,
        subscription=SubscriptionOut.of(current.subscription) if current.subscription else None,
        trial_remaining=current.trial_remaining,
        token_balance=current.token_balance,
    )
