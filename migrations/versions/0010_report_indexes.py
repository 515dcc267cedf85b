"""covering indexes for the rating reports: ratings by day and time given, rating requests by
when sent

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ratings_report",
        "ratings",
        ["day", "given_at", "agent_id", "inbox_id", "scale", "bucket", "score"],
    )
    op.create_index(
        "ix_rating_requests_report",
        "rating_requests",
        ["created_at", "agent_id", "inbox_id", "answered_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_rating_requests_report", table_name="rating_requests")
    op.drop_index("ix_ratings_report", table_name="ratings")
