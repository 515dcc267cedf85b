"""SLA deadlines: how many a second core.sla computes, beside the businesstimedelta package.

Run from the repository root: ``python bench/sla.py [--pairs N] [--seed S]``.

The calendar: Europe/Moscow (no daylight saving, so both libraries read local times the
same), Monday to Friday 09:00-13:00 and 14:00-18:00 (a lunch break), and Russia's public
holidays of 2026 and 2027 from the ``holidays`` package (listed to core.sla; the same dates,
as a frozenset, its fastest form, to businesstimedelta's HolidayRule). N random pairs
(100,000 by default; businesstimedelta takes minutes): a start uniform over 2026 (any
second, nights and weekends too) and a duration of 1 s to 80 h of working time (two weeks).
Each library computes every deadline in the same run: ``Calendar.add_working_time`` and
``start + BusinessTimeDelta(rule, timedelta=d)``.

Both take a deadline to be the earliest instant by which the duration is worked and count
from the next opening when a start is outside working hours; they differ for a zero duration
(businesstimedelta returns the next opening, core.sla the start), so zero is not drawn and
every pair is compared. Prints both rates and their ratio; exits 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import holidays
import pytz
from businesstimedelta import BusinessTimeDelta, HolidayRule, LunchTimeRule, Rules, WorkDayRule

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.sla import Calendar

ZONE = "Europe/Moscow"
YEARS = (2026, 2027)
MAX_DURATION = 80 * 3600  # seconds of working time

Pair = tuple[datetime, timedelta]


def pairs(count: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    year = int((datetime(2027, 1, 1, tzinfo=UTC) - first).total_seconds())
    return [
        (
            first + timedelta(seconds=rng.randrange(year)),
            timedelta(seconds=rng.randint(1, MAX_DURATION)),
        )
        for _ in range(count)
    ]


def ours(days_off: holidays.HolidayBase) -> Callable[[Pair], datetime]:
    week = {day: ["09:00-13:00", "14:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    listed = [day.isoformat() for day in sorted(days_off)]
    calendar = Calendar.from_config({"timezone": ZONE, **week, "holidays": listed})
    return lambda pair: calendar.add_working_time(*pair)


def theirs(days_off: holidays.HolidayBase) -> Callable[[Pair], datetime]:
    zone = pytz.timezone(ZONE)
    rule = Rules(
        [
            WorkDayRule(
                start_time=datetime.min.time().replace(hour=9),
                end_time=datetime.min.time().replace(hour=18),
                working_days=[0, 1, 2, 3, 4],
                tz=zone,
            ),
            LunchTimeRule(
                start_time=datetime.min.time().replace(hour=13),
                end_time=datetime.min.time().replace(hour=14),
                working_days=[0, 1, 2, 3, 4],
                tz=zone,
            ),
            HolidayRule(frozenset(days_off), tz=zone),  # a set: far faster than the object
        ]
    )
    return lambda pair: pair[0] + BusinessTimeDelta(rule, timedelta=pair[1])


def timed(compute: Callable[[Pair], datetime], work: list[Pair]) -> tuple[list[datetime], float]:
    started = time.perf_counter()
    deadlines = [compute(pair) for pair in work]
    return deadlines, time.perf_counter() - started


def main(count: int, seed: int) -> int:
    days_off = holidays.country_holidays("RU", years=YEARS)
    work = pairs(count, seed)
    print(
        f"{count} deadlines, {ZONE}, Mon-Fri 09-13 + 14-18, {len(days_off)} holidays "
        f"({YEARS[0]}-{YEARS[-1]}), durations 1 s-{MAX_DURATION // 3600} h, seed {seed}"
    )
    mine, mine_seconds = timed(ours(days_off), work)
    print(f"  core.sla           {count / mine_seconds:12,.0f} deadlines/s  ({mine_seconds:.2f} s)")
    other, other_seconds = timed(theirs(days_off), work)
    print(
        f"  businesstimedelta  {count / other_seconds:12,.0f} deadlines/s  ({other_seconds:.2f} s)"
    )
    print(f"  ratio              {other_seconds / mine_seconds:12.1f}x")
    differing = [(pair, a, b) for pair, a, b in zip(work, mine, other, strict=True) if a != b]
    print(f"  compared {count} pairs (every duration above zero): {len(differing)} disagree")
    for (start, duration), a, b in differing[:10]:
        print(
            f"    {start.isoformat()} + {duration}: core.sla {a.isoformat()}, other {b.isoformat()}"
        )
    return 1 if differing else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sys.exit(main(args.pairs, args.seed))
