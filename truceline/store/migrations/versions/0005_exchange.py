"""Cases and filings with global keys, positions revealed by log entries, the node's id.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revealed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("verdict", existing_type=sa.VARCHAR(length=16), nullable=True)
        batch_op.alter_column("attribution", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.alter_column("rationale", existing_type=sa.TEXT(), nullable=True)
        batch_op.alter_column("salt", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_assessments_commitment"), ["commitment"])

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_cases_key"), ["key"])


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_cases_key"), type_="unique")
        batch_op.drop_column("subject")
        batch_op.drop_column("key")

    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_assessments_commitment"), type_="unique")
        batch_op.alter_column("salt", existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.alter_column("rationale", existing_type=sa.TEXT(), nullable=False)
        batch_op.alter_column("attribution", existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.alter_column("verdict", existing_type=sa.VARCHAR(length=16), nullable=False)
        batch_op.drop_column("revealed")

    op.drop_table("nodes")
