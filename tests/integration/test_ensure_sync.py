"""BillingApp.ensure_sync keeps Flask's answer for each function (src/app.py)."""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from src.app import BillingApp


def test_flask_is_asked_about_each_hook_and_view_once_not_on_every_request(
    app: BillingApp, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Callable[..., Any]] = []
    flask_ensure_sync = Flask.ensure_sync

    def spy(flask_app: Flask, func: Callable[..., Any]) -> Callable[..., Any]:
        asked.append(func)
        return flask_ensure_sync(flask_app, func)

    monkeypatch.setattr(Flask, "ensure_sync", spy)
    first = client.get("/api/v1/plans")
    asked_by_the_first = len(asked)
    second = client.get("/api/v1/plans")

    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert asked_by_the_first > 0  # the view and the hooks it ran
    assert len(asked) == asked_by_the_first  # the second request asked nothing


def test_what_it_keeps_is_bounded_and_each_function_runs_as_itself(app: BillingApp) -> None:
    functions = [lambda n=n: n for n in range(BillingApp.SYNC_FUNCTIONS_KEPT + 10)]

    synced = [app.ensure_sync(function) for function in functions]

    assert [function() for function in synced] == list(range(len(functions)))
    assert len(app.__dict__["_sync_functions"]) <= BillingApp.SYNC_FUNCTIONS_KEPT


def test_a_coroutine_function_is_still_wrapped_as_flask_wraps_it(app: BillingApp) -> None:
    async def view() -> str:
        return "awaited"

    wrapped = app.ensure_sync(view)

    assert wrapped is not view and wrapped() == "awaited"
    assert app.ensure_sync(view) is wrapped  # kept, like a plain function's answer
