"""A unit of work: one transaction, the events it caused, published only after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.events import Event
from core.inboxes import Inboxes
from core.models import Message, Ticket


@dataclass
class Work:
    session: AsyncSession
    now: datetime
    inboxes: Inboxes
    retry: bool = False  # a conflicting concurrent write made this unit of work run again
    events: list[Event] = field(default_factory=list)
    outbox_queued: bool = False

    def emit(self, name: str, ticket: Ticket | None = None, **data: Any) -> None:
        if ticket is not None:
            inbox = self.inboxes.of(ticket)
            data = {
                "ticket": ticket_snapshot(ticket),
                "customer": customer_snapshot(ticket),
                "inbox": {"name": inbox.name, "channel": inbox.channel},
                **data,
            }
        self.events.append(
            Event(name, self.now, ticket_id=ticket.id if ticket else None, data=data)
        )


def ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee_id": ticket.assignee.id if ticket.assignee else None,
        "assignee": ticket.assignee.name if ticket.assignee else None,
        "created_at": ticket.created_at.isoformat(),
    }


def customer_snapshot(ticket: Ticket) -> dict[str, Any]:
    customer = ticket.customer
    return {"id": customer.id, "name": customer.name, "email": customer.email}


def message_snapshot(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "text": message.text,
        "direction": message.direction,
        "internal": message.internal,
        "attachments": message.attachments,
        "author_id": message.author_agent_id,
        "created_at": message.created_at.isoformat(),
    }
