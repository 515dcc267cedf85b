"""the rule engine's storage: tags, supervisors, email subjects, tasks, notifications,
rule stats and history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite's batch mode would rebuild tickets and break its trigger.
    op.add_column("tickets", sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column(
        "delayed_runs", sa.Column("depth", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("messages", sa.Column("subject", sa.String(length=200), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("supervisor_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_agents_supervisor_id_agents"), "agents", ["supervisor_id"], ["id"]
        )

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_at", _NOW, nullable=True),
        sa.Column("rule_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("done_at", _NOW, nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_tasks_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["agents.id"], name=op.f("fk_tasks_owner_id_agents")),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["agents.id"], name=op.f("fk_tasks_done_by_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_owner_open", "tasks", ["owner_id", "done_at"])
    op.create_index(op.f("ix_tasks_ticket_id"), "tasks", ["ticket_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("read_at", _NOW, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_notifications_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_notifications_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_agent_read", "notifications", ["agent_id", "read_at"])
    op.create_table(
        "rule_stats",
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("last_fired_at", _NOW, nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_rule_stats")),
    )
    op.create_table(
        "rule_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("old_text", sa.Text(), nullable=True),
        sa.Column("new_text", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("at", _NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_rule_changes_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_changes")),
    )
    op.create_index(op.f("ix_rule_changes_file"), "rule_changes", ["file"])


def downgrade() -> None:
    op.drop_table("rule_changes")
    op.drop_table("rule_stats")
    op.drop_table("notifications")
    op.drop_table("tasks")
    op.drop_column("delayed_runs", "depth")
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint(op.f("fk_agents_supervisor_id_agents"), type_="foreignkey")
        batch.drop_column("supervisor_id")
    op.drop_column("messages", "subject")
    op.drop_column("tickets", "tags")
