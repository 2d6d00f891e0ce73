"""Input bounds in the columns: what a request may ask for, the database refuses beyond too.

- ``token_usages.requested_amount <= 1000000`` and ``token_holds.amount <= 1000000``: the
  consume and hold schemas' upper bound, so a path that skips the schema (a CLI, a job, a
  future route) still cannot store more. Every other integer a request carries is bounded by
  its schema to its column's own range (PostgreSQL ``integer``), or tighter.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00.000000
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BOUNDS = (
    ("token_usages", "ck_token_usages_requested_amount_max", "requested_amount <= 1000000"),
    ("token_holds", "ck_token_holds_amount_max", "amount <= 1000000"),
)


def upgrade():
    for table, name, condition in BOUNDS:
        op.create_check_constraint(op.f(name), table, condition)


def downgrade():
    for table, name, _condition in reversed(BOUNDS):
        op.drop_constraint(op.f(name), table, type_="check")
