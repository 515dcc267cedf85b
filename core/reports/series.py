"""Ratings counted by agent and over time: satisfaction by agent, the average score and NPS
by day, week or month. Each is one GROUP BY query; nothing is counted in Python."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select

from core.db import Database
from core.models import Rating
from core.reports.agents import per_agent
from core.reports.figures import Figures, rating_columns, summed_columns
from core.reports.scope import Grain, Scope, grain_key
from core.scales import Scale


@dataclass(frozen=True)
class AgentFigures:
    agent_id: int | None  # None: ratings that credit nobody (the ticket had no assignee)
    name: str | None
    figures: Figures


@dataclass(frozen=True)
class Point:
    start: str  # the first day of the day, week or month: YYYY-MM-DD
    figures: Figures


async def by_agent(db: Database, scope: Scope) -> list[AgentFigures]:
    """Per credited agent, by name; ratings crediting nobody last. Counted first, named after:
    the join is then per agent, not per rating."""
    rows = await per_agent(db, Rating.agent_id, rating_columns(), scope.ratings())
    return [AgentFigures(row.agent_id, row.name, Figures.of(row)) for row in rows]


async def over_time(
    db: Database, scope: Scope, grain: Grain, scale: Scale | None = None
) -> list[Point]:
    """The ratings' figures per day, week or month with any ratings, oldest first; only those
    on ``scale`` when given (NPS: ``Scale.NPS``, whose positive and negative are promoters and
    detractors).

    Ratings are first counted per day (``Rating.day``, the local day), then the days' counts
    per week or month: the per-row work stays a plain GROUP BY on a column."""
    conditions: list[ColumnElement[bool]] = scope.ratings()
    if scale is not None:
        conditions.append(Rating.scale == scale)
    daily = (
        select(Rating.day.label("day"), *rating_columns())
        .where(*conditions)
        .group_by(Rating.day)
        .subquery()
    )
    start = grain_key(daily.c.day, grain, db.dialect).label("start")
    query = select(start, *summed_columns(daily)).group_by(start).order_by(start)
    async with db.reading() as s:
        rows = (await s.execute(query)).all()
    return [Point(str(row.start), Figures.of(row)) for row in rows]
