"""checkout.requested → PENDING subscription, purchases, add-ons and one invoice."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.clock import utc_now
from src.errors import ValidationFailed
from src.events.base import EventResult, IEventHandler, Notification
from src.events.checkout_events import (
    CheckoutRequestedEvent,
    InvoiceCreatedEvent,
    SubscriptionCreatedEvent,
)
from src.events.checkout_results import (
    AddOnSubscriptionSnapshot,
    CheckoutOutcome,
    CheckoutResult,
    PurchaseSnapshot,
    SubscriptionSnapshot,
    restored,
    stored_form,
)
from src.events.invoice_results import InvoiceSnapshot
from src.models.addon import AddOn
from src.models.invoice import Invoice, LineItemType
from src.models.plan import Plan
from src.models.subscription import Subscription
from src.models.token_bundle import TokenBundle
from src.services.addon_service import AddOnService
from src.services.idempotency_service import IdempotencyService, request_fingerprint
from src.services.invoice_service import InvoiceService, LineItemDraft
from src.services.plan_service import PlanService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService

IDEMPOTENCY_SCOPE = "POST /api/v1/user/checkout"
CREATED = 201
# Settles an invoice with nothing to pay (a trial alone) at once, in the checkout's
# transaction, through the same capture as any payment; answers its notifications.
FreeSettlement = Callable[[Invoice], list[Notification]]
# Ends what hung off a subscription whose ended period a new checkout replaced: its add-ons
# expire and its open renewal or upgrade invoices are voided.
EndLapsed = Callable[[Subscription, datetime], None]


@dataclass(frozen=True)
class _Order:
    """The validated, priced request: catalog rows only, nothing written yet."""

    plan: Plan | None
    bundles: list[tuple[TokenBundle, int]]
    add_ons: list[AddOn]


class CheckoutHandler(IEventHandler[CheckoutRequestedEvent, CheckoutOutcome]):
    """Creates everything PENDING; nothing is granted until a payment is captured.

    Catalog lookups, currency and duplicate checks run before the first write; the rules that
    need the user's rows (subscription_exists, add_on_exists, add_on_requires_subscription) run
    as the rows are created. Either way the dispatcher's single transaction covers every write,
    so a refused or failed checkout leaves no row behind.
    """

    def __init__(
        self,
        plan_service: PlanService,
        subscription_service: SubscriptionService,
        token_bundle_service: TokenBundleService,
        add_on_service: AddOnService,
        invoice_service: InvoiceService,
        idempotency_service: IdempotencyService,
        settle_free: FreeSettlement | None = None,
        end_lapsed: EndLapsed | None = None,
    ) -> None:
        self._settle_free = settle_free
        self._end_lapsed = end_lapsed
        self._plans = plan_service
        self._subscriptions = subscription_service
        self._bundles = token_bundle_service
        self._add_ons = add_on_service
        self._invoices = invoice_service
        self._idempotency = idempotency_service

    def handle(self, event: CheckoutRequestedEvent) -> EventResult[CheckoutOutcome]:
        claim = None
        if event.idempotency_key is not None:
            claim = self._idempotency.claim(
                event.user_id, event.idempotency_key, self._fingerprint(event)
            )
            if claim.replay is not None:
                replayed = restored(claim.replay.body)
                return EventResult(CheckoutOutcome(result=replayed, replayed=True))

        order = self._validate(event)
        now = utc_now()
        notifications: list[Notification] = []
        subscription = None
        if order.plan is not None:
            created = self._subscriptions.create_pending(event.user_id, order.plan, now)
            subscription = created.subscription
            notifications.extend(created.notifications)
            if created.lapsed is not None and self._end_lapsed is not None:
                self._end_lapsed(created.lapsed, now)
        purchases = [
            self._bundles.create_purchase(event.user_id, bundle, quantity)
            for bundle, quantity in order.bundles
        ]
        parent = subscription
        if order.add_ons and parent is None:
            parent = self._subscriptions.find_open(event.user_id)
        addon_subscriptions = [
            self._add_ons.create_subscription(
                event.user_id, add_on, parent, now, parent_in_checkout=subscription is not None
            )
            for add_on in order.add_ons
        ]

        drafts: list[LineItemDraft] = []
        if subscription is not None and order.plan is not None:
            trial = subscription.trial_ends_at is not None
            description = f"{order.plan.name} ({order.plan.billing_period.value})"
            if trial:
                description += f", {order.plan.trial_days}-day trial"
            drafts.append(
                LineItemDraft(
                    item_type=LineItemType.SUBSCRIPTION,
                    item_id=subscription.id,
                    description=description,
                    quantity=1,
                    unit_price=Decimal("0.00") if trial else order.plan.price,
                    currency=order.plan.currency,
                )
            )
        for purchase in purchases:
            drafts.append(
                LineItemDraft(
                    item_type=LineItemType.TOKEN_BUNDLE,
                    item_id=purchase.id,
                    description=f"{purchase.bundle.name} ({purchase.token_amount} tokens)",
                    quantity=purchase.quantity,
                    unit_price=purchase.bundle.price,
                    currency=purchase.bundle.currency,
                )
            )
        for addon_subscription in addon_subscriptions:
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
        invoice = self._invoices.create_invoice(event.user_id, drafts)
        settled: list[Notification] = []
        if invoice.total_amount == 0 and self._settle_free is not None:
            settled = self._settle_free(invoice)

        result = CheckoutResult(
            subscription=SubscriptionSnapshot.of(subscription) if subscription else None,
            invoice=InvoiceSnapshot.of(invoice),
            token_bundles=tuple(PurchaseSnapshot.of(purchase) for purchase in purchases),
            add_ons=tuple(AddOnSubscriptionSnapshot.of(item) for item in addon_subscriptions),
        )
        if claim is not None:
            self._idempotency.complete(claim, CREATED, stored_form(result))
        if subscription is not None:
            notifications.append(
                SubscriptionCreatedEvent(
                    subscription_id=subscription.id,
                    user_id=event.user_id,
                    plan_id=subscription.plan_id,
                    status=subscription.status.value,
                )
            )
        notifications.append(
            InvoiceCreatedEvent(
                invoice_id=invoice.id,
                user_id=event.user_id,
                number=invoice.number,
                total_amount=invoice.total_amount,
                currency=invoice.currency,
            )
        )
        notifications.extend(settled)
        return EventResult(CheckoutOutcome(result=result), tuple(notifications))

    def _validate(self, event: CheckoutRequestedEvent) -> _Order:
        if event.plan_id is None and not event.token_bundle_ids and not event.add_on_ids:
            raise ValidationFailed("A checkout needs at least one item.", code="empty_checkout")
        if len(set(event.add_on_ids)) != len(event.add_on_ids):
            raise ValidationFailed("Each add-on can be bought once.", code="duplicate_add_on")
        plan = self._plans.get_active(event.plan_id) if event.plan_id is not None else None
        bundles = [
            (self._bundles.get_active(bundle_id), quantity)
            for bundle_id, quantity in Counter(event.token_bundle_ids).items()
        ]
        add_ons = [self._add_ons.get_active(add_on_id) for add_on_id in event.add_on_ids]
        currencies = [item.currency for item in (plan, *(b for b, _ in bundles), *add_ons) if item]
        self._invoices.single_currency(currencies)
        return _Order(plan=plan, bundles=bundles, add_ons=add_ons)

    @staticmethod
    def _fingerprint(event: CheckoutRequestedEvent) -> str:
        return request_fingerprint(
            IDEMPOTENCY_SCOPE,
            {
                "plan_id": event.plan_id,
                "token_bundle_ids": list(event.token_bundle_ids),
                "add_on_ids": list(event.add_on_ids),
            },
        )
