"""SLA deadlines: one row per ticket and target (reaction, resolution)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def _fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_sla_targets_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        "sla_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=64), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=10), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_since", _TIME, nullable=True),
        sa.Column("met_at", _TIME, nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("worked_seconds", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        _fk("ticket_id", "tickets"),
        _fk("inbox_id", "inboxes"),
        _fk("agent_id", "agents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
        sa.UniqueConstraint("ticket_id", "target", name=op.f("uq_sla_targets_ticket_id")),
    )
    op.create_index("ix_sla_targets_open", "sla_targets", ["met_at", "due_at"])
    op.create_index(
        "ix_sla_targets_report",
        "sla_targets",
        ["started_at", "level", "target", "agent_id", "inbox_id"],
    )


def downgrade() -> None:
    op.drop_table("sla_targets")
