"""Whether a subscription grants access at an instant: the one rule every read uses
(entitlement, add-on checkout, the subscription views), so reads are right before any job
ran. A trialing or active subscription covers its period and no longer; a past-due one
follows ``DUNNING_GRACE``; every other status covers nothing."""

from datetime import datetime

from src.models.subscription import Subscription, SubscriptionStatus
from src.services.dunning_policy import DunningPolicy


def grants_access(subscription: Subscription, now: datetime, policy: DunningPolicy) -> bool:
    end = subscription.current_period_end
    if subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        return end is None or end > now
    if subscription.status is SubscriptionStatus.PAST_DUE and end is not None:
        return policy.entitled_while_past_due(end, now)
    return False
