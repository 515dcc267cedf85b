"""SLA: business calendars, working-time arithmetic and support levels. Pure: no I/O.

    Calendar.from_config(table)                 a [calendars.<name>] table, checked
    calendar.add_working_time(start, duration)  the deadline: earliest t with that much work
    calendar.working_time_between(start, end)   working time between two instants
    read_level(table), SupportLevels.of(...)    [[sla.level]] tables, checked in order
    levels.for_ticket(facts)                    the level a ticket's facts select

Modules: hours (intervals, dates), spec (a calendar table), country (the holidays package),
instants (wall times onto real instants), calendar (the arithmetic), levels, policy (the SLA
as configured), clocks (a stored deadline's arithmetic). Around them, with I/O: deadlines (the
``sla_targets`` rows), timers and escalations (the ``sla.*`` events), hook (the Desk hook).
"""

from core.sla.calendar import Calendar
from core.sla.levels import DEFAULT, Level, SupportLevels, read_level
from core.sla.spec import CalendarSpec

__all__ = ["DEFAULT", "Calendar", "CalendarSpec", "Level", "SupportLevels", "read_level"]
