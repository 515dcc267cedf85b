"""Properties of working-time arithmetic over random instants and durations (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.sla import Calendar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
CALENDARS = {
    "office with lunch and holidays": Calendar.from_config(
        {
            "timezone": "Europe/Moscow",
            **{day: ["09:00-13:00", "14:00-18:00"] for day in WEEKDAYS},
            "holidays": ["2026-01-01", "2026-01-02", "2026-05-01", "2027-01-01"],
            "workdays": {"2026-10-31": ["10:00-15:00"]},
        }
    ),
    "Russia's production calendar": Calendar.from_config(
        {"timezone": "Europe/Moscow", **{day: ["09:00-18:00"] for day in WEEKDAYS}, "country": "RU"}
    ),
    "nights over Berlin's clock changes": Calendar.from_config(
        {"timezone": "Europe/Berlin", "sat": ["20:00-24:00"], "sun": ["00:00-04:00", "22:00-24:00"]}
    ),
    "New York around the clock": Calendar.from_config(
        {
            "timezone": "America/New_York",
            **{day: ["00:00-24:00"] for day in (*WEEKDAYS, "sat", "sun")},
        }
    ),
    "Santiago's evenings, its clocks changing at midnight": Calendar.from_config(
        {"timezone": "America/Santiago", **{day: ["20:00-24:00"] for day in ("sat", "sun")}}
    ),
}

calendars = st.sampled_from(list(CALENDARS.values()))
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=400 * 3600 * 10**6).map(
    lambda micros: timedelta(microseconds=micros)
)
MICRO = timedelta(microseconds=1)
# No deadline (timing belongs in bench/) and no example database left in the checkout.
CHECKS = settings(max_examples=300, deadline=None, database=None)


@CHECKS
@given(calendars, instants, durations)
def test_adding_then_measuring_gives_the_duration_back(
    calendar: Calendar, start: datetime, duration: timedelta
):
    deadline = calendar.add_working_time(start, duration)
    assert deadline >= start
    assert calendar.working_time_between(start, deadline) == duration
    if duration:  # the earliest such instant: a microsecond before, it is not yet done
        assert calendar.working_time_between(start, deadline - MICRO) < duration


@CHECKS
@given(calendars, instants, instants, instants)
def test_measuring_is_additive_over_a_split_point(
    calendar: Calendar, a: datetime, b: datetime, c: datetime
):
    between = calendar.working_time_between
    assert between(a, c) == between(a, b) + between(b, c)


@CHECKS
@given(calendars, instants, instants)
def test_measuring_is_antisymmetric_and_never_more_than_elapsed(
    calendar: Calendar, a: datetime, b: datetime
):
    worked = calendar.working_time_between(a, b)
    assert calendar.working_time_between(b, a) == -worked
    assert abs(worked) <= abs(b - a)
    assert (worked >= timedelta(0)) == (b >= a) or worked == timedelta(0)


@CHECKS
@given(calendars, instants, durations, durations)
def test_adding_is_monotonic_in_the_duration(
    calendar: Calendar, start: datetime, one: timedelta, other: timedelta
):
    shorter, longer = sorted((one, other))
    assert calendar.add_working_time(start, shorter) <= calendar.add_working_time(start, longer)


@CHECKS
@given(calendars, instants, durations, durations)
def test_adding_in_two_steps_is_adding_once(
    calendar: Calendar, start: datetime, first: timedelta, second: timedelta
):
    # Holds once the first step has landed in working time (a zero step may stay outside).
    halfway = calendar.add_working_time(start, first + MICRO)
    once = calendar.add_working_time(start, first + MICRO + second)
    assert calendar.add_working_time(halfway, second) == once


@CHECKS
@given(calendars, instants, durations)
def test_the_closed_form_day_search_agrees_with_plain_bisection(
    calendar: Calendar, start: datetime, duration: timedelta
):
    # The fast path (weekly pattern in closed form, corrected for exceptions) against the
    # plain one it falls back to.
    first = start.astimezone(calendar.timezone).toordinal()
    goal = duration // MICRO + 1
    assert calendar._day_reaching(first, goal) == calendar._bisect_reaching(first, goal)
