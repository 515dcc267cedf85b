"""sla_targets: ix_sla_targets_report covers what the compliance report counts and how it
orders the breaches (ticket_id, breached, met_at, worked_seconds, due_at, id after its
filters), so the report reads the index alone

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILTERS = ["started_at", "level", "target", "agent_id", "inbox_id"]
COUNTED = ["ticket_id", "breached", "met_at", "worked_seconds", "due_at", "id"]


def upgrade() -> None:
    op.drop_index("ix_sla_targets_report", table_name="sla_targets")
    op.create_index("ix_sla_targets_report", "sla_targets", [*FILTERS, *COUNTED])


def downgrade() -> None:
    op.drop_index("ix_sla_targets_report", table_name="sla_targets")
    op.create_index("ix_sla_targets_report", "sla_targets", FILTERS)
