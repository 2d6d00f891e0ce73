"""flask payments expire"""

import click
from dependency_injector.wiring import Provide, inject
from flask.cli import AppGroup

from src.config import Settings
from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentsExpiryRequestedEvent

group = AppGroup("payments", help="Provider payments.")


@group.command("expire")
@click.option(
    "--older-than-minutes",
    type=click.IntRange(min=1),
    default=None,
    help="Default: PAYMENT_SESSION_EXPIRY_MINUTES (30).",
)
@inject
def expire(
    older_than_minutes: int | None,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
    settings: Settings = Provide[Container.settings],
) -> None:
    """Expire pending payments nobody finished; their invoices stay payable (run from cron)."""
    minutes = older_than_minutes or settings.PAYMENT_SESSION_EXPIRY_MINUTES
    count = dispatcher.emit(PaymentsExpiryRequestedEvent(older_than_minutes=minutes)).data
    click.echo(f"{count} pending payment(s) older than {minutes} minutes expired")
