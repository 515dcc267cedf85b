"""Status changes and the audit trail: one place that writes both and tells the bus."""

from __future__ import annotations

from sqlalchemy import insert

from core import events
from core.models import AuditEntry, Ticket, TicketStatus
from core.work import Facts, Work

LIVE = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)


async def audit(
    work: Work,
    ticket_id: int,
    action: str,
    old: str | None,
    new: str | None,
    agent_id: int | None = None,
    actor: str | None = None,
) -> None:
    """Record a change of a ticket and who made it: an agent, the rules (``actor="rule"``),
    else the customer."""
    conn = await work.session.connection()
    await conn.execute(
        _INSERT_AUDIT,
        {
            "ticket_id": ticket_id,
            "at": work.now,
            "actor": actor or ("agent" if agent_id else "customer"),
            "agent_id": agent_id,
            "action": action,
            "old_value": old,
            "new_value": new,
        },
    )


_INSERT_AUDIT = insert(AuditEntry)


async def change_status(
    work: Work,
    ticket: Ticket,
    status: TicketStatus,
    agent_id: int | None,
    actor: str | None = None,
) -> None:
    """Move a ticket to ``status``, audit it and emit the events; the caller checked the move."""
    old = TicketStatus(ticket.status)
    ticket.status = status
    ticket.updated_at = work.now
    ticket.closed_at = work.now if status == TicketStatus.CLOSED else None
    await audit(work, ticket.id, "status", old, status, agent_id, actor)
    status_events(work, ticket, old, status)


def status_events(work: Work, ticket: Ticket | Facts, old: str, new: str) -> None:
    work.emit(events.TICKET_STATUS_CHANGED, ticket, status={"old": old, "new": new})
    if new == TicketStatus.CLOSED:
        work.emit(events.TICKET_CLOSED, ticket)
    elif old == TicketStatus.CLOSED:
        work.emit(events.TICKET_REOPENED, ticket)
