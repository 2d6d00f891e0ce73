"""The subscription lifecycle: periods, trials, renewals, dunning, cancel and plan changes.

- subscription statuses ``trialing`` and ``past_due``; ``cancelled`` is spelt ``canceled``
  (as Stripe spells it) for subscriptions and add-ons; every open status holds the plan slot.
- ``subscriptions``: ``current_period_start``/``current_period_end`` (``expires_at`` renamed),
  ``cancel_at_period_end``, ``trial_ends_at`` (one trial per user and plan), the pending
  downgrade, the dunning counters; ``subscription_status_history``.
- ``plans.trial_days``; invoices get a ``kind`` (purchase, renewal, proration), the
  subscription and period they pay for (one renewal per subscription and period), and the
  status ``uncollectible``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SUBSCRIPTION_BEFORE = ("pending", "active", "cancelled", "expired")
SUBSCRIPTION_AFTER = ("pending", "trialing", "active", "past_due", "canceled", "expired")
INVOICE_BEFORE = ("pending", "paid", "cancelled", "expired", "refunded")
INVOICE_AFTER = INVOICE_BEFORE + ("uncollectible",)
OPEN_BEFORE = "status IN ('pending', 'active')"
OPEN_AFTER = "status IN ('pending', 'trialing', 'active', 'past_due')"


def _check(table, name, values):
    listed = ", ".join(f"'{value}'" for value in values)
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"status IN ({listed})")


def _open_index(table, name, columns, where):
    op.drop_index(name, table_name=table)
    op.create_index(name, table, columns, unique=True, postgresql_where=sa.text(where))


def upgrade():
    for table, name in (
        ("subscriptions", "subscription_status"),
        ("addon_subscriptions", "addon_subscription_status"),
    ):
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        op.execute(f"UPDATE {table} SET status = 'canceled' WHERE status = 'cancelled'")
        listed = ", ".join(f"'{value}'" for value in SUBSCRIPTION_AFTER)
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"status IN ({listed})")
        op.alter_column(table, "cancelled_at", new_column_name="canceled_at")
    _open_index("subscriptions", "uq_subscriptions_user_open", ["user_id"], OPEN_AFTER)

    op.alter_column("subscriptions", "expires_at", new_column_name="current_period_end")
    op.add_column("subscriptions", sa.Column("current_period_start", sa.DateTime(timezone=True)))
    op.execute("UPDATE subscriptions SET current_period_start = starts_at")
    op.add_column(
        "subscriptions",
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("subscriptions", sa.Column("trial_ends_at", sa.DateTime(timezone=True)))
    op.add_column("subscriptions", sa.Column("pending_plan_id", sa.Uuid()))
    op.create_foreign_key(
        op.f("fk_subscriptions_pending_plan_id_plans"),
        "subscriptions",
        "plans",
        ["pending_plan_id"],
        ["id"],
    )
    op.add_column(
        "subscriptions",
        sa.Column("dunning_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("subscriptions", sa.Column("next_retry_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        op.f("ck_subscriptions_dunning_attempts_non_negative"),
        "subscriptions",
        "dunning_attempts >= 0",
    )
    op.create_index(
        "uq_subscriptions_user_plan_trial",
        "subscriptions",
        ["user_id", "plan_id"],
        unique=True,
        postgresql_where=sa.text("trial_ends_at IS NOT NULL"),
    )
    op.create_index(
        "ix_subscriptions_status_period_end", "subscriptions", ["status", "current_period_end"]
    )
    op.create_index(
        "ix_subscriptions_next_retry",
        "subscriptions",
        ["next_retry_at"],
        postgresql_where=sa.text("status = 'past_due'"),
    )
    op.create_table(
        "subscription_status_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_status_history_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_status_history")),
    )
    op.create_index(
        "ix_subscription_status_history_subscription",
        "subscription_status_history",
        ["subscription_id", "occurred_at"],
    )

    op.add_column(
        "plans", sa.Column("trial_days", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_plans_trial_days_range"), "plans", "trial_days >= 0 AND trial_days <= 730"
    )

    _check("invoices", "invoice_status", INVOICE_AFTER)
    op.add_column(
        "invoices",
        sa.Column(
            "kind",
            sa.Enum(
                "purchase",
                "renewal",
                "proration",
                name="invoice_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="purchase",
            nullable=False,
        ),
    )
    op.add_column("invoices", sa.Column("subscription_id", sa.Uuid()))
    op.add_column("invoices", sa.Column("period_start", sa.DateTime(timezone=True)))
    op.add_column("invoices", sa.Column("period_end", sa.DateTime(timezone=True)))
    op.add_column("invoices", sa.Column("target_plan_id", sa.Uuid()))
    op.create_foreign_key(
        op.f("fk_invoices_subscription_id_subscriptions"),
        "invoices",
        "subscriptions",
        ["subscription_id"],
        ["id"],
    )
    op.create_foreign_key(
        op.f("fk_invoices_target_plan_id_plans"), "invoices", "plans", ["target_plan_id"], ["id"]
    )
    op.create_check_constraint(
        op.f("ck_invoices_lifecycle_invoice_has_period"),
        "invoices",
        "kind = 'purchase' OR (subscription_id IS NOT NULL AND period_start IS NOT NULL "
        "AND period_end IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_invoices_proration_has_target"),
        "invoices",
        "kind <> 'proration' OR target_plan_id IS NOT NULL",
    )
    op.create_index(
        "uq_invoices_renewal_period",
        "invoices",
        ["subscription_id", "period_start"],
        unique=True,
        postgresql_where=sa.text("kind = 'renewal'"),
    )
    op.create_index(
        "uq_invoices_open_proration",
        "invoices",
        ["subscription_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'proration' AND status = 'pending'"),
    )


def downgrade():
    op.drop_index("uq_invoices_open_proration", table_name="invoices")
    op.drop_index("uq_invoices_renewal_period", table_name="invoices")
    op.drop_constraint(op.f("ck_invoices_proration_has_target"), "invoices", type_="check")
    op.drop_constraint(op.f("ck_invoices_lifecycle_invoice_has_period"), "invoices", type_="check")
    op.drop_constraint(op.f("fk_invoices_target_plan_id_plans"), "invoices", type_="foreignkey")
    op.drop_constraint(
        op.f("fk_invoices_subscription_id_subscriptions"), "invoices", type_="foreignkey"
    )
    for column in ("target_plan_id", "period_end", "period_start", "subscription_id", "kind"):
        op.drop_column("invoices", column)
    op.execute("UPDATE invoices SET status = 'cancelled' WHERE status = 'uncollectible'")
    _check("invoices", "invoice_status", INVOICE_BEFORE)

    op.drop_constraint(op.f("ck_plans_trial_days_range"), "plans", type_="check")
    op.drop_column("plans", "trial_days")

    op.drop_table("subscription_status_history")
    op.drop_index("ix_subscriptions_next_retry", table_name="subscriptions")
    op.drop_index("ix_subscriptions_status_period_end", table_name="subscriptions")
    op.drop_index("uq_subscriptions_user_plan_trial", table_name="subscriptions")
    op.drop_constraint(
        op.f("ck_subscriptions_dunning_attempts_non_negative"), "subscriptions", type_="check"
    )
    op.drop_constraint(
        op.f("fk_subscriptions_pending_plan_id_plans"), "subscriptions", type_="foreignkey"
    )
    for column in (
        "next_retry_at",
        "dunning_attempts",
        "pending_plan_id",
        "trial_ends_at",
        "cancel_at_period_end",
        "current_period_start",
    ):
        op.drop_column("subscriptions", column)
    op.alter_column("subscriptions", "current_period_end", new_column_name="expires_at")

    op.drop_index("uq_subscriptions_user_open", table_name="subscriptions")
    for table, name in (
        ("subscriptions", "subscription_status"),
        ("addon_subscriptions", "addon_subscription_status"),
    ):
        op.alter_column(table, "canceled_at", new_column_name="cancelled_at")
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        op.execute(
            f"UPDATE {table} SET status = CASE status WHEN 'canceled' THEN 'cancelled' "
            "WHEN 'past_due' THEN 'active' WHEN 'trialing' THEN 'active' ELSE status END"
        )
        listed = ", ".join(f"'{value}'" for value in SUBSCRIPTION_BEFORE)
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"status IN ({listed})")
    op.create_index(
        "uq_subscriptions_user_open",
        "subscriptions",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text(OPEN_BEFORE),
    )
