"""The invoices of a subscription's lifecycle: the next period's renewal and an upgrade's
proration. Prices come from the catalog as of the moment the invoice is made."""

from datetime import datetime
from decimal import Decimal

from src.models.invoice import Invoice, InvoiceKind, LineItemType
from src.models.plan import Plan
from src.models.subscription import Subscription
from src.services.addon_service import AddOnService
from src.services.billing_periods import period_end_after
from src.services.invoice_service import InvoiceService, LifecycleTerms, LineItemDraft
from src.services.proration import proration_amount


class RenewalService:
    def __init__(self, invoice_service: InvoiceService, add_on_service: AddOnService) -> None:
        self._invoices = invoice_service
        self._add_ons = add_on_service

    def renewal_plan(self, subscription: Subscription) -> Plan:
        """The plan the next period is billed on: a scheduled downgrade, else the current one."""
        return subscription.pending_plan or subscription.plan

    def next_amount(self, subscription: Subscription, now: datetime) -> Decimal:
        plan = self.renewal_plan(subscription)
        add_ons = self._add_ons.renewing_with(subscription, now)
        return plan.price + sum((item.add_on.price for item in add_ons), Decimal("0.00"))

    def find_or_create_renewal(
        self, subscription: Subscription, now: datetime
    ) -> tuple[Invoice, bool]:
        """The renewal invoice of the period that starts at the current period's end: one per
        subscription and period (the caller holds the subscription's row lock, and a partial
        unique index backs it). Answers the invoice and whether it was created now."""
        boundary = subscription.current_period_end
        assert boundary is not None  # only subscriptions of recurring plans fall due
        existing = self._invoices.find_renewal(subscription.id, boundary)
        if existing is not None:
            return existing, False
        plan = self.renewal_plan(subscription)
        anchor = subscription.trial_ends_at or subscription.starts_at or boundary
        end = period_end_after(anchor, boundary, plan.billing_period)
        assert end is not None
        drafts = [
            LineItemDraft(
                item_type=LineItemType.SUBSCRIPTION,
                item_id=subscription.id,
                description=f"{plan.name} ({plan.billing_period.value}), "
                f"{boundary.date().isoformat()} to {end.date().isoformat()}",
                quantity=1,
                unit_price=plan.price,
                currency=plan.currency,
            )
        ]
        for addon_subscription in self._add_ons.renewing_with(subscription, now):
            add_on = addon_subscription.add_on
            drafts.append(
                LineItemDraft(
                    item_type=LineItemType.ADD_ON,
                    item_id=addon_subscription.id,
                    description=f"{add_on.name} ({add_on.billing_period.value})",
                    quantity=1,
                    unit_price=add_on.price,
                    currency=add_on.currency,
                )
            )
        terms = LifecycleTerms(InvoiceKind.RENEWAL, subscription.id, boundary, end, plan.id)
        return self._invoices.create_invoice(subscription.user_id, drafts, terms), True

    def create_proration(
        self, subscription: Subscription, target: Plan, now: datetime
    ) -> Invoice | None:
        """The upgrade's invoice for the rest of the period: (new − old) × unused seconds /
        period seconds, half-even to the cent (src/services/proration.py). None when that
        rounds to nothing (the upgrade is then free)."""
        start, end = subscription.current_period_start, subscription.current_period_end
        assert start is not None and end is not None
        amount = proration_amount(subscription.plan.price, target.price, start, end, now)
        if amount == 0:
            return None
        draft = LineItemDraft(
            item_type=LineItemType.SUBSCRIPTION,
            item_id=subscription.id,
            description=f"Upgrade from {subscription.plan.name} to {target.name}, prorated "
            f"{now.date().isoformat()} to {end.date().isoformat()}",
            quantity=1,
            unit_price=amount,
            currency=target.currency,
        )
        terms = LifecycleTerms(InvoiceKind.PRORATION, subscription.id, now, end, target.id)
        return self._invoices.create_invoice(subscription.user_id, [draft], terms)
