"""flask payments expire"""

import click
from dependency_injector.wiring import Provide, inject
from flask.cli import AppGroup

from src.config import Settings
from src.container import Container
from src.clock import utc_now
from src.intents.reconcile import ExpiryProcess

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
    expiry: ExpiryProcess = Provide[Container.expiry_process],
    settings: Settings = Provide[Container.settings],
) -> None:
    """Expire pending payments nobody finished, asking their provider first (what it took is
    captured instead); their invoices stay payable. The worker runs this every minute."""
    minutes = older_than_minutes or settings.PAYMENT_SESSION_EXPIRY_MINUTES
    count = expiry.run(utc_now(), minutes)
    click.echo(f"{count} pending payment(s) older than {minutes} minutes expired")
