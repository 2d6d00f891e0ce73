"""flask users create-admin EMAIL --password PASSWORD [--promote]"""

import click
from flask.cli import AppGroup
from dependency_injector.wiring import Provide, inject

from src.container import Container
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.schemas.auth import Credentials
from src.services.user_service import AdminOutcome, PromotionRefused, UserService

group = AppGroup("users", help="User accounts.")


@group.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    envvar="ADMIN_PASSWORD",
    help="Needed to create a new admin (also read from ADMIN_PASSWORD); ignored on promotion.",
)
@click.option(
    "--promote",
    is_flag=True,
    help="Make an existing non-admin account an admin (refused without it).",
)
@inject
def create_admin(
    email: str,
    password: str | None,
    promote: bool,
    users: UserService = Provide[Container.users.user_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Create an admin; idempotent for an existing admin (exit 0), so boots may run it.

    An existing account that is not an admin is promoted only with ``--promote``; without it
    the command refuses (exit 2) and changes nothing.
    """
    normalized = email.strip().lower()
    if password is not None:
        # Same rules as the API's registration: a valid e-mail and at least 8 characters.
        try:
            Credentials(email=normalized, password=password)
        except ValueError as error:
            raise click.BadParameter(str(error).splitlines()[-1]) from error
    with unit_of_work as uow:
        try:
            user, outcome = users.ensure_admin(normalized, password, promote=promote)
        except (PromotionRefused, ValueError) as error:
            raise click.UsageError(str(error)) from error
        uow.commit()
    click.echo(f"{user.email} {_WORDING[outcome]}")


_WORDING = {
    AdminOutcome.CREATED: "created as admin",
    AdminOutcome.PROMOTED: "is now an admin",
    AdminOutcome.ALREADY_ADMIN: "is already an admin; nothing changed",
}
