"""Checkout schema: users, catalog, pending purchases, invoices, idempotency keys.

Money columns are integer minor units (``*_minor``); statuses are VARCHAR with CHECK
constraints; invoice numbers come from the ``invoice_number_seq`` sequence.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 07:19:03.711420
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


INVOICE_NUMBER_SEQUENCE = "invoice_number_seq"


def _is_postgresql():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _is_postgresql():
        op.execute(f"CREATE SEQUENCE {INVOICE_NUMBER_SEQUENCE} START 1")
    op.create_table(
        "addons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "billing_period",
            sa.Enum(
                "monthly",
                "yearly",
                "one_time",
                name="addon_billing_period",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "currency IN ('EUR', 'GBP', 'USD')", name=op.f("ck_addons_currency_supported")
        ),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_addons_price_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addons")),
        sa.UniqueConstraint("code", name=op.f("uq_addons_code")),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "billing_period",
            sa.Enum(
                "monthly",
                "yearly",
                "one_time",
                name="plan_billing_period",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "currency IN ('EUR', 'GBP', 'USD')", name=op.f("ck_plans_currency_supported")
        ),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_plans_price_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_plans_code")),
    )
    op.create_table(
        "token_bundles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("token_amount", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "currency IN ('EUR', 'GBP', 'USD')", name=op.f("ck_token_bundles_currency_supported")
        ),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_token_bundles_price_non_negative")),
        sa.CheckConstraint("token_amount > 0", name=op.f("ck_token_bundles_token_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_bundles")),
        sa.UniqueConstraint("code", name=op.f("uq_token_bundles_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "user",
                "admin",
                name="user_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column(
            "response_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "paid",
                "cancelled",
                "expired",
                "refunded",
                name="invoice_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("payment_reference", sa.String(length=255), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "currency IN ('EUR', 'GBP', 'USD')", name=op.f("ck_invoices_currency_supported")
        ),
        sa.CheckConstraint(
            "status NOT IN ('paid', 'refunded') OR (paid_at IS NOT NULL AND payment_reference IS NOT NULL)",
            name=op.f("ck_invoices_paid_has_payment"),
        ),
        sa.CheckConstraint("total_minor >= 0", name=op.f("ck_invoices_total_non_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_invoices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint(
            "provider", "payment_reference", name=op.f("uq_invoices_provider_payment_reference")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_invoices_user_created", ["user_id", "created_at"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "cancelled",
                "expired",
                name="subscription_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_subscriptions_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_subscriptions_user_open",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )

    op.create_table(
        "token_bundle_purchases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("bundle_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("token_amount", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "completed",
                "refunded",
                "cancelled",
                name="purchase_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quantity > 0", name=op.f("ck_token_bundle_purchases_quantity_positive")
        ),
        sa.CheckConstraint(
            "token_amount > 0", name=op.f("ck_token_bundle_purchases_token_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["token_bundles.id"],
            name=op.f("fk_token_bundle_purchases_bundle_id_token_bundles"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_bundle_purchases_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_bundle_purchases")),
    )
    with op.batch_alter_table("token_bundle_purchases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_token_bundle_purchases_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "addon_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("addon_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "cancelled",
                "expired",
                name="addon_subscription_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["addon_id"], ["addons.id"], name=op.f("fk_addon_subscriptions_addon_id_addons")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_addon_subscriptions_subscription_id_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_addon_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addon_subscriptions")),
    )
    with op.batch_alter_table("addon_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_addon_subscriptions_subscription_id"), ["subscription_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_addon_subscriptions_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            "uq_addon_subscriptions_user_addon_open",
            ["user_id", "addon_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )

    op.create_table(
        "invoice_line_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "item_type",
            sa.Enum(
                "subscription",
                "token_bundle",
                "add_on",
                name="line_item_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_price_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_invoice_line_items_quantity_positive")),
        sa.CheckConstraint(
            "total_price_minor = unit_price_minor * quantity",
            name=op.f("ck_invoice_line_items_total_matches"),
        ),
        sa.CheckConstraint(
            "unit_price_minor >= 0", name=op.f("ck_invoice_line_items_unit_price_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_line_items_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line_items")),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_invoice_line_items_invoice_id_position")
        ),
    )
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_line_items_item", ["item_type", "item_id"], unique=False)


def downgrade():
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_line_items_item")

    op.drop_table("invoice_line_items")
    with op.batch_alter_table("addon_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_addon_subscriptions_user_addon_open",
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )
        batch_op.drop_index(batch_op.f("ix_addon_subscriptions_user_id"))
        batch_op.drop_index(batch_op.f("ix_addon_subscriptions_subscription_id"))

    op.drop_table("addon_subscriptions")
    with op.batch_alter_table("token_bundle_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_bundle_purchases_user_id"))

    op.drop_table("token_bundle_purchases")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_subscriptions_user_open",
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )
        batch_op.drop_index(batch_op.f("ix_subscriptions_user_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_user_created")
        batch_op.drop_index("ix_invoices_status_created")

    op.drop_table("invoices")
    op.drop_table("idempotency_keys")
    op.drop_table("users")
    op.drop_table("token_bundles")
    op.drop_table("plans")
    op.drop_table("addons")
    if _is_postgresql():
        op.execute(f"DROP SEQUENCE IF EXISTS {INVOICE_NUMBER_SEQUENCE}")
