"""Real instants as whole microseconds since the Unix epoch, and local wall times mapped onto them.

Integers keep the arithmetic exact: adding then measuring gives back the very duration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)
SECOND = 1_000_000


def to_micros(moment: datetime) -> int:
    """The instant ``moment`` stands for; a naive datetime is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a time-zone-aware datetime, got {moment!r}")
    return (moment - EPOCH) // MICRO


def from_micros(micros: int, zone: tzinfo) -> datetime:
    return (EPOCH + timedelta(microseconds=micros)).astimezone(zone)


def local_ordinal(micros: int, zone: ZoneInfo) -> int:
    """The local date of an instant, as a proleptic Gregorian ordinal."""
    return from_micros(micros, zone).toordinal()


def wall_micros(zone: ZoneInfo, ordinal: int, seconds: int) -> int:
    """The first instant whose local clock shows ``seconds`` after midnight of day ``ordinal``,
    or later: a time a daylight-saving change skips maps to the change itself, a time it repeats
    to its first occurrence. So later wall times never map to earlier instants."""
    wall = datetime.fromordinal(ordinal) + timedelta(seconds=seconds)
    after = to_micros(wall.replace(tzinfo=zone))  # in a gap: read with the old offset, past it
    if from_micros(after, zone).replace(tzinfo=None) == wall:
        return after
    before = to_micros(wall.replace(tzinfo=zone, fold=1))  # in a gap: the new offset, before it
    while after - before > SECOND:  # changes fall on whole seconds: bisect to the change
        middle = (before + after) // 2 // SECOND * SECOND
        if from_micros(middle, zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after
