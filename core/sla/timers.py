"""A deadline's escalation timers: durable delayed runs of the rules engine (``core.delays``).

Each open deadline has a breach timer at ``due_at`` and, when the deadline leaves more than
``warn_before`` of working time, a warning timer that much before it. A timer's key names the
target, the event and the deadline it was armed for, so a deadline warns and breaches once:
re-arming for the same deadline finds the fired timer and leaves it; a deadline that moved
(a pause ended, the ticket was reopened) gets new timers, the old ones cancelled. A warning
whose moment has passed when it is armed is not armed: the deadline was already that near
when the ticket was registered, or when its clock was stopped (and warned then).
"""

from __future__ import annotations

from datetime import UTC, datetime

from core import delays, events
from core.models import SlaTarget
from core.sla.clocks import warning_at
from core.sla.policy import SlaPolicy
from core.work import Work

HANDLER = "@sla"  # the delayed runs' rule id for these timers (no rule id has an "@")
REACTION, RESOLUTION = "reaction", "resolution"
WARNINGS = {REACTION: events.SLA_REACTION_WARNING, RESOLUTION: events.SLA_RESOLUTION_WARNING}
BREACHES = {REACTION: events.SLA_REACTION_BREACHED, RESOLUTION: events.SLA_RESOLUTION_BREACHED}


async def arm(work: Work, policy: SlaPolicy, row: SlaTarget, number: int) -> None:
    """Arm the timers of an open deadline (not met, not paused, not breached yet)."""
    if row.met_at is not None or row.paused_since is not None or row.breached:
        return
    calendar = policy.calendar(row.calendar)
    warn = warning_at(calendar, row.started_at, row.due_at, policy.warn_before)
    if warn is not None and warn > work.now:
        await _write(work, row, number, WARNINGS[row.target], warn)
    await _write(work, row, number, BREACHES[row.target], row.due_at)


async def disarm(work: Work, row: SlaTarget) -> None:
    """Cancel the deadline's pending timers (it was met, paused or is about to move)."""
    names = (WARNINGS[row.target], BREACHES[row.target])
    await delays.disarm(work.session, row.ticket_id, HANDLER, names, work.now)


async def _write(work: Work, row: SlaTarget, number: int, name: str, at: datetime) -> None:
    armed = row.due_at.astimezone(UTC).isoformat()
    data = {"ticket": {"number": number}, "sla": {"target_id": row.id, "due_at": armed}}
    key = f"{HANDLER}:{row.id}:{name}:{armed}"
    await delays.arm(work.session, key, HANDLER, row.ticket_id, name, data, at, work.now)
