"""Joint verification: complaints (and their attachments), cases, assessments.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachments")),
    )
    op.create_table(
        "complaints",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
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
        sa.ForeignKeyConstraint(
            ["party"], ["parties.id"], name=op.f("fk_complaints_party_parties")
        ),
        sa.ForeignKeyConstraint(
            ["received_by"], ["contingents.id"], name=op.f("fk_complaints_received_by_contingents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_table(
        "cases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "finding_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("revealed_at_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_cases_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_cases_finding_id_findings")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["contingents.id"], name=op.f("fk_cases_opened_by_contingents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_cases_finding_id")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_cases_complaint_id")),
    )
    op.create_table(
        "assessments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contingent", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("attribution", sa.String(length=64), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("filed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "superseded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_assessments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["contingent"], ["contingents.id"], name=op.f("fk_assessments_contingent_contingents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index(op.f("ix_assessments_case_id"), "assessments", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_assessments_case_id"), table_name="assessments")
    op.drop_table("assessments")
    op.drop_table("cases")
    op.drop_table("complaints")
    op.drop_table("attachments")
