"""The signed logs: one hash-chained list of entries per contingent, and each log's head.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contingent", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.String(length=64), nullable=True),
        sa.Column("seen", sa.Text(), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sig", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint(
            "contingent", "seq", "hash", name=op.f("uq_ledger_entries_contingent_seq_hash")
        ),
    )
    op.create_index(
        op.f("ix_ledger_entries_contingent_seq"),
        "ledger_entries",
        ["contingent", "seq"],
        unique=False,
    )
    op.create_table(
        "ledger_heads",
        sa.Column("contingent", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("contingent", name=op.f("pk_ledger_heads")),
    )


def downgrade() -> None:
    op.drop_table("ledger_heads")
    op.drop_index(op.f("ix_ledger_entries_contingent_seq"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
