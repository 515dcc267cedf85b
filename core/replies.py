"""Which ticket an email belongs to: by the messages it answers, else by ``[#N]`` in its
subject; chats never come here (they write on the customer's live ticket).

Only the customer's own tickets are candidates: a thread forwarded to someone else, or a
guessed number, opens a ticket of their own. A reply to a closed ticket opens a new one,
as a chat message after closing does.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Row, bindparam, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from core.inboxes import InboxRef
from core.messages import MailThread
from core.models import Agent, Message, OutboxItem, Ticket, TicketStatus

log = logging.getLogger("otklik.core")
MAX_REFERENCES = 50  # a References header longer than this is cut to its newest ids

# What receive() needs of a ticket; the chat path selects the same columns.
TICKET_COLUMNS = (
    Ticket.id.label("ticket_id"),
    Ticket.number,
    Ticket.subject,
    Ticket.status,
    Ticket.priority,
    Ticket.tags,
    Ticket.created_at,
    Ticket.assignee_id,
    Agent.name.label("assignee_name"),
)


async def ticket_of(
    conn: AsyncConnection, inbox: InboxRef, customer_id: int, thread: MailThread
) -> Row[Any] | None:
    """The live ticket the email continues, or None: a new ticket."""
    found = None
    refs = list(thread.references[-MAX_REFERENCES:])
    if refs:
        found = (
            await conn.execute(
                _BY_REFERENCE, {"inbox_id": inbox.id, "customer_id": customer_id, "refs": refs}
            )
        ).first()
    if found is None and thread.ticket_number is not None:
        found = (
            await conn.execute(
                _BY_NUMBER, {"number": thread.ticket_number, "customer_id": customer_id}
            )
        ).first()
    if found is not None and found.status == TicketStatus.CLOSED:
        log.info("ticket %s is closed: the reply opens a new ticket", found.number)
        return None
    return found


def _tickets() -> Any:
    return select(*TICKET_COLUMNS).outerjoin(Agent, Agent.id == Ticket.assignee_id)


# Ids the email answers: a customer's earlier mail in this inbox or one we sent from it
# (both columns indexed with the inbox).
_ANSWERED = union(
    select(Message.ticket_id).where(
        Message.inbox_id == bindparam("inbox_id"),
        Message.platform_message_id.in_(bindparam("refs", expanding=True)),
    ),
    select(Message.ticket_id)
    .join(OutboxItem, OutboxItem.message_id == Message.id)
    .where(
        OutboxItem.inbox_id == bindparam("inbox_id"),
        OutboxItem.platform_message_id.in_(bindparam("refs", expanding=True)),
    ),
)
_BY_REFERENCE = (
    _tickets()
    .where(Ticket.customer_id == bindparam("customer_id"), Ticket.id.in_(_ANSWERED))
    .order_by(Ticket.id.desc())
    .limit(1)
)
_BY_NUMBER = _tickets().where(
    Ticket.number == bindparam("number"), Ticket.customer_id == bindparam("customer_id")
)
