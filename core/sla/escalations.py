"""An escalation timer fires: ``sla.*_warning`` or ``sla.*_breached`` goes out for the rules.

The engine claims the timer like any delayed run (once, by one process, late rather than
never after a restart) and runs ``fire`` in the run's transaction. The deadline is read
again, locked: a timer armed for a deadline that was met, paused or moved since, or one
already breached, fires nothing, nor does a warning whose deadline has passed meanwhile. A
breach marks the row breached, credited to the assignee.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from core.models import Agent, SlaTarget, Ticket
from core.sla.clocks import duration_text, left
from core.sla.policy import SlaPolicy
from core.sla.timers import BREACHES
from core.work import Work


async def fire(
    work: Work, policy: SlaPolicy, ticket_id: int, name: str, data: dict[str, Any]
) -> bool:
    """Emit the timer's event if its deadline still stands as armed; whether it did."""
    armed = datetime.fromisoformat(data["sla"]["due_at"])
    # The ticket first, then its deadline: the order every change of a ticket locks them in.
    ticket = await work.session.scalar(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update(of=Ticket)
    )
    row = await work.session.scalar(
        select(SlaTarget).where(SlaTarget.id == data["sla"]["target_id"]).with_for_update()
    )
    if ticket is None or row is None or row.met_at is not None or row.paused_since is not None:
        return False
    if row.breached or row.due_at != armed:
        return False
    if name not in BREACHES.values() and work.now >= row.due_at:
        return False  # a warning come too late (the service was down): the breach follows
    if name in BREACHES.values():
        row.breached = True
        row.agent_id = ticket.assignee_id
    remaining = left(policy.calendar(row.calendar), work.now, row.due_at)
    work.emit(
        name,
        ticket,
        sla={
            "target": row.target,
            "level": row.level,
            "calendar": row.calendar,
            "started_at": _iso(row.started_at),
            "due_at": _iso(row.due_at),
            "time_left": duration_text(remaining),
            "seconds_left": int(remaining.total_seconds()),
        },
        agent=_agent(ticket.assignee),
    )
    return True


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _agent(agent: Agent | None) -> dict[str, Any] | None:
    return None if agent is None else {"id": agent.id, "name": agent.name, "role": agent.role}
