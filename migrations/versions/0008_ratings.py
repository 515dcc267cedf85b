"""rating requests and ratings; buttons in rows and tied to a rating request; a customer's
next message awaited as a rating's comment

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rating_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("scale", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=120), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("answered_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_rating_requests_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_rating_requests_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_rating_requests_identity_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_rating_requests_inbox_id_inboxes")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_rating_requests_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_rating_requests_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_requests")),
        sa.UniqueConstraint("token", name=op.f("uq_rating_requests_token")),
    )
    op.create_index("ix_rating_requests_created", "rating_requests", ["created_at"])
    op.create_index(op.f("ix_rating_requests_ticket_id"), "rating_requests", ["ticket_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("scale", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("given_at", _TIME, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("commented_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rating_requests.id"],
            name=op.f("fk_ratings_request_id_rating_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ratings_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_ratings_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_ratings_inbox_id_inboxes")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_ratings_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("ticket_id", "day", name=op.f("uq_ratings_ticket_id")),
    )
    op.create_index("ix_ratings_given", "ratings", ["given_at"])
    op.create_index("ix_ratings_agent_given", "ratings", ["agent_id", "given_at"])
    op.create_index(op.f("ix_ratings_request_id"), "ratings", ["request_id"])
    # Plain ADD COLUMN where no foreign key is added: SQLite's batch mode rebuilds the table.
    op.add_column("identities", sa.Column("comment_rating_id", sa.Integer(), nullable=True))
    op.add_column("identities", sa.Column("comment_until", _TIME, nullable=True))
    op.add_column("buttons", sa.Column("row", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("buttons") as batch:
        batch.add_column(sa.Column("rating_request_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_buttons_rating_request_id_rating_requests"),
            "rating_requests",
            ["rating_request_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("buttons") as batch:
        batch.drop_constraint(
            op.f("fk_buttons_rating_request_id_rating_requests"), type_="foreignkey"
        )
        batch.drop_column("rating_request_id")
    op.drop_column("buttons", "row")
    op.drop_column("identities", "comment_until")
    op.drop_column("identities", "comment_rating_id")
    op.drop_table("ratings")
    op.drop_table("rating_requests")
