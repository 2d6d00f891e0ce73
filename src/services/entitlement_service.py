"""Who pays for the next use: an active subscription, then trial credits, then tokens."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from src.clock import utc_now
from src.models.subscription import Subscription
from src.models.token_usage import UsageSource
from src.services.dunning_policy import DunningPolicy
from src.services.subscription_access import grants_access
from src.services.ports import SubscriptionRepositoryPort, TokenRepositoryPort, UserRepositoryPort


@dataclass(frozen=True)
class Entitlement:
    source: UsageSource | None
    subscription: Subscription | None
    trial_remaining: int
    token_balance: int


class EntitlementService:
    """The token-purchase design's authorisation hierarchy.

    An active subscription covers every use, unless its plan is metered (then its subscribers
    pay per use with tokens). Trial credits are for users without a subscription. Tokens come
    last; ``source`` None means the next use would be refused (402).
    """

    def __init__(
        self,
        subscriptions: SubscriptionRepositoryPort,
        users: UserRepositoryPort,
        tokens: TokenRepositoryPort,
        policy: DunningPolicy | None = None,
    ) -> None:
        self._policy = policy or DunningPolicy()
        self._subscriptions = subscriptions
        self._users = users
        self._tokens = tokens

    def active_subscription(self, user_id: uuid.UUID, now: datetime) -> Subscription | None:
        """The subscription that covers uses now: trialing or active within its period, or
        past due within the dunning grace (never the status alone: a lapsed period does not
        count even before the renewal job has run)."""
        subscription = self._subscriptions.find_open_for_user(user_id)
        if subscription is None or not grants_access(subscription, now, self._policy):
            return None
        return subscription

    def current(self, user_id: uuid.UUID) -> Entitlement:
        subscription = self.active_subscription(user_id, utc_now())
        user = self._users.get(user_id)
        trial = user.trial_remaining if user is not None else 0
        row = self._tokens.get_balance(user_id)
        balance = row.balance if row is not None else 0
        if subscription is not None and not subscription.plan.usage_metered:
            source: UsageSource | None = UsageSource.SUBSCRIPTION
        elif subscription is None and trial > 0:
            source = UsageSource.TRIAL
        elif balance > 0:
            source = UsageSource.TOKENS
        else:
            source = None
        return Entitlement(source, subscription, trial, balance)
