"""Working-time arithmetic: hand-computed cases for every convention of core.sla.Calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.sla import Calendar

MOSCOW = ZoneInfo("Europe/Moscow")  # no daylight saving since 2014
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")  # changes at midnight
WORKWEEK = {day: ["09:00-13:00", "14:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = Calendar.from_config(
    {
        "timezone": "Europe/Moscow",
        **WORKWEEK,
        "holidays": ["2027-01-01", "2027-01-07"],
        "workdays": {"2027-11-06": ["09:00-17:00"]},  # a Saturday worked, one hour shorter
    }
)


def always(zone: str) -> Calendar:
    """Every hour of every day: working time is real elapsed time."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return Calendar.from_config({"timezone": zone, **{day: ["00:00-24:00"] for day in days}})


def moscow(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MOSCOW)


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("start", "duration", "deadline"),
    [
        # 2026-11-23 is a Monday.
        (moscow(2026, 11, 23, 10), 2 * H, moscow(2026, 11, 23, 12)),
        (moscow(2026, 11, 23, 12), 2 * H, moscow(2026, 11, 23, 15)),  # the lunch break skipped
        (moscow(2026, 11, 23, 12), 1 * H, moscow(2026, 11, 23, 13)),  # lands on the lunch break
        (moscow(2026, 11, 23, 16), 2 * H, moscow(2026, 11, 23, 18)),  # closing time, not 09:00
        (moscow(2026, 11, 23, 16), 2 * H + timedelta(seconds=1), moscow(2026, 11, 24, 9, 0, 1)),
        (moscow(2026, 11, 27, 17), 2 * H, moscow(2026, 11, 30, 10)),  # Friday into Monday
        (moscow(2026, 11, 28, 3), 1 * H, moscow(2026, 11, 30, 10)),  # a Saturday start
        (moscow(2026, 11, 23, 7), 1 * H, moscow(2026, 11, 23, 10)),  # before opening
        (moscow(2026, 11, 23, 13, 30), timedelta(minutes=30), moscow(2026, 11, 23, 14, 30)),
        (moscow(2026, 12, 31, 17), 2 * H, moscow(2027, 1, 4, 10)),  # over a holiday Friday
        (moscow(2027, 1, 1, 10), 1 * H, moscow(2027, 1, 4, 10)),  # a start on a holiday
        (moscow(2027, 11, 5, 17), 2 * H, moscow(2027, 11, 6, 10)),  # a transferred Saturday
        (moscow(2027, 11, 6, 16), 2 * H, moscow(2027, 11, 8, 10)),  # …which closes at 17:00
        # Three whole weeks of 40 h end on Friday's closing time.
        (moscow(2026, 11, 23, 9), 120 * H, moscow(2026, 12, 11, 18)),
        (
            moscow(2026, 11, 23, 9),
            120 * H + timedelta(microseconds=1),
            moscow(2026, 12, 14, 9) + timedelta(microseconds=1),
        ),
    ],
)
def test_deadlines_by_hand(start: datetime, duration: timedelta, deadline: datetime):
    assert OFFICE.add_working_time(start, duration) == deadline
    assert OFFICE.working_time_between(start, deadline) == duration


def test_a_deadline_after_a_microsecond_more_is_the_next_opening():
    # 2 h + 1 µs from Monday 16:00: the microsecond is worked at Tuesday's opening.
    later = OFFICE.add_working_time(moscow(2026, 11, 23, 16), 2 * H + timedelta(microseconds=1))
    assert later == moscow(2026, 11, 24, 9) + timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("start", "end", "worked"),
    [
        (moscow(2026, 11, 23, 10), moscow(2026, 11, 24, 10), 8 * H),
        (moscow(2026, 11, 23, 12, 30), moscow(2026, 11, 23, 14, 30), 1 * H),  # lunch not counted
        (moscow(2026, 11, 27, 18), moscow(2026, 11, 30, 9), timedelta(0)),  # the weekend
        (moscow(2026, 11, 28, 10), moscow(2026, 11, 28, 12), timedelta(0)),
        # Mon 28 Dec to Mon 11 Jan: 8 + 3×8 (Tue–Thu) + 0 (1 Jan) + 8×3 (4–6 Jan) + 0 (7 Jan) + 8.
        (moscow(2026, 12, 28, 9), moscow(2027, 1, 11, 9), 8 * H * 8),
        # 2027: 261 weekdays less two holidays, and the transferred Saturday's 8 h.
        (moscow(2027, 1, 1), moscow(2028, 1, 1), (261 - 2) * 8 * H + 8 * H),
    ],
)
def test_working_time_by_hand(start: datetime, end: datetime, worked: timedelta):
    assert OFFICE.working_time_between(start, end) == worked
    assert OFFICE.working_time_between(end, start) == -worked


def test_zero_duration_returns_the_start_even_outside_working_hours():
    saturday_night = moscow(2026, 11, 28, 3)
    assert OFFICE.add_working_time(saturday_night, timedelta(0)) is saturday_night
    assert OFFICE.working_time_between(saturday_night, saturday_night) == timedelta(0)


def test_deadlines_keep_the_start_s_time_zone_and_instants_not_wall_times_count():
    start = datetime(2026, 11, 23, 7, tzinfo=UTC)  # 10:00 in Moscow
    deadline = OFFICE.add_working_time(start, 2 * H)
    assert deadline.tzinfo is UTC and deadline == moscow(2026, 11, 23, 12)
    assert OFFICE.working_time_between(moscow(2026, 11, 23, 10), start) == timedelta(0)


def test_naive_datetimes_and_negative_durations_are_refused():
    with pytest.raises(ValueError, match="time-zone-aware"):
        OFFICE.add_working_time(datetime(2026, 11, 23, 10), H)
    with pytest.raises(ValueError, match="time-zone-aware"):
        OFFICE.working_time_between(moscow(2026, 11, 23, 10), datetime(2026, 11, 24))
    with pytest.raises(ValueError, match="zero or more"):
        OFFICE.add_working_time(moscow(2026, 11, 23, 10), -H)


def test_24_00_ends_a_day_and_the_night_goes_on_without_a_break():
    nights = Calendar.from_config(
        {"timezone": "Europe/Moscow", "mon": ["22:00-24:00"], "tue": ["00:00-06:00"]}
    )
    assert nights.add_working_time(moscow(2026, 11, 23, 23), 2 * H) == moscow(2026, 11, 24, 1)
    assert nights.add_working_time(moscow(2026, 11, 23, 23), 7 * H) == moscow(2026, 11, 24, 6)
    assert nights.add_working_time(moscow(2026, 11, 23, 22), 2 * H) == moscow(2026, 11, 24)
    assert nights.working_time_between(moscow(2026, 11, 23, 12), moscow(2026, 11, 24, 12)) == 8 * H
    clock = always("UTC")
    start = datetime(2026, 11, 23, 23, tzinfo=UTC)
    assert clock.add_working_time(start, 2 * H) == datetime(2026, 11, 24, 1, tzinfo=UTC)
    assert clock.add_working_time(start, 24 * 7 * 3 * H) == start + timedelta(weeks=3)


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        (BERLIN, datetime(2027, 3, 28), 23 * H),  # clocks go forward at 02:00
        (BERLIN, datetime(2027, 10, 31), 25 * H),  # and back at 03:00
        (NEW_YORK, datetime(2027, 3, 14), 23 * H),
        (NEW_YORK, datetime(2027, 11, 7), 25 * H),
        (SANTIAGO, datetime(2026, 4, 4), 25 * H),  # 24:00 becomes 23:00 again
        (SANTIAGO, datetime(2026, 9, 6), 23 * H),  # the day starts at 01:00
    ],
)
def test_a_daylight_saving_day_has_its_real_length(zone: ZoneInfo, day: datetime, length):
    clock = always(zone.key)
    midnight, next_midnight = (
        day.replace(tzinfo=zone),
        (day + timedelta(days=1)).replace(tzinfo=zone),
    )
    assert clock.working_time_between(midnight, next_midnight) == length
    assert clock.add_working_time(midnight, length) == next_midnight
    # Across the week around it too, which the weekly arithmetic must not assume is 168 h.
    week_before = midnight - timedelta(days=3)
    assert clock.working_time_between(week_before, next_midnight + timedelta(days=3)) == (
        6 * 24 * H + length
    )


def test_office_hours_across_a_clock_change_are_unchanged():
    office = Calendar.from_config({"timezone": "Europe/Berlin", **WORKWEEK})
    friday = datetime(2027, 3, 26, 17, tzinfo=BERLIN)
    assert office.add_working_time(friday, 2 * H) == datetime(2027, 3, 29, 10, tzinfo=BERLIN)
    assert office.working_time_between(friday, datetime(2027, 4, 2, 18, tzinfo=BERLIN)) == 41 * H


def test_a_shift_over_the_change_counts_real_hours():
    shift = {"timezone": "Europe/Berlin", "sun": ["00:00-06:00"]}
    berlin = Calendar.from_config(shift)
    # Sunday 00:00-06:00 lasts 5 h when the clocks go forward, 7 h when they go back.
    assert (
        berlin.working_time_between(
            datetime(2027, 3, 27, tzinfo=BERLIN), datetime(2027, 3, 29, tzinfo=BERLIN)
        )
        == 5 * H
    )
    assert (
        berlin.working_time_between(
            datetime(2027, 10, 30, tzinfo=BERLIN), datetime(2027, 11, 1, tzinfo=BERLIN)
        )
        == 7 * H
    )
    # Three hours from midnight end at 04:00 (one real hour went missing at 02:00)…
    start = datetime(2027, 3, 28, tzinfo=BERLIN)
    assert berlin.add_working_time(start, 3 * H) == datetime(2027, 3, 28, 4, tzinfo=BERLIN)
    # …and at 02:00 of the second pass when the clocks go back (03:00 summer time, then 02:00).
    back = berlin.add_working_time(datetime(2027, 10, 31, tzinfo=BERLIN), 3 * H)
    assert back == datetime(2027, 10, 31, 2, fold=1, tzinfo=BERLIN)
    assert back.utcoffset() == H


def test_interval_ends_in_a_skipped_or_repeated_hour():
    # New York skips 02:00-03:00 on 14 March 2027 and repeats 01:00-02:00 on 7 November.
    skipped = Calendar.from_config({"timezone": "America/New_York", "sun": ["02:30-04:00"]})
    sunday = datetime(2027, 3, 14, tzinfo=NEW_YORK)
    assert skipped.working_time_between(sunday, sunday + timedelta(days=1)) == H  # 03:00-04:00
    assert skipped.add_working_time(sunday, H / 2) == datetime(2027, 3, 14, 3, 30, tzinfo=NEW_YORK)
    repeated = Calendar.from_config({"timezone": "America/New_York", "sun": ["01:30-02:00"]})
    sunday = datetime(2027, 11, 7, tzinfo=NEW_YORK)
    # From the first 01:30 (summer time) to 02:00 standard time: 1 h 30 min.
    assert repeated.working_time_between(sunday, sunday + timedelta(days=1)) == 1.5 * H


def test_a_country_s_holidays_and_transferred_days_with_the_listed_ones():
    russia = Calendar.from_config(
        {"timezone": "Europe/Moscow", **WORKWEEK, "country": "RU", "holidays": ["2024-11-05"]}
    )
    # Saturday 2 November 2024 was worked instead of Tuesday 30 April; 4 November is Unity Day.
    assert russia.add_working_time(moscow(2024, 11, 1, 17), 2 * H) == moscow(2024, 11, 2, 10)
    assert russia.add_working_time(moscow(2024, 11, 2, 17), 2 * H) == moscow(2024, 11, 6, 10)
    # Saturday 28 December 2024 was worked; 30 December to 8 January were days off.
    assert russia.add_working_time(moscow(2024, 12, 27, 17), 2 * H) == moscow(2024, 12, 28, 10)
    assert russia.add_working_time(moscow(2024, 12, 28, 18), H) == moscow(2025, 1, 9, 10)
    assert russia.add_working_time(moscow(2025, 1, 1, 12), H) == moscow(2025, 1, 9, 10)
    listed = Calendar.from_config(
        {
            "timezone": "Europe/Moscow",
            **WORKWEEK,
            "country": "RU",
            "workdays": {"2025-01-08": ["10:00-12:00"]},  # the listed days win
        }
    )
    assert listed.add_working_time(moscow(2025, 1, 1, 12), H) == moscow(2025, 1, 8, 11)


def test_transferred_days_keep_the_hours_of_the_weekday_named():
    fridays = Calendar.from_config(
        {
            "timezone": "Europe/Moscow",
            **WORKWEEK,
            "fri": ["09:00-16:00"],
            "country": "RU",
            "transferred_like": "fri",
        }
    )
    saturday = moscow(2024, 11, 2)
    assert fridays.working_time_between(saturday, saturday + timedelta(days=1)) == 7 * H


def test_an_evening_ending_at_24_00_through_a_repeated_hour():
    # Santiago's clocks go from 24:00 back to 23:00 on 4 April 2026: 20:00-24:00 lasts 5 h.
    evenings = Calendar.from_config({"timezone": "America/Santiago", "sat": ["20:00-24:00"]})
    saturday = datetime(2026, 4, 4, tzinfo=SANTIAGO)
    assert evenings.working_time_between(saturday, saturday + timedelta(days=2)) == 5 * H
    deadline = evenings.add_working_time(saturday, 5 * H)
    assert deadline == datetime(2026, 4, 5, tzinfo=SANTIAGO) and deadline.utcoffset() == -4 * H
