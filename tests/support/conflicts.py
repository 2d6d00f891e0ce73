"""Real database conflicts on demand, for the retry tests."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text

from src.app import BillingApp
from src.extensions import db


@contextmanager
def every_ledger_insert_conflicts(app: BillingApp) -> Iterator[Callable[[], int]]:
    """Make PostgreSQL itself fail every ledger insert with SQLSTATE 40001 (a trigger raises
    a real serialization_failure); yields a reader of how many times it fired, counted by a
    sequence, which a rollback does not undo."""
    with app.app_context():
        for statement in (
            "CREATE SEQUENCE hardening_conflicts",
            "CREATE FUNCTION hardening_conflict() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM nextval('hardening_conflicts'); "
            "RAISE EXCEPTION 'forced conflict' USING ERRCODE = '40001'; END $$",
            "CREATE TRIGGER hardening_conflict BEFORE INSERT ON token_transactions "
            "FOR EACH ROW EXECUTE FUNCTION hardening_conflict()",
        ):
            db.session.execute(text(statement))
        db.session.commit()

    def fired() -> int:
        with app.app_context():
            query = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM hardening_conflicts"
            return int(db.session.scalar(text(query)) or 0)

    try:
        yield fired
    finally:
        with app.app_context():
            db.session.execute(text("DROP TRIGGER hardening_conflict ON token_transactions"))
            db.session.execute(text("DROP FUNCTION hardening_conflict()"))
            db.session.execute(text("DROP SEQUENCE hardening_conflicts"))
            db.session.commit()
