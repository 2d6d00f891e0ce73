"""flask billing run-due [--now ISO-8601]"""

import json
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import AppGroup

from src.clock import utc_now
from src.jobs.schedule import run_due

group = AppGroup("billing", help="Work that falls due over time.")


class Instant(click.ParamType[datetime]):
    """An ISO-8601 instant; without a zone it is read as UTC."""

    name = "ISO-8601"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 instant (2027-01-31T00:00:00Z)", param, ctx)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@group.command("run-due")
@click.option("--now", "as_of", type=Instant(), default=None, help="Default: the real time.")
def run_due_command(as_of: datetime | None) -> None:
    """Run every periodic job's work once, synchronously, as of --now."""
    instant = as_of or utc_now()
    results = run_due(current_app.container, instant)  # type: ignore[attr-defined]
    click.echo(json.dumps({"as_of": instant.isoformat(), **results}, default=_plain, indent=2))


def _plain(value: object) -> object:
    """Results are dataclasses or numbers: print their fields."""
    return getattr(value, "__dict__", str(value))
