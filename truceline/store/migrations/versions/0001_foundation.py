"""The foundation: mission, parties, contingents, units, zones, clause versions, import
batches, observations and positions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clause_versions",
        sa.Column("clause_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("effective_us", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("clause_id", "version", name=op.f("pk_clause_versions")),
    )
    op.create_table(
        "contingents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingents")),
    )
    op.create_table(
        "import_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_table(
        "mission_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mission_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("loaded_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_mission_files")),
    )
    op.create_table(
        "parties",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parties")),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source_geometry", sa.Text(), nullable=False),
        sa.Column("buffer_m", sa.Float(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
    )
    op.create_table(
        "missions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["mission_files.sha256"], name=op.f("fk_missions_sha256_mission_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missions")),
    )
    op.create_table(
        "observations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=True),
        sa.Column("observed_from_us", sa.BigInteger(), nullable=False),
        sa.Column("observed_to_us", sa.BigInteger(), nullable=False),
        sa.Column("lat_e7", sa.BigInteger(), nullable=False),
        sa.Column("lon_e7", sa.BigInteger(), nullable=False),
        sa.Column("uncertainty_m", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subtype", sa.Text(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("observer_lat_e7", sa.BigInteger(), nullable=True),
        sa.Column("observer_lon_e7", sa.BigInteger(), nullable=True),
        sa.Column("bearing_deg", sa.Float(), nullable=True),
        sa.Column("distance_min_m", sa.Float(), nullable=True),
        sa.Column("distance_max_m", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_observations_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter"], ["contingents.id"], name=op.f("fk_observations_reporter_contingents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("uid", name=op.f("uq_observations_uid")),
    )
    op.create_index(
        op.f("ix_observations_observed_from_us"), "observations", ["observed_from_us"], unique=False
    )
    op.create_table(
        "positions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("lat_e7", sa.BigInteger(), nullable=False),
        sa.Column("lon_e7", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("course_deg", sa.Float(), nullable=True),
        sa.Column("hae_m", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batches.id"], name=op.f("fk_positions_batch_id_import_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint("uid", name=op.f("uq_positions_uid")),
    )
    op.create_index(
        op.f("ix_positions_unit_time_us"), "positions", ["unit", "time_us"], unique=False
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("contingent", sa.String(length=64), nullable=True),
        sa.Column("party", sa.String(length=64), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contingent"], ["contingents.id"], name=op.f("fk_units_contingent_contingents")
        ),
        sa.ForeignKeyConstraint(["party"], ["parties.id"], name=op.f("fk_units_party_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )


def downgrade() -> None:
    op.drop_table("units")
    op.drop_index(op.f("ix_positions_unit_time_us"), table_name="positions")
    op.drop_table("positions")
    op.drop_index(op.f("ix_observations_observed_from_us"), table_name="observations")
    op.drop_table("observations")
    op.drop_table("missions")
    op.drop_table("zones")
    op.drop_table("parties")
    op.drop_table("mission_files")
    op.drop_table("import_batches")
    op.drop_table("contingents")
    op.drop_table("clause_versions")
