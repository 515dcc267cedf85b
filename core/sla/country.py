"""A country's public holidays and transferred working days, from the ``holidays`` package.

Its data is computed, not fetched: no I/O. Russia's production calendar, for instance,
comes as public holidays (with the days off moved onto weekdays) plus ``weekend_workdays``,
the Saturdays and Sundays worked instead.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays

from core.sla.hours import Hours


@cache
def countries() -> frozenset[str]:
    """The country codes the installed ``holidays`` package knows."""
    return frozenset(holidays.list_supported_countries())


def country_days(country: str, year: int, transferred: Hours) -> dict[date, Hours]:
    """The days of ``year`` that differ from the week in ``country``: each public holiday
    with no hours, each transferred working day with ``transferred`` hours."""
    # A working day may be transferred from a neighbouring year's holiday: ask for those too.
    known = holidays.country_holidays(country, years=range(year - 1, year + 2))
    days: dict[date, Hours] = {day: () for day in known if day.year == year}
    days.update({day: transferred for day in known.weekend_workdays if day.year == year})
    return days
