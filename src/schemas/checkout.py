"""The checkout request and its answer."""

import uuid
from dataclasses import dataclass

from pydantic import Field

from src.schemas.billing import AddOnSubscriptionOut, SubscriptionOut, TokenBundlePurchaseOut
from src.schemas.common import RequestModel, ResponseModel
from src.schemas.invoice import InvoiceOut

CHECKOUT_MESSAGE = "Checkout created. Awaiting payment."


class CheckoutRequest(RequestModel):
    """At least one item. A bundle id may repeat: each repetition buys one more bundle."""

    plan_id: uuid.UUID | None = None
    token_bundle_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    add_on_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class CheckoutResponse(ResponseModel):
    subscription: SubscriptionOut | None
    invoice: InvoiceOut
    token_bundles: list[TokenBundlePurchaseOut]
    add_ons: list[AddOnSubscriptionOut]
    message: str
    next_step: str


@dataclass(frozen=True)
class CheckoutOutcome:
    """The response, and whether it was replayed for a repeated Idempotency-Key."""

    response: CheckoutResponse
    replayed: bool = False
