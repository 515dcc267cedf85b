"""rating requests: drop ix_rating_requests_created, which ix_rating_requests_report (from 0010,
starting with created_at) makes redundant

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_rating_requests_created", table_name="rating_requests")


def downgrade() -> None:
    op.create_index("ix_rating_requests_created", "rating_requests", ["created_at"])
