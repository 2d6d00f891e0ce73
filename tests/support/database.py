"""Find a PostgreSQL server for the suite, or start a throw-away one, or say what is missing."""

import glob
import os
import shutil
import subprocess
from urllib.parse import urlsplit, urlunsplit

import psycopg2

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """``TEST_DATABASE_URL`` names a server (and a database to connect to for admin work)."""
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)


def is_reachable(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


def find_pg_ctl() -> str | None:
    """pg_ctl from PATH, ``pg_config --bindir``, or Debian's versioned directories."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return on_path
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        candidate = os.path.join(bindir.strip(), "pg_ctl")
        if os.path.exists(candidate):
            return candidate
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return debian[-1] if debian else None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create_database(url: str, name: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def drop_database(url: str, name: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
