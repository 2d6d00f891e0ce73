"""flask tokens reconcile"""

import sys

import click
from dependency_injector.wiring import Provide, inject
from flask.cli import AppGroup

from src.container import Container
from src.services.token_service import TokenService

group = AppGroup("tokens", help="Token balances and their ledger.")


@group.command("reconcile")
@inject
def reconcile(tokens: TokenService = Provide[Container.tokens.token_service]) -> None:
    """Check every balance against its ledger; exit 1 listing the users that differ."""
    mismatches = tokens.reconcile()
    if not mismatches:
        click.echo("All balances match their ledgers.")
        return
    for row in mismatches:
        click.echo(
            f"{row.user_id}: balance={row.balance} ledger_sum={row.ledger_total} "
            f"latest_balance_after={row.latest_balance_after}"
            + (
                f" held={row.held} open_holds={row.open_holds_total} "
                f"ledger_held={row.ledger_held_total}"
                if row.held is not None
                else ""
            )
        )
    click.echo(f"{len(mismatches)} user(s) whose balance differs from the ledger", err=True)
    sys.exit(1)
