"""Subscriptions: the owner's (``/user/subscriptions``) and an admin's for any user
(``/admin/users/<user_id>/subscriptions``). Reads are time-correct; cancel, resume and
change are commands; an upgrade's proration is charged to the saved card at once."""

import uuid

from dependency_injector.wiring import Provide, inject

from src.clock import utc_now
from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.events.subscription_events import (
    SubscriptionCancelRequestedEvent,
    SubscriptionChangeRequestedEvent,
    SubscriptionResumeRequestedEvent,
)
from src.events.invoice_results import InvoiceSnapshot
from src.events.subscription_results import PlanChangeResult
from src.intents.subscription_charge import SubscriptionChargeProcess
from src.openapi import BEARER, ViewResult, responses, spec
from src.routes.admin import TAGS as ADMIN_TAGS
from src.routes.admin import bp as admin_bp
from src.routes.user import bp as user_bp
from src.schemas.subscriptions import (
    CancelRequest,
    ChangePlanRequest,
    PlanChangeOut,
    SubscriptionDetailOut,
    SubscriptionList,
)
from src.security import current_user_id
from src.services.invoice_service import InvoiceService
from src.services.subscription_service import SubscriptionService
from src.services.subscription_views import SubscriptionViews

TAGS = ["subscriptions"]


def _list(
    user_id: uuid.UUID, subscriptions: SubscriptionService, views: SubscriptionViews
) -> SubscriptionList:
    now = utc_now()
    return SubscriptionList(
        items=[
            SubscriptionDetailOut.from_result(views.of(item, now, with_history=False))
            for item in subscriptions.list_for_user(user_id)
        ]
    )


def _detail(
    subscription_id: uuid.UUID,
    user_id: uuid.UUID,
    subscriptions: SubscriptionService,
    views: SubscriptionViews,
) -> SubscriptionDetailOut:
    subscription = subscriptions.get_for_user(subscription_id, user_id)
    return SubscriptionDetailOut.from_result(views.of(subscription, utc_now()))


@user_bp.get("/subscriptions")
@spec.validate(resp=responses({"HTTP_200": SubscriptionList}, 401), tags=TAGS, security=BEARER)
@inject
def list_subscriptions(
    subscriptions: SubscriptionService = Provide[Container.billing.subscription_service],
    views: SubscriptionViews = Provide[Container.lifecycle.subscription_views],
) -> ViewResult:
    """The caller's subscriptions: the open one first (pending, trialing, active or past
    due), then the ended ones, newest first."""
    return _list(current_user_id(), subscriptions, views)


@user_bp.get("/subscriptions/<uuid:subscription_id>")
@spec.validate(
    resp=responses({"HTTP_200": SubscriptionDetailOut}, 401, 404), tags=TAGS, security=BEARER
)
@inject
def get_subscription(
    subscription_id: uuid.UUID,
    subscriptions: SubscriptionService = Provide[Container.billing.subscription_service],
    views: SubscriptionViews = Provide[Container.lifecycle.subscription_views],
) -> ViewResult:
    """Status, period, ``cancel_at_period_end``, next renewal (date and amount), add-ons,
    dunning state and status history; another user's is a 404."""
    return _detail(subscription_id, current_user_id(), subscriptions, views)


@user_bp.post("/subscriptions/<uuid:subscription_id>/cancel")
@spec.validate(
    json=CancelRequest,
    resp=responses({"HTTP_200": SubscriptionDetailOut}, 400, 401, 404, 409),
    tags=TAGS,
    security=BEARER,
)
@inject
def cancel_subscription(
    subscription_id: uuid.UUID,
    json: CancelRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Body ``{}`` or ``{"at_period_end": false}``. At period end (the default): access
    until the period ends, then ``canceled``, nothing more charged (a trial ends without a
    charge). Now: ``canceled`` at once, add-ons end, open renewal invoices are voided, and
    nothing is refunded for the rest of the period (an admin can refund the invoice)."""
    event = SubscriptionCancelRequestedEvent(
        subscription_id=subscription_id,
        user_id=current_user_id(),
        at_period_end=json.at_period_end,
    )
    return SubscriptionDetailOut.from_result(dispatcher.emit(event).data)


@user_bp.post("/subscriptions/<uuid:subscription_id>/resume")
@spec.validate(
    resp=responses({"HTTP_200": SubscriptionDetailOut}, 401, 404, 409),
    tags=TAGS,
    security=BEARER,
)
@inject
def resume_subscription(
    subscription_id: uuid.UUID, dispatcher: EventDispatcher = Provide[Container.dispatcher]
) -> ViewResult:
    """Undo a cancel scheduled at period end, before the period ends (409
    ``subscription_not_resumable`` otherwise)."""
    event = SubscriptionResumeRequestedEvent(
        subscription_id=subscription_id, user_id=current_user_id()
    )
    return SubscriptionDetailOut.from_result(dispatcher.emit(event).data)


@user_bp.post("/subscriptions/<uuid:subscription_id>/change")
@spec.validate(
    json=ChangePlanRequest,
    resp=responses({"HTTP_200": PlanChangeOut}, 400, 401, 404, 409, 422),
    tags=TAGS,
    security=BEARER,
)
@inject
def change_plan(
    subscription_id: uuid.UUID,
    json: ChangePlanRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
    charge: SubscriptionChargeProcess = Provide[Container.subscription_charge_process],
    subscriptions: SubscriptionService = Provide[Container.billing.subscription_service],
    views: SubscriptionViews = Provide[Container.lifecycle.subscription_views],
    invoices: InvoiceService = Provide[Container.billing.invoice_service],
) -> ViewResult:
    """``{"plan_id"}`` of the same billing period and currency (422 ``billing_period_change``
    / ``currency_change`` otherwise). An upgrade takes effect now: its proration invoice
    (price difference × unused share of the period, half-even to the cent) is charged to
    the saved card at once; if that fails the invoice stays open (``awaiting_payment``) and
    the upgrade happens when it is paid. A downgrade takes effect at the next renewal."""
    user_id = current_user_id()
    event = SubscriptionChangeRequestedEvent(
        subscription_id=subscription_id, user_id=user_id, plan_id=json.plan_id
    )
    result = dispatcher.emit(event).data
    if result.change != "awaiting_payment" or result.invoice is None:
        return PlanChangeOut.from_result(result)
    charged = charge.run(result.invoice.id, None)
    subscription = subscriptions.get_for_user(subscription_id, user_id)
    after = PlanChangeResult(
        views.of(subscription, utc_now()),
        "upgraded" if charged.outcome == "paid" else "awaiting_payment",
        InvoiceSnapshot.of(invoices.get_for_user(result.invoice.id, user_id)),
    )
    return PlanChangeOut.from_result(after)


@admin_bp.get("/users/<uuid:user_id>/subscriptions")
@spec.validate(
    resp=responses({"HTTP_200": SubscriptionList}, 401, 403), tags=ADMIN_TAGS, security=BEARER
)
@inject
def admin_list_subscriptions(
    user_id: uuid.UUID,
    subscriptions: SubscriptionService = Provide[Container.billing.subscription_service],
    views: SubscriptionViews = Provide[Container.lifecycle.subscription_views],
) -> ViewResult:
    """Any user's subscriptions, as the user sees them."""
    return _list(user_id, subscriptions, views)


@admin_bp.post("/users/<uuid:user_id>/subscriptions/<uuid:subscription_id>/cancel")
@spec.validate(
    json=CancelRequest,
    resp=responses({"HTTP_200": SubscriptionDetailOut}, 400, 401, 403, 404, 409),
    tags=ADMIN_TAGS,
    security=BEARER,
)
@inject
def admin_cancel_subscription(
    user_id: uuid.UUID,
    subscription_id: uuid.UUID,
    json: CancelRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Cancel any user's subscription, now or at period end, as the user could."""
    event = SubscriptionCancelRequestedEvent(
        subscription_id=subscription_id,
        user_id=user_id,
        at_period_end=json.at_period_end,
        by_admin=True,
    )
    return SubscriptionDetailOut.from_result(dispatcher.emit(event).data)


@admin_bp.post("/users/<uuid:user_id>/subscriptions/<uuid:subscription_id>/resume")
@spec.validate(
    resp=responses({"HTTP_200": SubscriptionDetailOut}, 401, 403, 404, 409),
    tags=ADMIN_TAGS,
    security=BEARER,
)
@inject
def admin_resume_subscription(
    user_id: uuid.UUID,
    subscription_id: uuid.UUID,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Undo any user's scheduled cancel."""
    event = SubscriptionResumeRequestedEvent(
        subscription_id=subscription_id, user_id=user_id, by_admin=True
    )
    return SubscriptionDetailOut.from_result(dispatcher.emit(event).data)
