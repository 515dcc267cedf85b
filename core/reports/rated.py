"""The ratings themselves with their tickets, newest first: a page at a time with the number
of pages, or all of them as a stream for export."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from core.db import Database
from core.errors import InvalidInput
from core.models import Agent, Inbox, Rating, Ticket
from core.reports.scope import Scope
from core.scales import SCALES, Bucket, Scale

PAGE_SIZE = 50
EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class RatedFilter:
    scope: Scope
    scale: Scale | None = None
    value: int | None = None  # on ``scale`` when given, else on any scale that has it
    bucket: Bucket | None = None
    commented: bool = False  # only ratings with a comment

    def __post_init__(self) -> None:
        if self.value is None:
            return
        scales = [self.scale] if self.scale else list(Scale)
        if not any(self.value in SCALES[s].values for s in scales):
            where = f"the {self.scale} scale" if self.scale else "any scale"
            raise InvalidInput(f"value: {self.value} is not on {where}")

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = self.scope.ratings()
        if self.scale is not None:
            conditions.append(Rating.scale == self.scale)
        if self.value is not None:
            conditions.append(Rating.value == self.value)
        if self.bucket is not None:
            conditions.append(Rating.bucket == self.bucket)
        if self.commented:
            conditions.append(Rating.comment.is_not(None))
        return conditions


@dataclass(frozen=True)
class Rated:
    rating_id: int
    ticket_number: int
    subject: str
    inbox: str
    agent: str | None
    day: str
    given_at: datetime
    scale: str
    value: int
    score: int
    bucket: str
    comment: str | None


@dataclass(frozen=True)
class RatedPage:
    rows: list[Rated]
    total: int
    page: int
    pages: int = field(default=1)


def _query(f: RatedFilter) -> Select[Any]:
    return (
        select(
            Rating.id.label("rating_id"),
            Ticket.number.label("ticket_number"),
            Ticket.subject,
            Inbox.name.label("inbox"),
            Agent.name.label("agent"),
            Rating.day,
            Rating.given_at,
            Rating.scale,
            Rating.value,
            Rating.score,
            Rating.bucket,
            Rating.comment,
        )
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .join(Inbox, Inbox.id == Rating.inbox_id)
        .outerjoin(Agent, Agent.id == Rating.agent_id)
        .where(*f.conditions())
        # Newest first, in the order of ix_ratings_report (day is given_at's local date).
        .order_by(Rating.day.desc(), Rating.given_at.desc(), Rating.id.desc())
    )


async def page(db: Database, f: RatedFilter, number: int = 1, size: int = PAGE_SIZE) -> RatedPage:
    """Page ``number`` (from 1); a page past the last is refused (page 1 may be empty)."""
    if number < 1:
        raise InvalidInput(f"page: expected a number from 1, not {number}")
    async with db.reading() as s:
        total = await s.scalar(select(func.count()).select_from(Rating).where(*f.conditions())) or 0
        pages = max(1, math.ceil(total / size))
        if number > pages:
            raise InvalidInput(f"page {number} does not exist: there are {pages}")
        rows = (await s.execute(_query(f).limit(size).offset((number - 1) * size))).all()
    return RatedPage([Rated(**row._asdict()) for row in rows], total, number, pages)


async def every(db: Database, f: RatedFilter) -> AsyncIterator[list[Rated]]:
    """All matching ratings, newest first, in chunks: for export, never all in memory."""
    async with db.reading() as s:
        result = await s.stream(_query(f).execution_options(yield_per=EXPORT_CHUNK))
        async for chunk in result.partitions(EXPORT_CHUNK):
            yield [Rated(**row._asdict()) for row in chunk]
