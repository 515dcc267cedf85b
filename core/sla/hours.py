"""Working hours as config.toml writes them: ``"09:00-13:00"`` intervals, weekday keys, dates.

Hours of a day are ``(start, end)`` pairs of seconds after local midnight, sorted and
disjoint; ``"24:00"`` (86,400) may end an interval, so a day can run on into the next one.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from core.rules.problems import Invalid, shown

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 86_400

Hours = tuple[tuple[int, int], ...]

_INTERVAL = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def parse_hours(raw: Any, *path: str | int) -> Hours:
    """A list of intervals ``["09:00-13:00", "14:00-18:00"]``; ``[]`` is a day off."""
    if not isinstance(raw, list):
        raise Invalid(
            f'expected a list of intervals like ["09:00-13:00", "14:00-18:00"], got {shown(raw)}',
            *path,
        )
    spans = sorted((*_interval(item, *path, i), i) for i, item in enumerate(raw))
    for (_, end, first), (start, _, second) in pairwise(spans):
        if start < end:
            raise Invalid(f"{shown(raw[second])} overlaps {shown(raw[first])}", *path, second)
    return tuple((start, end) for start, end, _ in spans)


def _interval(raw: Any, *path: str | int) -> tuple[int, int]:
    match = _INTERVAL.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise Invalid(
            f'expected an interval "HH:MM-HH:MM" like "09:00-18:00", got {shown(raw)}', *path
        )
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise Invalid(
            f'expected times from 00:00 to 23:59 ("24:00" only as an end), got {shown(raw)}',
            *path,
        )
    start, end = start_h * 3600 + start_m * 60, end_h * 3600 + end_m * 60
    if end <= start:
        raise Invalid(
            f"reversed or empty interval {shown(raw)}: the end must come after the start", *path
        )
    return start, end


def parse_date(raw: Any, *path: str | int) -> date:
    """A date as TOML writes it (``2027-01-07``) or as text (``"2027-01-07"``)."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and _DATE.match(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise Invalid(f'expected a date "YYYY-MM-DD" like "2027-01-07", got {shown(raw)}', *path)


def seconds(hours: Hours) -> int:
    """How long the intervals last on the wall clock."""
    return sum(end - start for start, end in hours)
