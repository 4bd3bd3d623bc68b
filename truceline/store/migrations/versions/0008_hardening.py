"""Hardening: sessions and API tokens told apart (a page's session is not a bearer token),
with when each was issued; failed logins kept in the database, so that every worker of a
node shares one throttle.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="bearer")
        )
        batch.add_column(
            sa.Column("issued_at_us", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name_digest", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_pair", "login_failures", ["name_digest", "address", "at_us"])
    op.create_index("ix_login_failures_address", "login_failures", ["address", "at_us"])
    op.create_index("ix_login_failures_at", "login_failures", ["at_us"])


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("issued_at_us")
        batch.drop_column("kind")
