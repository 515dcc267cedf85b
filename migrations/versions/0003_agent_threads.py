"""agents' threads: tickets followed in a Telegram forum topic; agents' Telegram link codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_ticket_threads_inbox_id_inboxes")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_threads_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_threads")),
        sa.UniqueConstraint("inbox_id", "ticket_id", name=op.f("uq_ticket_threads_inbox_id")),
        sa.UniqueConstraint(
            "inbox_id", "chat_id", "thread_id", name="uq_ticket_threads_inbox_chat_thread"
        ),
    )
    # Plain ADD COLUMN; the unique index separately (SQLite cannot add a UNIQUE column).
    op.add_column("agents", sa.Column("link_code_hash", sa.String(length=64), nullable=True))
    op.add_column("agents", sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("uq_agents_link_code_hash", "agents", ["link_code_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_agents_link_code_hash", table_name="agents")
    op.drop_column("agents", "link_expires_at")
    op.drop_column("agents", "link_code_hash")
    op.drop_table("ticket_threads")
