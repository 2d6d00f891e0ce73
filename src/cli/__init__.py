"""Operator commands, one click group per noun on ``app.cli`` (``flask catalog seed``, ...)."""

from flask import Flask

from src.cli import apikeys, billing, catalog, jobs, payments, tokens, users


def register_cli(app: Flask) -> None:
    app.cli.add_command(catalog.group)
    app.cli.add_command(users.group)
    app.cli.add_command(payments.group)
    app.cli.add_command(apikeys.group)
    app.cli.add_command(tokens.group)
    app.cli.add_command(billing.group)
    app.cli.add_command(jobs.group)
    app.cli.add_command(jobs.worker)
