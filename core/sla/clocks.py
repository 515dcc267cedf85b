"""The arithmetic of a stored deadline: when to warn, how far a pause moves it, how much
working time it took. Pure: values in, values out.

Working time is kept in whole seconds (``paused_seconds``, ``worked_seconds``), and a pause
moves the deadline by exactly the whole seconds it adds, so the two always agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.sla.calendar import Calendar

SECOND = timedelta(seconds=1)


def whole_seconds(span: timedelta) -> int:
    """A span's whole seconds, never below zero."""
    return max(span // SECOND, 0)


def warning_at(
    calendar: Calendar, started: datetime, due: datetime, lead: timedelta
) -> datetime | None:
    """The instant that leaves ``lead`` of working time before ``due``; None when the whole
    span from ``started`` to ``due`` is not longer than ``lead`` (nothing to warn ahead of)."""
    span = calendar.working_time_between(started, due)
    if span <= lead:
        return None
    return calendar.add_working_time(started, span - lead)


def pause_seconds(calendar: Calendar, since: datetime, until: datetime) -> int:
    """The working time a pause from ``since`` to ``until`` took, in whole seconds."""
    return whole_seconds(calendar.working_time_between(since, until))


def moved(calendar: Calendar, due: datetime, seconds: int) -> datetime:
    """The deadline pushed later by ``seconds`` of working time."""
    return calendar.add_working_time(due, timedelta(seconds=seconds)) if seconds else due


def worked_seconds(calendar: Calendar, started: datetime, met: datetime, paused: int) -> int:
    """The working time from ``started`` to ``met``, the pauses left out."""
    return max(whole_seconds(calendar.working_time_between(started, met)) - paused, 0)


def left(calendar: Calendar, now: datetime, due: datetime) -> timedelta:
    """Working time from ``now`` to ``due``, zero once it has passed."""
    return max(calendar.working_time_between(now, due), timedelta(0))


def duration_text(span: timedelta) -> str:
    """``"1h30m"``, ``"25m"``, ``"0m"``: hours and whole minutes, as rules write durations
    (no days: a day of working time is not a day)."""
    hours, minutes = divmod(whole_seconds(span) // 60, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
