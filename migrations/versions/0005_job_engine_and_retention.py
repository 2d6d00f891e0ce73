"""Job engine and retention: procrastinate's schema, and the indexes retention deletes by.

procrastinate (the job engine) keeps its jobs, events, periodic ticks and workers in tables
of its own in this database (``procrastinate_*``), so a job commits atomically with the
command that defers it. Its schema is the one shipped with the pinned procrastinate version;
a later procrastinate upgrade adds its migration scripts as new revisions here. The models
do not describe these objects: ``migrations/env.py`` leaves them out of autogenerate.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:30:00.000000
"""

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DROP_ENGINE_OBJECTS = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                  AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _run_script(script):
    """A plain SQL script, straight to the driver: no parameters, so no %-interpolation."""
    with op.get_bind().connection.cursor() as cursor:
        cursor.execute(script)


def upgrade():
    _run_script(SchemaManager.get_schema())
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])


def downgrade():
    op.drop_index("ix_webhook_events_received_at", table_name="webhook_events")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    _run_script(DROP_ENGINE_OBJECTS)
