"""survey requests and their answers, one row per answered question

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def _fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_survey_requests_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        "survey_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=120), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("submitted_at", _TIME, nullable=True),
        _fk("ticket_id", "tickets"),
        _fk("customer_id", "customers"),
        _fk("inbox_id", "inboxes"),
        _fk("agent_id", "agents"),
        _fk("message_id", "messages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_requests")),
        sa.UniqueConstraint("token", name=op.f("uq_survey_requests_token")),
    )
    op.create_index("ix_survey_requests_created", "survey_requests", ["created_at"])
    op.create_index(op.f("ix_survey_requests_ticket_id"), "survey_requests", ["ticket_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["survey_requests.id"],
            name=op.f("fk_survey_answers_request_id_survey_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("request_id", "question_id", name=op.f("uq_survey_answers_request_id")),
    )
    op.create_index("ix_survey_answers_kind_value", "survey_answers", ["kind", "value"])


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("survey_requests")
