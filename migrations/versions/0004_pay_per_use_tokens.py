"""Pay-per-use tokens: usages (idempotent per caller reference), API keys of trusted
backends, auto-reload settings, trial credits per user and metered plans.

Existing users start with no trial credits (new ones get TRIAL_CREDITS at registration);
existing plans are not metered. The CHECK on trial_remaining is added by hand.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 07:54:47.894551
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_api_keys_key_digest")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "token_usages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("requested_amount", sa.Integer(), nullable=False),
        sa.Column("charged_tokens", sa.Integer(), nullable=False),
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
                "charged",
                "refunded",
                name="usage_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("refund_reason", sa.String(length=500), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_token_usages_balance_after_non_negative")
        ),
        sa.CheckConstraint(
            "charged_tokens >= 0", name=op.f("ck_token_usages_charged_tokens_non_negative")
        ),
        sa.CheckConstraint(
            "requested_amount > 0", name=op.f("ck_token_usages_requested_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_token_usages_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_usages_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_usages")),
        sa.UniqueConstraint("user_id", "reference", name=op.f("uq_token_usages_user_id_reference")),
    )
    with op.batch_alter_table("token_usages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_token_usages_user_created", ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "auto_reload_settings",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Uuid(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("in_flight_invoice_id", sa.Uuid(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "failure_count >= 0", name=op.f("ck_auto_reload_settings_failure_count_non_negative")
        ),
        sa.CheckConstraint(
            "threshold >= 1 AND threshold <= 100",
            name=op.f("ck_auto_reload_settings_threshold_range"),
        ),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["token_bundles.id"],
            name=op.f("fk_auto_reload_settings_bundle_id_token_bundles"),
        ),
        sa.ForeignKeyConstraint(
            ["in_flight_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_auto_reload_settings_in_flight_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auto_reload_settings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_auto_reload_settings")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("usage_metered", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trial_remaining", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            op.f("ck_users_trial_remaining_non_negative"), "trial_remaining >= 0"
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_trial_remaining_non_negative"), type_="check")
        batch_op.drop_column("trial_remaining")

    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("usage_metered")

    op.drop_table("auto_reload_settings")
    with op.batch_alter_table("token_usages", schema=None) as batch_op:
        batch_op.drop_index("ix_token_usages_user_created")

    op.drop_table("token_usages")
    op.drop_table("api_keys")
