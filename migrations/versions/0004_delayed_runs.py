"""delayed rule runs: rows that fire later, once

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delayed_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event_name", sa.String(length=50), nullable=False),
        sa.Column("event_data", sa.JSON(), nullable=False),
        sa.Column("cancel_on", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_delayed_runs_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delayed_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_delayed_runs_key")),
    )
    op.create_index("ix_delayed_runs_due", "delayed_runs", ["state", "due_at"])
    op.create_index("ix_delayed_runs_ticket", "delayed_runs", ["ticket_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_delayed_runs_ticket", table_name="delayed_runs")
    op.drop_index("ix_delayed_runs_due", table_name="delayed_runs")
    op.drop_table("delayed_runs")
