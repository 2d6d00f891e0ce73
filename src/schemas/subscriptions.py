"""Subscriptions as their owner (and admins) see them, and what may be asked of one."""

import uuid
from datetime import datetime

from pydantic import Field

from src.events.subscription_results import (
    AddOnView,
    DunningView,
    NextRenewal,
    PlanChangeResult,
    PlanSnapshot,
    StatusChangeView,
    SubscriptionView,
)
from src.models.plan import BillingPeriod
from src.models.subscription import SubscriptionStatus
from src.schemas.common import MoneyOut, RequestModel, ResponseModel
from src.schemas.invoice import InvoiceOut


class CancelRequest(RequestModel):
    # true (the default): access until the period ends, then canceled, nothing more charged.
    # false: canceled now, with no refund for the rest of the period.
    at_period_end: bool = True


class ChangePlanRequest(RequestModel):
    plan_id: uuid.UUID


class PlanOut(ResponseModel):
    id: uuid.UUID
    code: str
    name: str
    price: MoneyOut
    currency: str
    billing_period: BillingPeriod

    @classmethod
    def from_result(cls, plan: PlanSnapshot) -> "PlanOut":
        return cls(
            id=plan.id,
            code=plan.code,
            name=plan.name,
            price=plan.price,
            currency=plan.currency,
            billing_period=plan.billing_period,
        )


class SubscriptionAddOnOut(ResponseModel):
    id: uuid.UUID
    add_on_id: uuid.UUID
    name: str
    price: MoneyOut
    billing_period: BillingPeriod
    status: SubscriptionStatus
    expires_at: datetime | None

    @classmethod
    def from_result(cls, item: AddOnView) -> "SubscriptionAddOnOut":
        return cls(
            id=item.id,
            add_on_id=item.add_on_id,
            name=item.name,
            price=item.price,
            billing_period=item.billing_period,
            status=item.status,
            expires_at=item.expires_at,
        )


class NextRenewalOut(ResponseModel):
    """When the next period starts and what it will be charged (plan and recurring add-ons)."""

    at: datetime
    amount: MoneyOut
    currency: str
    plan_id: uuid.UUID

    @classmethod
    def from_result(cls, renewal: NextRenewal) -> "NextRenewalOut":
        return cls(
            at=renewal.at,
            amount=renewal.amount,
            currency=renewal.currency,
            plan_id=renewal.plan_id,
        )


class DunningOut(ResponseModel):
    """A past-due subscription: failed charges so far, the next retry, the invoice to pay
    (``POST /user/invoices/<open_invoice_id>/pay``) and until when access lasts (null:
    until the last retry fails)."""

    attempts: int
    next_retry_at: datetime | None
    retries_left: int
    open_invoice_id: uuid.UUID | None
    access_until: datetime | None

    @classmethod
    def from_result(cls, dunning: DunningView) -> "DunningOut":
        return cls(
            attempts=dunning.attempts,
            next_retry_at=dunning.next_retry_at,
            retries_left=dunning.retries_left,
            open_invoice_id=dunning.open_invoice_id,
            access_until=dunning.access_until,
        )


class StatusChangeOut(ResponseModel):
    from_status: str | None
    to_status: str
    reason: str
    occurred_at: datetime

    @classmethod
    def from_result(cls, change: StatusChangeView) -> "StatusChangeOut":
        return cls(
            from_status=change.from_status,
            to_status=change.to_status,
            reason=change.reason,
            occurred_at=change.occurred_at,
        )


class SubscriptionDetailOut(ResponseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    plan: PlanOut
    status: SubscriptionStatus
    # Whether it grants access right now (time-correct even before any job ran).
    entitled: bool
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    trial_ends_at: datetime | None
    # A downgrade waiting for the next renewal.
    pending_plan: PlanOut | None
    next_renewal: NextRenewalOut | None
    add_ons: list[SubscriptionAddOnOut]
    dunning: DunningOut | None
    history: list[StatusChangeOut] = Field(default_factory=list)
    created_at: datetime

    @classmethod
    def from_result(cls, view: SubscriptionView) -> "SubscriptionDetailOut":
        return cls(
            id=view.id,
            user_id=view.user_id,
            plan=PlanOut.from_result(view.plan),
            status=view.status,
            entitled=view.entitled,
            current_period_start=view.current_period_start,
            current_period_end=view.current_period_end,
            cancel_at_period_end=view.cancel_at_period_end,
            canceled_at=view.canceled_at,
            trial_ends_at=view.trial_ends_at,
            pending_plan=PlanOut.from_result(view.pending_plan) if view.pending_plan else None,
            next_renewal=(
                NextRenewalOut.from_result(view.next_renewal) if view.next_renewal else None
            ),
            add_ons=[SubscriptionAddOnOut.from_result(item) for item in view.add_ons],
            dunning=DunningOut.from_result(view.dunning) if view.dunning else None,
            history=[StatusChangeOut.from_result(change) for change in view.history],
            created_at=view.created_at,
        )


class SubscriptionList(ResponseModel):
    """The open subscription first, then the ended ones, newest first (at most 100)."""

    items: list[SubscriptionDetailOut]


class PlanChangeOut(ResponseModel):
    """``change``: ``upgraded`` (in effect now), ``awaiting_payment`` (the proration invoice
    is open: the saved card was refused or is missing; pay it with ``POST
    /user/invoices/<id>/pay`` and the upgrade takes effect), ``scheduled`` (a downgrade at
    the next renewal) or ``reverted`` (a scheduled downgrade undone)."""

    change: str
    subscription: SubscriptionDetailOut
    invoice: InvoiceOut | None

    @classmethod
    def from_result(cls, result: PlanChangeResult) -> "PlanChangeOut":
        return cls(
            change=result.change,
            subscription=SubscriptionDetailOut.from_result(result.subscription),
            invoice=InvoiceOut.from_result(result.invoice) if result.invoice else None,
        )
