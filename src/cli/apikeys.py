"""flask apikeys create NAME / flask apikeys list"""

import click
from dependency_injector.wiring import Provide, inject
from flask.cli import AppGroup

from src.container import Container
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.services.api_key_service import ApiKeyService

group = AppGroup("apikeys", help="API keys of trusted backends (X-API-Key).")


@group.command("create")
@click.argument("name")
@inject
def create(
    name: str,
    keys: ApiKeyService = Provide[Container.users.api_key_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Create a key and print it once (only its digest is stored)."""
    with unit_of_work as uow:
        key, plaintext = keys.create(name)
        uow.commit()
    click.echo(f"API key {key.name!r} (prefix {key.prefix}); store it now, it is not shown again:")
    click.echo(plaintext)


@group.command("list")
@inject
def list_keys(keys: ApiKeyService = Provide[Container.users.api_key_service]) -> None:
    for key in keys.list_keys():
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.prefix}  {key.name}  {state}  created {key.created_at:%Y-%m-%d}")
