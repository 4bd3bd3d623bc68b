"""Reports: a log entry's subject (a report signature's reporting day), so that a day's
signatures are found without reading every signed report.

Revision ID: 0010
Revises: 0009
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
        batch.create_index("ix_ledger_entries_action_subject", ["action", "subject"])
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, payload FROM ledger_entries WHERE action = 'report_signed'")
    ).all()
    for ident, payload in rows:
        try:
            day = json.loads(payload).get("date")
        except (ValueError, AttributeError):
            continue
        if isinstance(day, str):
            conn.execute(
                sa.text("UPDATE ledger_entries SET subject = :s WHERE id = :i"),
                {"s": day[:64], "i": ident},
            )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_index("ix_ledger_entries_action_subject")
        batch.drop_column("subject")
