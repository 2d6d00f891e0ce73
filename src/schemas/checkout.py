"""The checkout request and its answer."""

import uuid

from pydantic import ConfigDict, Field

from src.events.checkout_results import CheckoutResult
from src.schemas.billing import AddOnSubscriptionOut, SubscriptionOut, TokenBundlePurchaseOut
from src.schemas.common import RequestModel, ResponseModel
from src.schemas.invoice import InvoiceOut

CHECKOUT_MESSAGE = "Checkout created. Awaiting payment."


class CheckoutRequest(RequestModel):
    """At least one item. A bundle id may repeat: each repetition buys one more bundle."""

    # The document says what the handler refuses as ``empty_checkout``: no plan and no items.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["plan_id"], "properties": {"plan_id": {"type": "string"}}},
                {
                    "required": ["token_bundle_ids"],
                    "properties": {"token_bundle_ids": {"minItems": 1}},
                },
                {"required": ["add_on_ids"], "properties": {"add_on_ids": {"minItems": 1}}},
            ]
        }
    )

    plan_id: uuid.UUID | None = None
    token_bundle_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    # Each add-on can be bought once (``duplicate_add_on`` otherwise).
    add_on_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, json_schema_extra={"uniqueItems": True}
    )


class CheckoutResponse(ResponseModel):
    subscription: SubscriptionOut | None
    invoice: InvoiceOut
    token_bundles: list[TokenBundlePurchaseOut]
    add_ons: list[AddOnSubscriptionOut]
    message: str
    next_step: str

    @classmethod
    def from_result(cls, result: CheckoutResult) -> "CheckoutResponse":
        """The message and next step are wording for the client, so they are added here and
        never stored: a replayed key gets them from the same place as the first answer."""
        invoice = result.invoice
        return cls(
            subscription=(
                SubscriptionOut.from_result(result.subscription) if result.subscription else None
            ),
            invoice=InvoiceOut.from_result(invoice),
            token_bundles=[
                TokenBundlePurchaseOut.from_result(item) for item in result.token_bundles
            ],
            add_ons=[AddOnSubscriptionOut.from_result(item) for item in result.add_ons],
            message=CHECKOUT_MESSAGE,
            next_step=(
                f"Pay invoice {invoice.number} ({invoice.total_amount} {invoice.currency}) "
                "to activate your purchase."
            ),
        )
