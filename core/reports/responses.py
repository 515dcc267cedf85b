"""Rating requests sent and answered: the response rate, by agent and over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from core.db import Database
from core.models import RatingRequest
from core.reports.agents import per_agent
from core.reports.localday import day_key
from core.reports.scope import Grain, Scope, grain_key


@dataclass(frozen=True)
class Responses:
    sent: int = 0
    answered: int = 0

    @property
    def rate(self) -> float | None:
        """Answered / sent, 0–1; None when nothing was sent."""
        return self.answered / self.sent if self.sent else None

    @classmethod
    def of(cls, row: Any) -> Responses:
        return cls(int(row.sent or 0), int(row.answered or 0))


@dataclass(frozen=True)
class AgentResponses:
    agent_id: int | None
    name: str | None
    responses: Responses


@dataclass(frozen=True)
class ResponsePoint:
    start: str  # YYYY-MM-DD, the first day of the day, week or month (local)
    responses: Responses


def _columns() -> list[ColumnElement[Any]]:
    return [
        func.count().label("sent"),
        func.count(RatingRequest.answered_at).label("answered"),
    ]


async def by_agent(db: Database, scope: Scope) -> list[AgentResponses]:
    """Per credited agent, by name; requests crediting nobody last (counted, then named)."""
    rows = await per_agent(db, RatingRequest.agent_id, _columns(), scope.requests())
    return [AgentResponses(row.agent_id, row.name, Responses.of(row)) for row in rows]


async def over_time(db: Database, scope: Scope, grain: Grain) -> list[ResponsePoint]:
    """Requests by the local day, week or month they were sent, oldest first: counted by a
    cheap key per row first, the keys then made days (core/reports/localday.py)."""
    found = day_key(RatingRequest.created_at, scope, db.dialect)
    keyed = (
        select(found.key.label("key"), *_columns())
        .where(*scope.requests())
        .group_by(found.key)
        .subquery()
    )
    day = found.day(keyed.c.key)
    daily = select(day.label("day"), *_summed(keyed)).group_by(day).subquery()
    start = grain_key(daily.c.day, grain, db.dialect).label("start")
    query = select(start, *_summed(daily)).group_by(start).order_by(start)
    async with db.reading() as s:
        rows = (await s.execute(query)).all()
    return [ResponsePoint(str(row.start), Responses.of(row)) for row in rows]


def _summed(counted: Any) -> list[ColumnElement[Any]]:
    """``_columns`` again over groups of them."""
    return [
        func.sum(counted.c.sent).label("sent"),
        func.sum(counted.c.answered).label("answered"),
    ]
