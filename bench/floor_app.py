"""The least a balance read and a consume can cost on the parts the API is built from: two
throwaway apps for bench/stack_floor.py, never the API.

Each serves the API's two paths over the pgbench reference tables (bench/money_setup.py,
``bench_deduct_balances`` / ``bench_deduct_ledger``), authenticates the bearer token (HS256,
``sub`` = the account's uuid, ``exp`` required) and makes one autocommit round trip:

- ``GET /api/v1/user/tokens/balance``: the balance row by primary key;
- ``POST /api/v1/user/tokens/consume`` ``{"amount": n, "reference": "..."}``: the debit and its
  ledger entry in one statement (a data-modifying CTE; 201, or 402 when short).

``BENCH_FLOOR_KIND`` picks the parts:

- ``wsgi``: a bare WSGI callable, PyJWT and psycopg2 (one connection per thread): Python's
  floor under granian;
- ``flask``: Flask and a SQLAlchemy Core engine (pooled, autocommit), the token verified once
  by PyJWT: the design card's parts at their cheapest, without the API's own work (no
  validation models, rate limiter, events, usage rows, idempotency, audit log);
- ``flask-jwt``: the same, the token verified by flask-jwt-extended as its documentation
  shows (``verify_jwt_in_request``), which decodes each token several times: what the API's
  token cache (src/token_cache.py) saves.

What it leaves out is exactly what the API adds; so the API's rate over the floor's is what
those features cost, and the floor's over pgbench's is what the stack costs before any
feature. ``BENCH_FLOOR_DATABASE_URL`` and ``BENCH_FLOOR_JWT_SECRET`` configure both.
"""

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import psycopg2
from flask import Flask, abort, jsonify, request
from flask_jwt_extended import JWTManager, get_jwt_identity, verify_jwt_in_request
from sqlalchemy import create_engine, text

BALANCE_PATH = "/api/v1/user/tokens/balance"
CONSUME_PATH = "/api/v1/user/tokens/consume"
HEALTH_PATH = "/api/v1/health"

READ_SQL = "SELECT balance FROM bench_deduct_balances WHERE user_id = %(user_id)s"
# The pgbench deduct's two statements (bench/deduct.pgbench) as one, so that a consume is one
# round trip in autocommit, as the API's is.
DEBIT_SQL = """
    WITH debit AS (
        UPDATE bench_deduct_balances
           SET balance = balance - %(amount)s, total_spent = total_spent + %(amount)s,
               updated_at = now()
         WHERE user_id = %(user_id)s AND balance >= %(amount)s
        RETURNING user_id, balance
    )
    INSERT INTO bench_deduct_ledger (user_id, amount, balance_after, transaction_type,
                                     reference, created_at)
    SELECT user_id, -%(amount)s, balance, 'usage', %(reference)s, now() FROM debit
    RETURNING balance_after
"""

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _settings() -> tuple[str, str]:
    return os.environ["BENCH_FLOOR_DATABASE_URL"], os.environ["BENCH_FLOOR_JWT_SECRET"]


def _json(start_response: StartResponse, status: str, body: object) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def verified_subject(authorization: str, secret: str) -> str:
    """The account a bearer token names, verified once (HS256, ``exp`` and ``sub`` required);
    ValueError when it is not a valid token."""
    _, _, token = authorization.partition(" ")
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.InvalidTokenError as error:
        raise ValueError("invalid token") from error
    return str(uuid.UUID(claims["sub"]))


class WsgiFloor:
    """granian + PyJWT + psycopg2, nothing between them."""

    def __init__(self, database_url: str, secret: str) -> None:
        self._database_url, self._secret = database_url, secret
        self._local = threading.local()

    def _cursor(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = psycopg2.connect(self._database_url)
            connection.autocommit = True
            self._local.connection = connection
        return connection.cursor()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return _json(start_response, "200 OK", {"status": "ok"})
        try:
            user_id = verified_subject(environ.get("HTTP_AUTHORIZATION", ""), self._secret)
        except ValueError:
            return _json(start_response, "401 Unauthorized", {"error": "invalid_token"})
        cursor = self._cursor()
        if path == BALANCE_PATH:
            cursor.execute(READ_SQL, {"user_id": user_id})
            row = cursor.fetchone()
            return _json(start_response, "200 OK", {"balance": row[0] if row else 0})
        if path == CONSUME_PATH and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length))
            parameters = {
                "user_id": user_id,
                "amount": int(body["amount"]),
                "reference": str(body["reference"]),
            }
            cursor.execute(DEBIT_SQL, parameters)
            row = cursor.fetchone()
            if row is None:
                return _json(start_response, "402 Payment Required", {"error": "insufficient"})
            return _json(start_response, "201 Created", {"balance": row[0]})
        return _json(start_response, "404 Not Found", {"error": "not_found"})


def _named(sql: str) -> str:
    """psycopg2's ``%(name)s`` parameters as SQLAlchemy ``text``'s ``:name``: one SQL for both."""
    return re.sub(r"%\((\w+)\)s", r":\1", sql)


def flask_floor(database_url: str, secret: str, jwt_extended: bool = False) -> Flask:
    """Flask + SQLAlchemy Core, one statement per request; the token verified by PyJWT, or
    by flask-jwt-extended when ``jwt_extended``."""
    app = Flask("floor")
    app.config.update(
        JWT_SECRET_KEY=secret, JWT_IDENTITY_CLAIM="sub", JWT_ACCESS_TOKEN_EXPIRES=3600
    )
    JWTManager(app)
    engine = create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg2://", 1),
        isolation_level="AUTOCOMMIT",
        pool_size=4,
    )
    read, debit = text(_named(READ_SQL)), text(_named(DEBIT_SQL))

    def caller() -> str:
        if jwt_extended:
            verify_jwt_in_request()
            return str(get_jwt_identity())
        try:
            return verified_subject(request.headers.get("Authorization", ""), secret)
        except ValueError:
            abort(401)

    @app.get(HEALTH_PATH)
    def health() -> Any:
        return {"status": "ok"}

    @app.get(BALANCE_PATH)
    def balance() -> Any:
        user_id = caller()
        with engine.connect() as connection:
            row = connection.execute(read, {"user_id": user_id}).one_or_none()
        return jsonify(balance=row.balance if row else 0)

    @app.post(CONSUME_PATH)
    def consume() -> Any:
        user_id = caller()
        body = request.get_json()
        with engine.connect() as connection:
            row = connection.execute(
                debit,
                {
                    "user_id": user_id,
                    "amount": int(body["amount"]),
                    "reference": str(body["reference"]),
                },
            ).one_or_none()
        if row is None:
            return jsonify(error="insufficient"), 402
        return jsonify(balance=row.balance_after), 201

    return app


def create_app() -> Any:
    """granian's factory (``--factory bench.floor_app:create_app``)."""
    database_url, secret = _settings()
    kind = os.environ.get("BENCH_FLOOR_KIND", "wsgi")
    if kind == "wsgi":
        return WsgiFloor(database_url, secret)
    return flask_floor(database_url, secret, jwt_extended=kind == "flask-jwt")
