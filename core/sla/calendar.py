"""A business calendar and working-time arithmetic on real instants.

Working time is counted on a cumulative scale: C(n), the working microseconds of every day
before day n (a date ordinal), is the weekly pattern times whole weeks, plus the part-week
from a prefix table, plus the sum of the exceptions' effects (a holiday, a transferred or
shortened working day, a day whose hours a daylight-saving change lengthens or shortens) —
kept per year as sorted ordinals with prefix sums, so a span of any length costs a few
bisections. Only the edge days are walked interval by interval.

Conventions: ``add_working_time(start, d)`` is the earliest instant t ≥ start with
``working_time_between(start, t) == d`` (a deadline landing on a closing time is that
closing time; zero returns ``start``); ``working_time_between(a, b)`` is
``-working_time_between(b, a)``; time outside working hours does not count, so a start
outside them counts from the next opening.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from core.sla.country import country_days
from core.sla.hours import Hours, seconds
from core.sla.instants import SECOND, from_micros, local_ordinal, to_micros, wall_micros
from core.sla.spec import CalendarSpec, read_spec

_LAST_DAY = date.max.toordinal() - 1
_DAYS_KEPT = 4096  # converted days cached; enough for the days tickets are live on


@dataclass(frozen=True)
class _Year:
    """The exceptions of one year: ordinals and prefix sums of their effect in microseconds."""

    ordinals: tuple[int, ...]
    prefix: tuple[int, ...]

    def effect(self, first: int, stop: int) -> int:
        """The exceptions' summed effect on days ``first`` up to ``stop`` (excluded)."""
        return (
            self.prefix[bisect_left(self.ordinals, stop)]
            - self.prefix[bisect_left(self.ordinals, first)]
        )


class Calendar:
    """Working hours in a time zone; immutable in meaning (it memoizes converted days)."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self._zone = ZoneInfo(spec.timezone)
        usual = [seconds(hours) * SECOND for hours in spec.week]
        self._before_weekday = (0, *accumulate(usual))  # working time before each weekday
        self._usual = tuple(usual)
        self._years: dict[int, _Year] = {}
        self._country: dict[int, Mapping[int, Hours]] = {}
        self._days: dict[int, tuple[int, tuple[tuple[int, int], ...]]] = {}

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> Calendar:
        """A ``[calendars.<name>]`` table; raises ``Invalid`` naming the key at fault."""
        return cls(read_spec(raw))

    @property
    def timezone(self) -> ZoneInfo:
        return self._zone

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from ``start`` to ``end``; negative when ``end`` is earlier."""
        first, first_done = self._position(to_micros(start))
        last, last_done = self._position(to_micros(end))
        return timedelta(microseconds=self._span(first, last) + last_done - first_done)

    def is_working(self, moment: datetime) -> bool:
        """Whether ``moment`` is inside working hours (an interval's start is, its end not)."""
        micros = to_micros(moment)
        day, _ = self._position(micros)
        return any(opens <= micros < closes for opens, closes in self._day(day)[1])

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at or after ``start`` with ``duration`` of working time
        between them, in ``start``'s time zone."""
        if duration < timedelta(0):
            raise ValueError(f"expected a duration of zero or more, got {duration}")
        if not duration:
            return start
        first, done = self._position(to_micros(start))
        goal = done + duration // timedelta(microseconds=1)  # counted from day `first`'s start
        day, before = self._day_reaching(first, goal)
        left = goal - before
        for opens, closes in self._day(day)[1]:
            if left <= closes - opens:
                return from_micros(opens + left, start.tzinfo or self._zone)
            left -= closes - opens
        raise AssertionError("the day found holds the rest of the duration")  # pragma: no cover

    # The cumulative scale.

    def _span(self, first: int, last: int) -> int:
        """Working microseconds of days ``first`` up to ``last`` (excluded); negative when
        ``last`` comes first."""
        if last < first:
            return -self._span(last, first)
        return self._usual_before(last) - self._usual_before(first) + self._effect(first, last)

    def _usual_before(self, ordinal: int) -> int:
        """The weekly pattern's working time before day ``ordinal`` (from day 1, a Monday)."""
        weeks, weekday = divmod(ordinal - 1, 7)
        return weeks * self._before_weekday[7] + self._before_weekday[weekday]

    def _effect(self, first: int, stop: int) -> int:
        if stop <= first:
            return 0
        total = 0
        for year in range(date.fromordinal(first).year, date.fromordinal(stop - 1).year + 1):
            total += self._year(year).effect(first, stop)
        return total

    def _day_reaching(self, first: int, goal: int) -> tuple[int, int]:
        """The first day from ``first`` by whose end ``goal`` working microseconds (counted
        from the start of day ``first``) are done, and those done before it.

        The weekly pattern gives the day in closed form; the exceptions met up to it move
        the goal, and the day is found again (once or twice: the exceptions are few). A
        guess that does not settle falls back to bisection."""
        day = self._usual_reaching(first, goal)
        for _ in range(3):
            done = self._span(first, day + 1)
            before = done - sum(closes - opens for opens, closes in self._day(day)[1])
            if before < goal <= done:
                return day, before
            usual = self._usual_before(day + 1) - self._usual_before(first)
            day = self._usual_reaching(first, goal - (done - usual))
        return self._bisect_reaching(first, goal)

    def _usual_reaching(self, first: int, goal: int) -> int:
        """The first day from ``first`` by whose end the weekly pattern alone has ``goal``."""
        weeks, rest = divmod(self._usual_before(first) + goal, self._before_weekday[7])
        if rest == 0:  # the days off at the end of a week add nothing: stop before them
            weeks, rest = weeks - 1, self._before_weekday[7]
        return max(first, 7 * weeks + bisect_left(self._before_weekday, rest))

    def _bisect_reaching(self, first: int, goal: int) -> tuple[int, int]:
        low = first
        width = 7 * (goal // self._before_weekday[7] + 2)
        while self._span(first, min(first + width, _LAST_DAY) + 1) < goal:
            if first + width >= _LAST_DAY:
                raise OverflowError("the duration runs past the last date there is")
            low, width = first + width, width * 2
        high = min(first + width, _LAST_DAY)
        while low < high:
            middle = (low + high) // 2
            if self._span(first, middle + 1) >= goal:
                high = middle
            else:
                low = middle + 1
        return low, self._span(first, low)

    def _position(self, micros: int) -> tuple[int, int]:
        """The day an instant falls on, and the working microseconds of that day before it."""
        day = local_ordinal(micros, self._zone)
        if micros >= self._day(day + 1)[0]:  # a repeated hour after midnight belongs to day+1
            day += 1
        done = sum(
            min(micros, closes) - opens for opens, closes in self._day(day)[1] if micros > opens
        )
        return day, done

    # Days and years.

    def _hours(self, ordinal: int) -> Hours:
        day = date.fromordinal(ordinal)
        if day in self.spec.days:
            return self.spec.days[day]
        if self.spec.country and (hours := self._country_year(day.year).get(ordinal)) is not None:
            return hours
        return self.spec.week[day.weekday()]

    def _country_year(self, year: int) -> Mapping[int, Hours]:
        if year not in self._country:
            self._country[year] = {
                day.toordinal(): hours
                for day, hours in country_days(
                    self.spec.country, year, self.spec.transferred
                ).items()
            }
        return self._country[year]

    def _day(self, ordinal: int) -> tuple[int, tuple[tuple[int, int], ...]]:
        """A day's first instant and its working intervals as instants."""
        if (known := self._days.get(ordinal)) is None:
            if len(self._days) >= _DAYS_KEPT:
                self._days.clear()
            zone = self._zone
            intervals = tuple(
                (wall_micros(zone, ordinal, opens), wall_micros(zone, ordinal, closes))
                for opens, closes in self._hours(ordinal)
            )
            known = self._days[ordinal] = (wall_micros(zone, ordinal, 0), intervals)
        return known

    def _year(self, year: int) -> _Year:
        if (known := self._years.get(year)) is None:
            known = self._years[year] = self._exceptions(year)
        return known

    def _exceptions(self, year: int) -> _Year:
        """Every day of ``year`` whose real working time differs from its weekday's."""
        first, stop = date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()
        candidates = {d.toordinal() for d in self.spec.days if d.year == year}
        if self.spec.country:
            candidates.update(self._country_year(year))
        candidates.update(self._clock_changes(first, stop))
        ordinals, effects = [], []
        for ordinal in sorted(candidates):
            real = sum(closes - opens for opens, closes in self._day(ordinal)[1])
            if effect := real - self._usual[(ordinal - 1) % 7]:
                ordinals.append(ordinal)
                effects.append(effect)
        return _Year(tuple(ordinals), (0, *accumulate(effects)))

    def _clock_changes(self, first: int, stop: int) -> set[int]:
        """Days from ``first`` to ``stop`` (excluded) on which the UTC offset changes."""
        zone, found = self._zone, set()
        offset = datetime.fromordinal(first).replace(tzinfo=zone).utcoffset()
        for ordinal in range(first + 1, stop + 1):
            following = datetime.fromordinal(ordinal).replace(tzinfo=zone).utcoffset()
            if following != offset:
                found.update((ordinal - 1, ordinal))  # the change may fall at either midnight
                offset = following
        return {ordinal for ordinal in found if first <= ordinal < stop}
