"""SLA compliance: reaction and resolution deadlines met and missed, per level and per agent,
over the ``sla_targets`` of the tickets registered in a period (``started_at``).

A deadline is met when ``met_at`` is set and it was not breached; missed when breached (met
late, or passed unmet); neither while it is still open. The share met is met / (met +
missed). Averages are of ``worked_seconds`` (working time, pauses left out) over the
deadlines met, late or not. Each figure is one GROUP BY; nothing is counted in Python.

Every query reads ``ix_sla_targets_report`` alone (it holds every column they filter, count
or order the breaches by, the period first). A ticket has one row per target, both with its
start, level and inbox: unless the agent a deadline credits splits them, its reaction row
stands for the ticket, so tickets are a plain sum, not a COUNT(DISTINCT), which sorts every
row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, exists, func, select

from core.db import Database
from core.errors import InvalidInput
from core.models import Agent, Inbox, SlaTarget, Ticket
from core.reports.agents import per_agent
from core.reports.scope import Scope

REACTION, RESOLUTION = "reaction", "resolution"
PAGE_SIZE = 50


@dataclass(frozen=True)
class SlaFilter:
    scope: Scope  # the period bounds ``started_at``; the agent is the one a deadline credits
    level: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        first, after = self.scope.period.utc_bounds(self.scope.zone)
        conditions = [SlaTarget.started_at >= first, SlaTarget.started_at < after]
        if self.scope.agent_id is not None:
            conditions.append(SlaTarget.agent_id == self.scope.agent_id)
        if self.scope.inbox_id is not None:
            conditions.append(SlaTarget.inbox_id == self.scope.inbox_id)
        if self.level is not None:
            conditions.append(SlaTarget.level == self.level)
        return conditions


@dataclass(frozen=True)
class Target:
    met: int = 0
    missed: int = 0
    average: float | None = None  # seconds of working time, over the deadlines met

    @property
    def share(self) -> float | None:
        """Met / decided (met or missed), 0–1; None while none is decided."""
        decided = self.met + self.missed
        return self.met / decided if decided else None


@dataclass(frozen=True)
class Compliance:
    tickets: int = 0
    reaction: Target = Target()
    resolution: Target = Target()

    @classmethod
    def of(cls, row: Any) -> Compliance:
        def target(name: str) -> Target:
            average = row._mapping[f"{name}_avg"]
            return Target(
                int(row._mapping[f"{name}_met"] or 0),
                int(row._mapping[f"{name}_missed"] or 0),
                None if average is None else float(average),
            )

        return cls(int(row.tickets or 0), target(REACTION), target(RESOLUTION))


@dataclass(frozen=True)
class Group:
    key: str | int | None  # the level's name, or the agent's id (None: credited to nobody)
    name: str | None
    figures: Compliance


def _counted(target: str, *when: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((and_(SlaTarget.target == target, *when), 1), else_=0))


def _columns(by_agent: bool) -> list[ColumnElement[Any]]:
    """The figures; ``by_agent``: the rows are grouped or filtered by the agent credited, so
    a ticket's two rows may fall apart and its tickets are counted distinct."""
    met = SlaTarget.met_at.is_not(None)
    tickets = func.count(distinct(SlaTarget.ticket_id)) if by_agent else _counted(REACTION)
    columns: list[ColumnElement[Any]] = [tickets.label("tickets")]
    for target in (REACTION, RESOLUTION):
        worked = case((and_(SlaTarget.target == target, met), SlaTarget.worked_seconds), else_=None)
        columns += [
            _counted(target, met, SlaTarget.breached.is_(False)).label(f"{target}_met"),
            _counted(target, SlaTarget.breached.is_(True)).label(f"{target}_missed"),
            func.avg(worked).label(f"{target}_avg"),
        ]
    return columns


async def total(db: Database, f: SlaFilter) -> Compliance:
    """Everything the filter holds (tickets counted once, whoever each deadline credits)."""
    async with db.reading() as s:
        columns = _columns(f.scope.agent_id is not None)
        row = (await s.execute(select(*columns).where(*f.conditions()))).one()
    return Compliance.of(row)


async def by_level(db: Database, f: SlaFilter) -> list[Group]:
    """Per level, by name."""
    query = (
        select(SlaTarget.level.label("key"), *_columns(f.scope.agent_id is not None))
        .where(*f.conditions())
        .group_by(SlaTarget.level)
        .order_by(SlaTarget.level)
    )
    async with db.reading() as s:
        rows = (await s.execute(query)).all()
    return [Group(row.key, row.key, Compliance.of(row)) for row in rows]


async def by_agent(db: Database, f: SlaFilter) -> list[Group]:
    """Per credited agent, by name; deadlines crediting nobody last. A ticket counts for each
    agent one of its deadlines credits."""
    rows = await per_agent(db, SlaTarget.agent_id, _columns(True), f.conditions())
    return [Group(row.agent_id, row.name, Compliance.of(row)) for row in rows]


@dataclass(frozen=True)
class Breach:
    ticket_number: int
    subject: str
    level: str
    target: str
    inbox: str
    agent: str | None
    started_at: datetime
    due_at: datetime
    met_at: datetime | None  # None: passed unmet


@dataclass(frozen=True)
class BreachPage:
    rows: list[Breach]
    total: int
    page: int
    pages: int


async def breaches(db: Database, f: SlaFilter, number: int = 1) -> BreachPage:
    """The breached deadlines, the latest due first, page ``number`` (from 1)."""
    conditions = [*f.conditions(), SlaTarget.breached.is_(True)]
    query = (
        select(
            Ticket.number.label("ticket_number"),
            Ticket.subject,
            SlaTarget.level,
            SlaTarget.target,
            Inbox.name.label("inbox"),
            Agent.name.label("agent"),
            SlaTarget.started_at,
            SlaTarget.due_at,
            SlaTarget.met_at,
        )
        .join(Ticket, Ticket.id == SlaTarget.ticket_id)
        .join(Inbox, Inbox.id == SlaTarget.inbox_id)
        .outerjoin(Agent, Agent.id == SlaTarget.agent_id)
        .where(*conditions)
        .order_by(SlaTarget.due_at.desc(), SlaTarget.id.desc())
    )
    async with db.reading() as s:
        found = await s.scalar(select(func.count()).select_from(SlaTarget).where(*conditions))
        pages = max(1, math.ceil((found or 0) / PAGE_SIZE))
        if number > pages:
            raise InvalidInput(f"page {number} does not exist: there are {pages}")
        rows = (await s.execute(query.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))).all()
    return BreachPage([Breach(**row._asdict()) for row in rows], found or 0, number, pages)


async def known_level(db: Database, level: str | None, configured: list[str]) -> str | None:
    """A level filter: a configured level or one some deadline was given; else refused."""
    if not level:
        return None
    if level in configured:
        return level
    async with db.reading() as s:
        if await s.scalar(select(exists().where(SlaTarget.level == level))):
            return level
    raise InvalidInput(f"level: there is no level {level[:40]!r}")
