"""Arming the named fault points of src/faults.py, through the container (tests only)."""

from collections.abc import Iterator
from contextlib import contextmanager

from dependency_injector import providers

from src.app import BillingApp
from src.faults import InjectedFault


class ArmedFaults:
    """Raises ``InjectedFault`` the first ``times`` times ``point`` is reached."""

    def __init__(self, point: str, times: int = 1) -> None:
        self.point = point
        self.remaining = times
        self.reached_points: list[str] = []

    def reached(self, point: str) -> None:
        self.reached_points.append(point)
        if point == self.point and self.remaining > 0:
            self.remaining -= 1
            raise InjectedFault(point)


@contextmanager
def armed(app: BillingApp, point: str, times: int = 1) -> Iterator[ArmedFaults]:
    """Within the block, the app's processes die at ``point`` (``times`` times)."""
    faults = ArmedFaults(point, times)
    with app.container.fault_points.override(providers.Object(faults)):
        yield faults
