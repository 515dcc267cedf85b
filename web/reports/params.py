"""A report's query string read strictly: anything malformed is a clear 400, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from multidict import MultiMapping

from core.db import Database
from core.errors import InvalidInput
from core.reports.rated import RatedFilter
from core.reports.scope import Grain, Period, Scope, scope
from core.scales import Bucket, Scale

DEFAULT_DAYS = 30
FIRST_YEAR, LAST_YEAR = 1970, 2999  # beyond, a typo (and date arithmetic would overflow)
_FORMATS = ("html", "csv")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Asked:
    """What every report page is asked: its scope, grain and format."""

    scope: Scope
    grain: Grain
    csv: bool


def _day(query: MultiMapping[str], name: str) -> date | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        found = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        found = None
    if found is None:
        raise InvalidInput(f"{name}: expected a date as YYYY-MM-DD, not {raw[:40]!r}")
    if not FIRST_YEAR <= found.year <= LAST_YEAR:
        raise InvalidInput(f"{name}: expected a year from {FIRST_YEAR} to {LAST_YEAR}, not {raw}")
    return found


def _number(query: MultiMapping[str], name: str, default: int | None = None) -> int | None:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"{name}: expected a whole number, not {raw[:40]!r}")
    return int(raw)


def _choice(query: MultiMapping[str], name: str, kind: type[E]) -> E | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    allowed = [str(v) for v in kind]
    if raw not in allowed:
        raise InvalidInput(f"{name}: expected one of {', '.join(allowed)}, not {raw[:40]!r}")
    return kind(raw)


def period(query: MultiMapping[str], zone: ZoneInfo, now: datetime) -> Period:
    """``from`` and ``to`` (both days included); by default the last 30 days up to today."""
    end = _day(query, "to") or now.astimezone(zone).date()
    return Period(_day(query, "from") or end - timedelta(days=DEFAULT_DAYS - 1), end)


async def asked(db: Database, query: MultiMapping[str], zone: ZoneInfo, now: datetime) -> Asked:
    fmt = query.get("format", "html")
    if fmt not in _FORMATS:
        raise InvalidInput(f"format: expected html or csv, not {fmt[:40]!r}")
    span = period(query, zone, now)
    found = await scope(db, span, zone, _number(query, "agent"), query.get("inbox") or None)
    grain = _choice(query, "by", Grain) or span.natural_grain()
    return Asked(found, grain, fmt == "csv")


def rated_filter(query: MultiMapping[str], within: Scope) -> RatedFilter:
    return RatedFilter(
        within,
        scale=_choice(query, "scale", Scale),
        value=_number(query, "value"),
        bucket=_choice(query, "bucket", Bucket),
        commented=query.get("commented") == "1",
    )


def page_number(query: MultiMapping[str]) -> int:
    number = _number(query, "page", 1) or 0
    if number < 1:
        raise InvalidInput("page: expected a number from 1")
    return number
