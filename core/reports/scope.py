"""What a report looks at: a period of whole days in the service's time zone, optionally one
agent (the one a rating credits) and one inbox; and the SQL conditions that say so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, String, cast, func, select

from core.db import Database
from core.errors import InvalidInput
from core.models import Agent, Inbox, Rating, RatingRequest

MAX_DAYS = 3700  # about ten years: a longer period is a typo


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """When ``day`` begins in ``zone``, in UTC."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"  # from Monday
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise InvalidInput(f"the period starts ({self.start}) after it ends ({self.end})")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidInput(f"the period is longer than {MAX_DAYS} days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as instants: from its first local midnight to the one after its end."""
        after = self.end + timedelta(days=1)
        return midnight(self.start, zone), midnight(after, zone)

    def natural_grain(self) -> Grain:
        """Days for up to two months, weeks up to a year and a half, else months."""
        if self.days <= 62:
            return Grain.DAY
        return Grain.WEEK if self.days <= 550 else Grain.MONTH


@dataclass(frozen=True)
class Scope:
    period: Period
    zone: ZoneInfo
    agent_id: int | None = None
    inbox_id: int | None = None

    def ratings(self) -> list[ColumnElement[bool]]:
        """Ratings given on the period's days (``Rating.day``, local) for the agent and inbox."""
        conditions = [
            Rating.day >= self.period.start.isoformat(),
            Rating.day <= self.period.end.isoformat(),
        ]
        if self.agent_id is not None:
            conditions.append(Rating.agent_id == self.agent_id)
        if self.inbox_id is not None:
            conditions.append(Rating.inbox_id == self.inbox_id)
        return conditions

    def requests(self) -> list[ColumnElement[bool]]:
        """Rating requests sent within the period, for the agent and inbox."""
        first, after = self.period.utc_bounds(self.zone)
        conditions = [RatingRequest.created_at >= first, RatingRequest.created_at < after]
        if self.agent_id is not None:
            conditions.append(RatingRequest.agent_id == self.agent_id)
        if self.inbox_id is not None:
            conditions.append(RatingRequest.inbox_id == self.inbox_id)
        return conditions


async def scope(
    db: Database,
    period: Period,
    zone: ZoneInfo,
    agent_id: int | None = None,
    inbox: str | None = None,
) -> Scope:
    """A scope whose agent and inbox exist: an unknown one is refused as bad input."""
    inbox_id = None
    async with db.reading() as s:
        if agent_id is not None and await s.get(Agent, agent_id) is None:
            raise InvalidInput(f"agent: there is no agent {agent_id}")
        if inbox:
            inbox_id = await s.scalar(select(Inbox.id).where(Inbox.name == inbox))
            if inbox_id is None:
                raise InvalidInput(f"inbox: there is no inbox {inbox[:40]!r}")
    return Scope(period, zone, agent_id, inbox_id)


def grain_key(day: ColumnElement[str], grain: Grain, dialect: str) -> ColumnElement[str]:
    """The day (``YYYY-MM-DD`` text) as the first day of its week or month, still text."""
    if grain == Grain.DAY:
        return day
    if grain == Grain.MONTH:
        return func.substr(day, 1, 7) + "-01"
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("week", cast(day, Date)), "YYYY-MM-DD")
    return cast(func.date(day, "-6 days", "weekday 1"), String)
