"""outbox rows found by the platform id they were sent under (email replies name it)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_inbox_platform_message", "outbox", ["inbox_id", "platform_message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_inbox_platform_message", table_name="outbox")
