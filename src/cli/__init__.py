"""Operator commands, one click group per noun on ``app.cli`` (``flask catalog seed``, ...)."""

from flask import Flask

from src.cli import catalog, users


def register_cli(app: Flask) -> None:
    app.cli.add_command(catalog.group)
    app.cli.add_command(users.group)
