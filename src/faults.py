"""Named fault points around every provider call, for the fault tests.

A process that calls a provider reports each point it reaches: ``<flow>.before_provider_call``,
``<flow>.after_provider_call`` (the provider acted, the outcome is not committed yet) and
``<flow>.after_outcome_commit`` (committed, the caller not answered yet). The container wires
``NoFaults``, which does nothing; only a test overrides it (``app.container.fault_points``)
with points armed to raise, to prove that a crash at any of them converges to one effect.
"""

from typing import Protocol


class FaultPoints(Protocol):
    def reached(self, point: str) -> None: ...


class NoFaults:
    """Production: every point passes."""

    def reached(self, point: str) -> None:
        return None


class InjectedFault(RuntimeError):
    """Raised at an armed fault point: the process dies there, as a killed worker would."""
