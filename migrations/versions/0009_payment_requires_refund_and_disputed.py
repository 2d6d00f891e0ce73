"""Payment statuses for money that cannot be applied and for chargebacks.

- ``requires_refund``: a provider confirmed money that the invoice cannot take (paid by another
  payment, cancelled, expired, an activation rule, an amount that differs); nothing is granted
  and the money goes back.
- ``disputed``: the customer opened a chargeback; the grants are taken back meanwhile.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:10:00.000000
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BEFORE = (
    "pending",
    "processing",
    "completed",
    "failed",
    "expired",
    "cancelled",
    "refunded",
    "partially_refunded",
)
AFTER = BEFORE + ("requires_refund", "disputed")


def _check(values):
    listed = ", ".join(f"'{value}'" for value in values)
    op.drop_constraint(op.f("ck_payments_payment_status"), "payments", type_="check")
    op.create_check_constraint(
        op.f("ck_payments_payment_status"), "payments", f"status IN ({listed})"
    )


def upgrade():
    _check(AFTER)


def downgrade():
    op.execute(
        "UPDATE payments SET status = 'failed' WHERE status IN ('requires_refund', 'disputed')"
    )
    _check(BEFORE)
