"""Token ledger and payments: balances, append-only ledger entries, payment attempts.

``user_token_balances.version`` and ``token_transactions.sequence`` tie every balance change to
exactly one ledger entry; the unique ``(transaction_type, reference_type, reference_id)`` makes a
second credit of the same purchase impossible. ``payments`` keeps every attempt to pay.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:27:26.750435
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "token_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column(
            "transaction_type",
            sa.Enum(
                "purchase",
                "usage",
                "refund",
                "bonus",
                "adjustment",
                name="token_transaction_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reference_type", sa.String(length=40), nullable=True),
        sa.Column("reference_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_token_transactions_amount_non_zero")),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_token_transactions_balance_after_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_token_transactions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_transactions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_transactions")),
        sa.UniqueConstraint(
            "transaction_type",
            "reference_type",
            "reference_id",
            name=op.f("uq_token_transactions_transaction_type_reference_type_reference_id"),
        ),
        sa.UniqueConstraint(
            "user_id", "sequence", name=op.f("uq_token_transactions_user_id_sequence")
        ),
    )
    op.create_table(
        "user_token_balances",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("total_purchased", sa.Integer(), nullable=False),
        sa.Column("total_spent", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "balance >= 0", name=op.f("ck_user_token_balances_balance_non_negative")
        ),
        sa.CheckConstraint(
            "total_purchased >= 0", name=op.f("ck_user_token_balances_total_purchased_non_negative")
        ),
        sa.CheckConstraint(
            "total_spent >= 0", name=op.f("ck_user_token_balances_total_spent_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_token_balances_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_token_balances")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "completed",
                "failed",
                "expired",
                "cancelled",
                "refunded",
                "partially_refunded",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("payload_digest", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_payments_amount_non_negative")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_payments_currency_code")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_payments_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_invoice", ["invoice_id"], unique=False)
        batch_op.create_index(
            "ix_payments_provider_reference", ["provider", "provider_reference"], unique=False
        )
        batch_op.create_index("ix_payments_user_created", ["user_id", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_user_created")
        batch_op.drop_index("ix_payments_provider_reference")
        batch_op.drop_index("ix_payments_invoice")

    op.drop_table("payments")
    op.drop_table("user_token_balances")
    op.drop_table("token_transactions")
