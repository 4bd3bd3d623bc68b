"""The joint record (log format 2): import batches of other nodes (their rows travel with the
entries), cases with rounds, assessments bound to their round,
complaints by their sha256 with every contingent's receipt, retractions, users' state as
projections of the entries; sealed positions kept locally.

A clean break: cases, assessments and complaints of log format 1 are not carried over (their
entries are refused by name by `ledger verify`).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("origin_node", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("origin_batch", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("shared", sa.Text(), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_import_batches_origin_node_origin_batch"), ["origin_node", "origin_batch"]
        )
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("v", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_contingent_contingents", type_="foreignkey")
        batch.drop_constraint("fk_users_party_parties", type_="foreignkey")
        batch.alter_column("password_hash", existing_type=sa.Text(), nullable=True)
        batch.add_column(
            sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("logged_by", sa.String(length=64), nullable=True))
    op.drop_table("assessments")
    op.drop_table("cases")
    op.drop_table("complaints")
    op.create_table(
        "complaints",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("observed_from_us", sa.BigInteger(), nullable=False),
        sa.Column("observed_to_us", sa.BigInteger(), nullable=False),
        sa.Column("lat_e7", sa.BigInteger(), nullable=True),
        sa.Column("lon_e7", sa.BigInteger(), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("against", sa.String(length=64), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("attachments", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.Text(), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("key", name=op.f("uq_complaints_key")),
    )
    op.create_table(
        "complaint_receipts",
        sa.Column("complaint_key", sa.String(length=64), nullable=False),
        sa.Column("contingent", sa.String(length=64), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_key", "contingent", name=op.f("pk_complaint_receipts")),
    )
    op.create_table(
        "cases",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("subject_key", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("duplicate_of", sa.String(length=64), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("key", name=op.f("uq_cases_key")),
    )
    op.create_index(op.f("ix_cases_subject_key"), "cases", ["subject_key"])
    op.create_table(
        "rounds",
        sa.Column("case_key", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("revealed_at_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("case_key", "number", name=op.f("pk_rounds")),
    )
    op.create_table(
        "assessments",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("case_key", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("contingent", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("filed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("attribution", sa.String(length=64), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("salt", sa.String(length=128), nullable=True),
        sa.Column("revealed_at_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("commitment", name=op.f("uq_assessments_commitment")),
        sa.UniqueConstraint(
            "case_key", "round", "contingent", name=op.f("uq_assessments_case_key_round_contingent")
        ),
    )
    op.create_index(op.f("ix_assessments_case_key"), "assessments", ["case_key"])
    op.create_table(
        "sealed_positions",
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("attribution", sa.String(length=64), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("commitment", name=op.f("pk_sealed_positions")),
    )
    op.create_table(
        "retractions",
        sa.Column("observation_uid", sa.Text(), nullable=False),
        sa.Column("contingent", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("observation_uid", name=op.f("pk_retractions")),
    )


def downgrade() -> None:
    raise NotImplementedError("log format 2 is a clean break: restore a backup instead")
