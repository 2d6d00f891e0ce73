"""flask catalog seed"""

import click
from flask.cli import AppGroup
from dependency_injector.wiring import Provide, inject

from src.container import Container
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.services.catalog_seed import CatalogSeeder

group = AppGroup("catalog", help="The product catalog.")


@group.command("seed")
@inject
def seed(
    seeder: CatalogSeeder = Provide[Container.catalog.catalog_seeder],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Create the demo plans, token bundles and add-ons (idempotent)."""
    with unit_of_work as uow:
        report = seeder.seed()
        uow.commit()
    click.echo(f"catalog seeded: {report.created} created, {report.unchanged} already present")
