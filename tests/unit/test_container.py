"""The root container's areas are bound to each other (no database, no settings needed).

An area reads another through a ``DependenciesContainer``; a misspelt provider name there
would only fail when that provider is first called, so every dependency is checked here.
"""

from collections.abc import Iterator

import pytest
from dependency_injector import providers

from src.container import Container


@pytest.fixture
def container() -> Iterator[Container]:
    built = Container()
    yield built
    built.unwire()


def test_every_dependency_between_areas_is_bound(container: Container) -> None:
    unbound = [
        dependency.parent_name
        for dependency in container.traverse(types=[providers.Dependency])
        if not dependency.overridden
        and dependency not in (container.settings, container.database_url)
    ]

    assert unbound == []


def test_an_override_in_an_area_reaches_the_areas_that_read_it(container: Container) -> None:
    stand_in = object()
    container.billing.invoice_service.override(providers.Object(stand_in))

    capture_service = container.payments.capture_service
    assert isinstance(capture_service, providers.Factory)

    assert capture_service.kwargs["invoice_service"]() is stand_in
