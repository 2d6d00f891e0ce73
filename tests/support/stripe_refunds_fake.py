"""A stand-in for the Stripe client's refund list (``client.v1.refunds.list``), for the
integration tests that post a signed ``charge.refunded``: the app reads the refunds from
here, not from the event (the e2e tests read them from localstripe)."""

from dataclasses import dataclass, field
from typing import Any

import stripe


@dataclass
class _Listed:
    items: list[stripe.Refund]

    def auto_paging_iter(self) -> Any:
        return iter(self.items)


@dataclass
class _Refunds:
    held: list[dict[str, Any]] = field(default_factory=list)
    asked: list[dict[str, Any]] = field(default_factory=list)

    def list(self, params: dict[str, Any]) -> _Listed:
        self.asked.append(params)
        return _Listed([stripe.Refund.construct_from(dict(item), "sk_test") for item in self.held])


@dataclass
class _V1:
    refunds: _Refunds = field(default_factory=_Refunds)


@dataclass
class FakeStripeRefunds:
    """``hold(...)`` what Stripe has; ``v1.refunds.asked`` is what the app asked for."""

    v1: _V1 = field(default_factory=_V1)

    def hold(self, refund_id: str, amount: int, status: str = "succeeded", **extra: Any) -> None:
        self.v1.refunds.held.append(
            {"id": refund_id, "object": "refund", "amount": amount, "status": status, **extra}
        )
