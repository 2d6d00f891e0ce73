"""A subscription as its owner sees it: status and period, whether it grants access now, what
the next renewal will cost, its add-ons, its dunning state and its history."""

from datetime import datetime

from src.events.subscription_results import (
    AddOnView,
    DunningView,
    NextRenewal,
    PlanSnapshot,
    StatusChangeView,
    SubscriptionView,
)
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.services.addon_service import AddOnService
from src.services.invoice_service import InvoiceService
from src.services.renewal_service import RenewalService
from src.services.subscription_service import SubscriptionService, recurring

_RENEWING = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


class SubscriptionViews:
    def __init__(
        self,
        subscription_service: SubscriptionService,
        renewal_service: RenewalService,
        add_on_service: AddOnService,
        invoice_service: InvoiceService,
    ) -> None:
        self._subscriptions = subscription_service
        self._renewals = renewal_service
        self._add_ons = add_on_service
        self._invoices = invoice_service

    def of(
        self, subscription: Subscription, now: datetime, with_history: bool = True
    ) -> SubscriptionView:
        return SubscriptionView(
            id=subscription.id,
            user_id=subscription.user_id,
            plan=plan_snapshot(subscription.plan),
            status=subscription.status,
            entitled=self._subscriptions.is_entitled(subscription, now),
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            cancel_at_period_end=subscription.cancel_at_period_end,
            canceled_at=subscription.canceled_at,
            trial_ends_at=subscription.trial_ends_at,
            pending_plan=(
                plan_snapshot(subscription.pending_plan) if subscription.pending_plan else None
            ),
            next_renewal=self._next_renewal(subscription, now),
            add_ons=tuple(
                AddOnView(
                    id=item.id,
                    add_on_id=item.addon_id,
                    name=item.add_on.name,
                    price=item.add_on.price,
                    billing_period=item.add_on.billing_period,
                    status=item.status,
                    expires_at=item.expires_at,
                )
                for item in self._add_ons.for_subscription(subscription.id)
            ),
            dunning=self._dunning(subscription),
            history=(
                tuple(
                    StatusChangeView(c.from_status, c.to_status, c.reason, c.occurred_at)
                    for c in self._subscriptions.history(subscription.id)
                )
                if with_history
                else ()
            ),
            created_at=subscription.created_at,
        )

    def _next_renewal(self, subscription: Subscription, now: datetime) -> NextRenewal | None:
        end = subscription.current_period_end
        if (
            subscription.status not in _RENEWING
            or subscription.cancel_at_period_end
            or end is None
            or not recurring(subscription.plan.billing_period)
        ):
            return None
        plan = self._renewals.renewal_plan(subscription)
        if subscription.status is SubscriptionStatus.PAST_DUE:
            invoice = self._invoices.find_renewal(subscription.id, end)
            if invoice is not None:
                return NextRenewal(end, invoice.total_amount, invoice.currency, plan.id)
        return NextRenewal(
            end, self._renewals.next_amount(subscription, now), plan.currency, plan.id
        )

    def _dunning(self, subscription: Subscription) -> DunningView | None:
        end = subscription.current_period_end
        if subscription.status is not SubscriptionStatus.PAST_DUE or end is None:
            return None
        invoice = self._invoices.find_renewal(subscription.id, end)
        policy = self._subscriptions.policy
        return DunningView(
            attempts=subscription.dunning_attempts,
            next_retry_at=subscription.next_retry_at,
            retries_left=policy.retries_left(subscription.dunning_attempts),
            open_invoice_id=invoice.id if invoice is not None else None,
            access_until=policy.access_until(end),
        )


def plan_snapshot(plan: Plan) -> PlanSnapshot:
    return PlanSnapshot(
        id=plan.id,
        code=plan.code,
        name=plan.name,
        price=plan.price,
        currency=plan.currency,
        billing_period=plan.billing_period,
    )
