"""Which local day (in the service's zone) an instant falls on, in SQL, cheaply over many rows.

Ratings carry their local day (``Rating.day``); rating requests only the instant they were
sent. Counting them by local day takes two steps: a cheap key per row to group by, then each
group's key turned into its day (``YYYY-MM-DD`` text):

- PostgreSQL: the key is the day's number within the period, found by ``width_bucket`` among
  the period's local midnights (computed here, so any zone and clock change is right);
- SQLite, zone on whole hours (nearly all): the key is the UTC hour (a prefix of the stored
  text); each hour then gets its day from the zone's offset at that time;
- SQLite, other zones (India's +5:30, say): the day of each row, from its offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, DateTime, bindparam, case, cast, func, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY

from core.models import UTCDateTime
from core.reports.scope import Scope, midnight


@dataclass(frozen=True)
class DayKey:
    key: ColumnElement[object]  # per row: group by this
    day: Callable[[ColumnElement[object]], ColumnElement[str]]  # per group: its local day


def day_key(at: ColumnElement[datetime], scope: Scope, dialect: str) -> DayKey:
    """For instants within ``scope``'s period."""
    period, zone = scope.period, scope.zone
    first, after = period.utc_bounds(zone)
    if dialect == "postgresql":
        edges = [midnight(period.start + timedelta(days=n), zone) for n in range(period.days + 1)]
        found = func.width_bucket(at, bindparam("day_edges", edges, ARRAY(DateTime(timezone=True))))

        def numbered(key: ColumnElement[object]) -> ColumnElement[str]:
            return func.to_char(cast(period.start, Date) + (key - 1), "YYYY-MM-DD")

        return DayKey(found, numbered)
    stretches = _offsets(zone, first, after)
    if all(seconds % 3600 == 0 and _on_the_hour(until) for until, seconds in stretches):
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (core.models.UTCDateTime).
        hour = type_coerce(func.substr(at, 1, 13).concat(":00:00.000000"), UTCDateTime())
        return DayKey(hour, lambda key: _sqlite_day(key, stretches))
    return DayKey(_sqlite_day(at, stretches), lambda key: key)  # type: ignore[arg-type,return-value]


def _on_the_hour(at: datetime) -> bool:
    return at.minute == at.second == at.microsecond == 0


def _sqlite_day(
    at: ColumnElement[object], stretches: list[tuple[datetime, int]]
) -> ColumnElement[str]:
    """SQLite knows no zones: the offset is spelled out for each stretch between clock changes."""
    offset: ColumnElement[int] | int = stretches[-1][1]
    if len(stretches) > 1:
        offset = case(*((at < until, seconds) for until, seconds in stretches[:-1]), else_=offset)
    return func.date(at, func.printf("%+d seconds", offset))


def _offsets(zone: ZoneInfo, first: datetime, after: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset in seconds from ``first`` to ``after``: (until when, offset), in
    order, the last until ``after``."""

    def offset(at: datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    stretches: list[tuple[datetime, int]] = []
    at, current = first, offset(first)
    while at < after:
        step = min(at + timedelta(days=1), after)
        if offset(step) != current:
            low, high = at, step  # the change lies in (low, high]: find it exactly
            while high - low > timedelta(microseconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            stretches.append((high, current))
            current = offset(high)
        at = step
    stretches.append((after, current))
    return stretches
