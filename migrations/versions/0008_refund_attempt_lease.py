"""Refund attempt lease: who may call the provider for a refund still ``requested``.

- ``payment_refunds.attempt_lease_until``: the request, job or janitor that is about to ask
  the provider for a ``requested`` refund holds it until this instant; another attempt that
  finds it held meanwhile calls nobody (the admin gets 202, a job or the janitor tries again
  later), so two attempts never both refund. NULL once the outcome is recorded or the
  holder's call is over.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("payment_refunds", sa.Column("attempt_lease_until", sa.DateTime(timezone=True)))


def downgrade():
    op.drop_column("payment_refunds", "attempt_lease_until")
