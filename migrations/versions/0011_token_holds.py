"""Token holds: reserve tokens, then settle or release.

- ``user_token_balances.held`` (``0 <= held <= balance``): what open holds reserve.
- ``token_transactions.held_delta`` and the entry types ``hold`` and ``hold_release``: the
  ledger records every hold, settle and release, so held = sum of held deltas = open holds.
- ``token_holds``: one row per hold, unique per (user, reference).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TYPES_BEFORE = ("purchase", "usage", "refund", "bonus", "adjustment")
TYPES_AFTER = TYPES_BEFORE + ("hold", "hold_release")


def _types(values):
    listed = ", ".join(f"'{value}'" for value in values)
    name = op.f("ck_token_transactions_token_transaction_type")
    op.drop_constraint(name, "token_transactions", type_="check")
    op.create_check_constraint(name, "token_transactions", f"transaction_type IN ({listed})")


def upgrade():
    op.add_column(
        "user_token_balances", sa.Column("held", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_user_token_balances_held_range"),
        "user_token_balances",
        "held >= 0 AND held <= balance",
    )
    op.add_column(
        "token_transactions",
        sa.Column("held_delta", sa.Integer(), server_default="0", nullable=False),
    )
    op.drop_constraint(
        op.f("ck_token_transactions_amount_non_zero"), "token_transactions", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_token_transactions_amount_or_held_non_zero"),
        "token_transactions",
        "amount <> 0 OR held_delta <> 0",
    )
    _types(TYPES_AFTER)
    op.create_table(
        "token_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("held_tokens", sa.Integer(), nullable=False),
        sa.Column("settled_tokens", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "subscription",
                "trial",
                "tokens",
                name="usage_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "settled",
                "released",
                "expired",
                name="hold_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("usage_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_token_holds_amount_positive")),
        sa.CheckConstraint(
            "held_tokens >= 0", name=op.f("ck_token_holds_held_tokens_non_negative")
        ),
        sa.CheckConstraint(
            "settled_tokens >= 0 AND settled_tokens <= held_tokens",
            name=op.f("ck_token_holds_settled_tokens_range"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_token_holds_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["usage_id"], ["token_usages.id"], name=op.f("fk_token_holds_usage_id_token_usages")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_holds_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_holds")),
        sa.UniqueConstraint("user_id", "reference", name=op.f("uq_token_holds_user_id_reference")),
    )
    op.create_index(
        "ix_token_holds_open_expires",
        "token_holds",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade():
    op.drop_index(
        "ix_token_holds_open_expires",
        table_name="token_holds",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("token_holds")
    # Holds and releases move no balance: without holds their entries have no meaning.
    op.execute("DELETE FROM token_transactions WHERE transaction_type IN ('hold', 'hold_release')")
    _types(TYPES_BEFORE)
    op.drop_constraint(
        op.f("ck_token_transactions_amount_or_held_non_zero"), "token_transactions", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_token_transactions_amount_non_zero"), "token_transactions", "amount <> 0"
    )
    op.drop_column("token_transactions", "held_delta")
    op.drop_constraint(
        op.f("ck_user_token_balances_held_range"), "user_token_balances", type_="check"
    )
    op.drop_column("user_token_balances", "held")
