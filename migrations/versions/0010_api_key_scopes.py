"""Scopes of API keys: ``usage:write`` (consume, holds, releases) and ``usage:read`` (reads).

Keys that existed before scopes keep what they could do: both scopes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:50:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "api_keys",
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.String(length=32)),
            nullable=False,
            server_default=sa.text("ARRAY['usage:read', 'usage:write']::varchar(32)[]"),
        ),
    )
    op.alter_column("api_keys", "scopes", server_default=None)
    op.create_check_constraint(
        op.f("ck_api_keys_scopes_known"),
        "api_keys",
        "scopes <@ ARRAY['usage:read', 'usage:write']::varchar(32)[]",
    )


def downgrade():
    op.drop_constraint(op.f("ck_api_keys_scopes_known"), "api_keys", type_="check")
    op.drop_column("api_keys", "scopes")
