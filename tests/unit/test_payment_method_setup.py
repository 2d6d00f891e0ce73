"""Saving a card: the provider is asked for a customer and a SetupIntent with no transaction
open, and the customer is created once per user."""

from tests.unit.builders import PAYER, Billing


def test_a_first_setup_creates_the_customer_once_and_keeps_it(billing: Billing) -> None:
    billing.user()
    setup = billing.payment_method_setup_process()

    first = setup.run(PAYER, "stripe")
    second = setup.run(PAYER, "stripe")

    assert (first.customer_id, second.customer_id) == ("cus_new", "cus_new")
    assert billing.users.rows[PAYER].stripe_customer_id == "cus_new"
    assert billing.provider.calls.count("ensure_customer") == 1
    assert first.client_secret == "seti_cus_new_secret"
    assert billing.provider_calls_in_transaction == []


def test_a_customer_saved_by_a_racing_request_is_the_one_kept(billing: Billing) -> None:
    billing.user()
    setup = billing.payment_method_setup_process()
    original = billing.provider.ensure_customer

    def racing(*args: object, **kwargs: object) -> str | None:
        billing.users.rows[PAYER].stripe_customer_id = "cus_first"  # the other request won
        return original(*args, **kwargs)  # type: ignore[arg-type]

    billing.provider.ensure_customer = racing  # type: ignore[method-assign]

    outcome = setup.run(PAYER, "stripe")

    assert outcome.customer_id == "cus_first"
    assert billing.users.rows[PAYER].stripe_customer_id == "cus_first"
    assert outcome.client_secret == "seti_cus_first_secret"
