"""flask apikeys create NAME [--scope S ...] / flask apikeys list / flask apikeys revoke ID"""

import uuid

import click
from dependency_injector.wiring import Provide, inject
from flask.cli import AppGroup

from src.container import Container
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.models.api_key import ALL_SCOPES
from src.services.api_key_service import ApiKeyService

group = AppGroup("apikeys", help="API keys of trusted backends (X-API-Key).")


@group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(ALL_SCOPES),
    help="Repeat for several; default: every scope (usage:read and usage:write).",
)
@inject
def create(
    name: str,
    scopes: tuple[str, ...],
    keys: ApiKeyService = Provide[Container.users.api_key_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Create a key and print it once (only its digest is stored)."""
    with unit_of_work as uow:
        key, plaintext = keys.create(name, scopes or ALL_SCOPES)
        key_id, key_scopes = key.id, " ".join(key.scopes)
        uow.commit()
    click.echo(
        f"API key {name!r} (id {key_id}, scopes {key_scopes}); "
        "store it now, it is not shown again:"
    )
    click.echo(plaintext)


@group.command("list")
@inject
def list_keys(keys: ApiKeyService = Provide[Container.users.api_key_service]) -> None:
    for key in keys.list_keys():
        state = "revoked" if key.revoked_at else "active"
        used = f"last used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
        click.echo(
            f"{key.id}  {key.prefix}  {key.name}  {state}  {' '.join(key.scopes)}  "
            f"created {key.created_at:%Y-%m-%d}  {used}"
        )


@group.command("revoke")
@click.argument("key_id", type=click.UUID)
@inject
def revoke(
    key_id: uuid.UUID,
    keys: ApiKeyService = Provide[Container.users.api_key_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Revoke a key: refused (401) on every worker from the next request."""
    with unit_of_work as uow:
        key = keys.revoke(key_id)
        revoked_at = key.revoked_at
        uow.commit()
    click.echo(f"API key {key_id} revoked at {revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
