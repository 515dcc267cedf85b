"""A calendar as ``[calendars.<name>]`` writes it, checked key by key.

timezone = "Europe/Moscow"             # required: an IANA time zone
mon = ["09:00-13:00", "14:00-18:00"]   # … tue wed thu fri sat sun; a missing day is off
holidays = ["2027-01-01"]              # days off
country = "RU"                         # optional: that country's holidays and transfers
transferred_like = "mon"               # whose hours a country's worked weekend day keeps
[calendars.<name>.workdays]            # working days with their own hours
"2027-11-06" = ["09:00-17:00"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.rules.problems import Invalid, shown
from core.sla.country import countries
from core.sla.hours import WEEKDAYS, Hours, parse_date, parse_hours

_KEYS = ("timezone", *WEEKDAYS, "holidays", "workdays", "country", "transferred_like")


@dataclass(frozen=True)
class CalendarSpec:
    """A calendar's settings, valid: the weekly hours (Monday first) and the listed days'."""

    timezone: str
    week: tuple[Hours, ...]
    days: Mapping[date, Hours]  # holidays (no hours) and listed working days
    country: str | None = None
    transferred: Hours = ()


def read_spec(raw: Any) -> CalendarSpec:
    """Check a calendar table; raise ``Invalid`` with the key path at the first fault."""
    if not isinstance(raw, Mapping):
        raise Invalid(f"expected a table, got {shown(raw)}")
    for key in raw:
        if key not in _KEYS:
            raise Invalid(f"unknown key; expected one of: {', '.join(_KEYS)}", key)
    timezone = _zone(raw.get("timezone"))
    week = tuple(parse_hours(raw.get(day, []), day) for day in WEEKDAYS)
    if not any(week):
        raise Invalid("expected working hours on at least one weekday (mon … sun)")
    days = _holidays(raw.get("holidays", []))
    workdays = raw.get("workdays", {})
    if not isinstance(workdays, Mapping):
        raise Invalid(
            f'expected a table of "YYYY-MM-DD" = [intervals], got {shown(workdays)}', "workdays"
        )
    for key, hours in workdays.items():
        day = parse_date(key, "workdays", key)
        if day in days:
            raise Invalid(f"{day} is listed as a holiday too", "workdays", key)
        days[day] = parse_hours(hours, "workdays", key)
    country = _country(raw.get("country"))
    transferred = _transferred(raw.get("transferred_like"), week, country)
    return CalendarSpec(timezone, week, days, country, transferred)


def _zone(name: Any) -> str:
    if name is None:
        raise Invalid('required: an IANA time zone such as "Europe/Moscow"', "timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise Invalid(
            f'expected an IANA time zone such as "Europe/Moscow", got {shown(name)}', "timezone"
        ) from None
    return name


def _holidays(raw: Any) -> dict[date, Hours]:
    if not isinstance(raw, list):
        raise Invalid(f'expected a list of dates like ["2027-01-01"], got {shown(raw)}', "holidays")
    days: dict[date, Hours] = {}
    for i, item in enumerate(raw):
        days[parse_date(item, "holidays", i)] = ()
    return days


def _country(code: Any) -> str | None:
    if code is not None and code not in countries():
        raise Invalid(
            f"unknown country {shown(code)}; expected a code the holidays package knows,"
            ' such as "RU", "DE" or "US"',
            "country",
        )
    return code


def _transferred(weekday: Any, week: tuple[Hours, ...], country: str | None) -> Hours:
    """The hours a country's transferred working day keeps: those of ``weekday``, else of the
    first weekday with hours (Monday's, in an office)."""
    if country is None:
        if weekday is not None:
            raise Invalid(
                "only with country: it gives a country's transferred days their hours",
                "transferred_like",
            )
        return ()
    if weekday is None:
        return next(hours for hours in week if hours)
    if weekday not in WEEKDAYS:
        raise Invalid(
            f"expected one of {', '.join(WEEKDAYS)}, got {shown(weekday)}", "transferred_like"
        )
    if not (hours := week[WEEKDAYS.index(weekday)]):
        raise Invalid(
            f"{weekday} has no working hours; name the weekday whose hours a transferred"
            " working day keeps",
            "transferred_like",
        )
    return hours
