"""A ticket's ratings as agents see them: read only, with the labels their buttons showed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from core.db import Database
from core.models import Agent, Rating
from core.models import Button as ButtonRow
from core.ratings import PAYLOAD
from core.scales import SCALES, Scale


@dataclass(frozen=True)
class Shown:
    rating: Rating
    label: str  # the value as the customer saw it offered
    agent: Agent | None  # the agent the rating credits


async def of_ticket(db: Database, ticket_id: int) -> Sequence[Shown]:
    """The ticket's ratings, oldest first (one per day it was rated)."""
    async with db.reading() as s:
        rows = (
            await s.execute(
                select(Rating, Agent)
                .outerjoin(Agent, Agent.id == Rating.agent_id)
                .where(Rating.ticket_id == ticket_id)
                .order_by(Rating.given_at, Rating.id)
            )
        ).all()
        offered = await s.execute(
            select(ButtonRow.rating_request_id, ButtonRow.payload, ButtonRow.label).where(
                ButtonRow.rating_request_id.in_({r.request_id for r, _ in rows})
            )
        )
        labels = {(asked, payload): label for asked, payload, label in offered}
    return [
        Shown(
            rating,
            labels.get((rating.request_id, f"{PAYLOAD}{rating.value}")) or _default(rating),
            agent,
        )
        for rating, agent in rows
    ]


def _default(rating: Rating) -> str:
    spec = SCALES[Scale(rating.scale)]
    return dict(zip(spec.values, spec.labels, strict=True)).get(rating.value, str(rating.value))
