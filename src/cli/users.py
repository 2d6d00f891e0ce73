"""flask users create-admin EMAIL --password PASSWORD"""

import click
from flask.cli import AppGroup
from dependency_injector.wiring import Provide, inject

from src.container import Container
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.schemas.auth import Credentials
from src.services.user_service import UserService

group = AppGroup("users", help="User accounts.")


@group.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    envvar="ADMIN_PASSWORD",
    help="Needed to create a new admin (also read from ADMIN_PASSWORD); ignored on promotion.",
)
@inject
def create_admin(
    email: str,
    password: str | None,
    users: UserService = Provide[Container.users.user_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Create an admin, or promote an existing user to admin."""
    normalized = email.strip().lower()
    if password is not None:
        # Same rules as the API's registration: a valid e-mail and at least 8 characters.
        try:
            Credentials(email=normalized, password=password)
        except ValueError as error:
            raise click.BadParameter(str(error).splitlines()[-1]) from error
    with unit_of_work as uow:
        try:
            user, created = users.ensure_admin(normalized, password)
        except ValueError as error:
            raise click.UsageError(str(error)) from error
        uow.commit()
    click.echo(f"{user.email} created as admin" if created else f"{user.email} is now an admin")
