"""Positions found by time: their identity indexed as (time, uid), their unit index gone.

A position's uid is the hash of its row, time included, so (time_us, uid) is unique exactly
when uid is. An index led by the time is the one every query of positions uses (assessment,
the map and the report's coverage each ask for a time window; none could use the index led by
the unit), and one that a live feed extends at its end: with the uid alone, every fix of
10,000 devices a second went to a random place of a growing index, and each commit rewrote
most of it.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_positions_unit_time_us", table_name="positions")
    with op.batch_alter_table("positions") as batch:
        batch.drop_constraint("uq_positions_uid", type_="unique")
    op.create_index("ix_positions_time_us_uid", "positions", ["time_us", "uid"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_positions_time_us_uid", table_name="positions")
    with op.batch_alter_table("positions") as batch:
        batch.create_unique_constraint("uq_positions_uid", ["uid"])
    op.create_index("ix_positions_unit_time_us", "positions", ["unit", "time_us"], unique=False)
