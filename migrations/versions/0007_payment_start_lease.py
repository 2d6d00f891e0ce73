"""Payment start lease: who may call the provider to start a payment committed without ids.

- ``payments.start_lease_until``: a request (or the janitor) that is about to create the
  provider's payment for a committed ``pending`` payment holds it until this instant; another
  request that finds the payment without provider ids meanwhile waits for the outcome instead
  of calling the provider a second time. NULL once the outcome is recorded.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("payments", sa.Column("start_lease_until", sa.DateTime(timezone=True)))


def downgrade():
    op.drop_column("payments", "start_lease_until")
