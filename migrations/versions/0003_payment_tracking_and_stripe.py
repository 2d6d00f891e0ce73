"""Payment tracking and Stripe: payment lifecycle columns, status history, refunds, processed
provider events, and the Stripe customer id of each user.

``refunded_minor`` starts at 0 for existing payments; the CHECK that bounds it by the amount is
added by hand (autogenerate does not see CHECK constraints on existing tables).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 07:37:02.002964
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_webhook_events_provider_event_id")
        ),
    )
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("tokens_reversed", sa.Integer(), nullable=False),
        sa.Column("tokens_shortfall", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.CheckConstraint(
            "tokens_reversed >= 0 AND tokens_shortfall >= 0",
            name=op.f("ck_payment_refunds_tokens_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_payment_refunds_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "provider_refund_id", name=op.f("uq_payment_refunds_provider_refund_id")
        ),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_payment_refunds_payment", ["payment_id"], unique=False)

    op.create_table(
        "payment_status_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("provider_event_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_status_history_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_status_history")),
    )
    with op.batch_alter_table("payment_status_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_status_history_payment", ["payment_id", "created_at"], unique=False
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider_payment_intent_id", sa.String(length=255), nullable=True)
        )
        batch_op.add_column(sa.Column("provider_session_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("provider_charge_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("refunded_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            op.f("ck_payments_refund_within_amount"),
            "refunded_minor >= 0 AND refunded_minor <= amount_minor",
        )
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payments_charge", ["provider_charge_id"], unique=False)
        batch_op.create_index(
            "ix_payments_payment_intent", ["provider_payment_intent_id"], unique=False
        )
        batch_op.create_index("ix_payments_session", ["provider_session_id"], unique=False)
        batch_op.create_index("ix_payments_status_created", ["status", "created_at"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripe_customer_id", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_users_stripe_customer_id"), ["stripe_customer_id"]
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_stripe_customer_id"), type_="unique")
        batch_op.drop_column("stripe_customer_id")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_created")
        batch_op.drop_index("ix_payments_session")
        batch_op.drop_index("ix_payments_payment_intent")
        batch_op.drop_index("ix_payments_charge")
        batch_op.drop_column("expires_at")
        batch_op.drop_constraint(op.f("ck_payments_refund_within_amount"), type_="check")
        batch_op.drop_column("refunded_minor")
        batch_op.drop_column("method")
        batch_op.drop_column("provider_charge_id")
        batch_op.drop_column("provider_session_id")
        batch_op.drop_column("provider_payment_intent_id")

    with op.batch_alter_table("payment_status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_status_history_payment")

    op.drop_table("payment_status_history")
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds_payment")

    op.drop_table("payment_refunds")
    op.drop_table("webhook_events")
