"""The SLA as configured: the support levels, the calendars by name, how long before a
deadline its warning comes, and which calendar each inbox works by. Built once at start
(``settings.config.Config.sla_policy``); the deadlines, the escalations and the rules'
``within_working_hours`` read it. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from core.sla.calendar import Calendar
from core.sla.hours import DAY, WEEKDAYS
from core.sla.levels import SupportLevels
from core.sla.spec import CalendarSpec

WARN_BEFORE = timedelta(minutes=30)
# A deadline whose calendar is no longer configured is counted in real time.
REAL_TIME = Calendar(CalendarSpec("UTC", tuple(((0, DAY),) for _ in WEEKDAYS), {}))
_NO_LEVELS = SupportLevels(())


@dataclass(frozen=True)
class SlaPolicy:
    """``inbox_calendars``: inbox name → calendar name, for the inboxes that name one."""

    levels: SupportLevels = _NO_LEVELS
    calendars: Mapping[str, Calendar] = field(default_factory=lambda: MappingProxyType({}))
    warn_before: timedelta = WARN_BEFORE
    inbox_calendars: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def enabled(self) -> bool:
        """Whether new tickets get deadlines: some level is configured."""
        return bool(self.levels.levels)

    def calendar(self, name: str) -> Calendar:
        """The calendar a deadline names; real time when it is no longer configured."""
        return self.calendars.get(name, REAL_TIME)

    def inbox_calendar(self, inbox: str | None) -> Calendar | None:
        """The calendar an inbox works by: its own ``calendar``, else the Default level's;
        None when neither is set (the inbox works around the clock)."""
        name = self.inbox_calendars.get(inbox) if inbox is not None else None
        if name is None and (default := self.levels.default) is not None:
            name = default.calendar
        return self.calendars.get(name) if name is not None else None

    def at(self, now: datetime) -> At:
        """``now`` as the rules' conditions see it (``within_working_hours``)."""
        return At(self, now)


@dataclass(frozen=True)
class At:
    """A moment for conditions: is it inside an inbox's working hours?"""

    policy: SlaPolicy
    now: datetime

    def working(self, inbox: str | None) -> bool:
        calendar = self.policy.inbox_calendar(inbox)
        return calendar is None or calendar.is_working(self.now)


NO_SLA = SlaPolicy()  # no levels: no deadlines; every inbox works around the clock
