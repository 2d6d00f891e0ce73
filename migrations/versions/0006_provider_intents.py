"""Provider intents: one open auto-reload per user, refunds as intents with their own status.

- ``uq_payments_open_auto_reload``: at most one off-session (auto-reload) payment per user is
  pending or processing; it stays open until the provider reports a terminal state.
- ``payment_refunds`` become intents: ``status`` (requested, succeeded, failed), the admin's
  ``idempotency_key`` (unique per payment), ``force``, ``failure_message``, ``updated_at``.
  Existing refunds were made synchronously, so they are ``succeeded``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "uq_payments_open_auto_reload",
        "payments",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("method = 'off_session' AND status IN ('pending', 'processing')"),
    )
    op.add_column(
        "payment_refunds",
        sa.Column("status", sa.String(length=32), nullable=False, server_default="succeeded"),
    )
    op.alter_column("payment_refunds", "status", server_default=None)
    op.create_check_constraint(
        "ck_payment_refunds_refund_status",
        "payment_refunds",
        "status IN ('requested', 'succeeded', 'failed')",
    )
    op.add_column("payment_refunds", sa.Column("idempotency_key", sa.String(length=255)))
    op.add_column(
        "payment_refunds",
        sa.Column("force", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.alter_column("payment_refunds", "force", server_default=None)
    op.add_column("payment_refunds", sa.Column("failure_message", sa.String(length=500)))
    op.add_column("payment_refunds", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.create_unique_constraint(
        "uq_payment_refunds_payment_id_idempotency_key",
        "payment_refunds",
        ["payment_id", "idempotency_key"],
    )
    op.create_index("ix_payment_refunds_status", "payment_refunds", ["status", "created_at"])


def downgrade():
    op.drop_index("ix_payment_refunds_status", table_name="payment_refunds")
    op.drop_constraint(
        "uq_payment_refunds_payment_id_idempotency_key", "payment_refunds", type_="unique"
    )
    op.drop_column("payment_refunds", "updated_at")
    op.drop_column("payment_refunds", "failure_message")
    op.drop_column("payment_refunds", "force")
    op.drop_column("payment_refunds", "idempotency_key")
    op.drop_constraint("ck_payment_refunds_refund_status", "payment_refunds", type_="check")
    op.drop_column("payment_refunds", "status")
    op.drop_index("uq_payments_open_auto_reload", table_name="payments")
