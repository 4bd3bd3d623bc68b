"""Positions indexed by time: every query of positions asks for a time window (assessment,
the map, the report's coverage), and a live feed adds fixes in time order, so an index led by
the time is both the one those queries use and one that new fixes extend at its end. The
index led by the unit (which no query could use for a window, and which every fix of 10,000
devices a second touched at a random place) goes.

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
    op.create_index("ix_positions_time_us", "positions", ["time_us"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_positions_time_us", table_name="positions")
    op.create_index("ix_positions_unit_time_us", "positions", ["unit", "time_us"], unique=False)
