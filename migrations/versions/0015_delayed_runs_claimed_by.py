"""delayed_runs: claimed_by, the runner holding a claimed run, so that a runner whose lease ran
out (and whose run another runner took) can no longer end or renew it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("delayed_runs", sa.Column("claimed_by", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delayed_runs") as batch:
        batch.drop_column("claimed_by")
