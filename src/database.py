"""Engine set-up the embedded SQLite needs to behave like a real database."""

from typing import Any

from sqlalchemy import Engine, event


def configure_engine(engine: Engine) -> None:
    """On SQLite: enforce foreign keys, and take the write lock when a transaction begins.

    pysqlite's own transaction handling breaks SAVEPOINTs and lets two writers deadlock on lock
    upgrade; SQLAlchemy's documented recipe hands BEGIN to us, and ``BEGIN IMMEDIATE``
    serialises writers the way the demo database needs. PostgreSQL needs none of this.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
