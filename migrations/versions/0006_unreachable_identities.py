"""identities a platform says cannot be messaged (unsubscribed, blocked)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "identities", sa.Column("unreachable_since", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "identities", sa.Column("unreachable_reason", sa.String(length=200), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("identities", "unreachable_reason")
    op.drop_column("identities", "unreachable_since")
