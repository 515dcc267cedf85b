"""A customer's message finds its ticket: the busiest path of the service.

It is written with SQL expressions on the transaction's connection rather than ORM objects:
one query finds the customer and their live ticket, and each write is one statement. The
ORM's bookkeeping would cost more than the statements themselves (see bench/inbound.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core import events, metrics, ratings, replies
from core.errors import InvalidInput
from core.inboxes import InboxRef
from core.logctx import bind
from core.messages import MAX_TEXT, Inbound, clean_text
from core.models import (
    Agent,
    Customer,
    Direction,
    Identity,
    Message,
    Priority,
    Ticket,
    TicketStatus,
)
from core.status import audit, status_events
from core.work import INSERT_MESSAGE, Facts, Work, row_snapshot

log = logging.getLogger("otklik.core")
SUBJECT_LENGTH = 80


@dataclass(frozen=True)
class Received:
    ticket_number: int
    message_id: int
    duplicate: bool = False
    new_ticket: bool = False
    first_press: bool = True  # for a press: False when the customer pressed this button before


async def receive(work: Work, inbound: Inbound) -> Received:
    """Store a customer's message once, on their live ticket in that inbox or on a new one
    (an email: on the ticket its thread names, see core/replies.py).

    Replays are rare, so the message is inserted without looking first: a replay breaks the
    unique (inbox, platform message id) constraint, the Desk runs the unit of work again, and
    this second run looks first and answers with the stored message.
    """
    inbound = _checked(inbound)
    inbox = await work.inboxes.named(work.session, inbound.inbox)
    bind(inbox=inbox.name)
    if work.retry and (seen := await stored(work, inbox, inbound.platform_message_id)):
        log.info("duplicate inbound %s ignored", inbound.platform_message_id)
        return Received(seen.ticket_number, seen.message_id, duplicate=True)
    work.after_commit.append(metrics.INBOUND.labels(inbox.channel).inc)
    conn = await work.session.connection()
    found = await _customer_and_live_ticket(conn, inbox, inbound.external_id)
    if found is None:
        customer = await _new_customer(conn, work, inbox, inbound)
    else:
        customer = await _known_customer(conn, found, inbox, inbound)
        if ratings.awaited(found.comment_rating_id, found.comment_until, work.now):
            return await _rating_comment(conn, work, inbox, found, inbound)
    live = found if found is not None and found.ticket_id is not None else None
    if inbound.thread is not None and found is not None:
        live = await replies.ticket_of(conn, inbox, customer.id, inbound.thread)
    new_ticket = live is None
    if live is None:
        ticket = await _open_ticket(conn, work, inbox, customer, inbound)
    else:
        ticket = _facts(live, customer, inbox)
    if ticket.status == TicketStatus.WAITING:
        ticket = await _reopen_waiting(conn, work, ticket)
    bind(ticket=ticket.number)
    values = _message(inbound, inbox, ticket.id, work)
    message_id = await conn.scalar(INSERT_MESSAGE, values)
    assert message_id is not None
    if new_ticket:
        work.emit(events.TICKET_CREATED, ticket)
        log.info("ticket created")
    work.emit(events.MESSAGE_RECEIVED, ticket, message=row_snapshot(message_id, values))
    log.info("inbound message %s stored", message_id)
    return Received(ticket.number, message_id, new_ticket=new_ticket)


def _message(inbound: Inbound, inbox: InboxRef, ticket_id: int, work: Work) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "inbox_id": inbox.id,
        "direction": Direction.IN,
        "internal": False,
        "author_agent_id": None,
        "text": inbound.text,
        "attachments": [a.as_dict() for a in inbound.attachments],
        "platform_message_id": inbound.platform_message_id,
        "subject": inbound.thread and inbound.thread.subject[:200],
        "created_at": inbound.received_at or work.now,
    }


async def _rating_comment(
    conn: AsyncConnection, work: Work, inbox: InboxRef, found: Row[Any], inbound: Inbound
) -> Received:
    """A rule asked what went wrong: this message answers, on the rated ticket as it is."""
    rating, ticket = await ratings.take_comment(work, found.identity_id, found.comment_rating_id)
    bind(ticket=ticket.number)
    values = _message(inbound, inbox, ticket.id, work)
    message_id = await conn.scalar(INSERT_MESSAGE, values)
    assert message_id is not None
    await ratings.comment_from_chat(work, rating, ticket, Message(id=message_id, **values))
    log.info("inbound message %s stored as the comment of rating %s", message_id, rating.id)
    return Received(ticket.number, message_id)


@dataclass(frozen=True)
class Seen:
    ticket_number: int
    message_id: int


async def stored(work: Work, inbox: InboxRef, platform_id: str | None) -> Seen | None:
    """The message already stored under this platform id in this inbox, if any."""
    if platform_id is None:
        return None
    row = (
        await work.session.execute(
            select(Ticket.number, Message.id)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(Message.inbox_id == inbox.id, Message.platform_message_id == platform_id)
        )
    ).first()
    return Seen(*row) if row else None


def _checked(inbound: Inbound) -> Inbound:
    if not inbound.text.strip() and not inbound.attachments:
        raise InvalidInput("an inbound message needs text or an attachment")
    if len(inbound.text) > MAX_TEXT:
        raise InvalidInput(f"message text is longer than {MAX_TEXT} characters")
    return replace(
        inbound,
        text=clean_text(inbound.text),
        customer_name=inbound.customer_name and clean_text(inbound.customer_name).strip()[:200],
    )


@dataclass(frozen=True)
class _Customer:
    id: int
    identity_id: int
    name: str
    email: str | None


async def _customer_and_live_ticket(
    conn: AsyncConnection, inbox: InboxRef, external_id: str
) -> Row[Any] | None:
    # The row lock serialises one customer's concurrent messages on PostgreSQL, so two of
    # them cannot both open a ticket; SQLite's BEGIN IMMEDIATE already serialises writers.
    return (await conn.execute(_FIND, {"inbox_id": inbox.id, "external_id": external_id})).first()


# Built once: building and keying a statement costs more than running it on this path.
_FIND = (
    select(
        Identity.id.label("identity_id"),
        Identity.unreachable_since,
        Identity.comment_rating_id,
        Identity.comment_until,
        Customer.id.label("customer_id"),
        Customer.name.label("customer_name"),
        Customer.email.label("customer_email"),
        *replies.TICKET_COLUMNS,
    )
    .join(Customer, Customer.id == Identity.customer_id)
    .outerjoin(
        Ticket,
        (Ticket.identity_id == Identity.id) & (Ticket.status != TicketStatus.CLOSED),
    )
    .outerjoin(Agent, Agent.id == Ticket.assignee_id)
    .where(
        Identity.inbox_id == bindparam("inbox_id"),
        Identity.external_id == bindparam("external_id"),
    )
    .order_by(Ticket.id.desc())
    .limit(1)
    # NO KEY UPDATE: receives of one customer queue, but inserting a row that refers to the
    # identity (a ticket's key check) is not held up; FOR UPDATE made that a deadlock.
    .with_for_update(of=Identity.__table__, key_share=True)
)
_INSERT_CUSTOMER = insert(Customer).returning(Customer.id)
_INSERT_IDENTITY = insert(Identity).returning(Identity.id)
# The human ticket number is computed by the INSERT itself. PostgreSQL takes it from a
# sequence, which no transaction holds; SQLite, where one writer works at a time (BEGIN
# IMMEDIATE), as one more than the largest (the unique index answers that at once).
_NEXT_NUMBER = {
    "postgresql": func.nextval("ticket_numbers"),
    "sqlite": select(func.coalesce(func.max(Ticket.number), 0) + 1).scalar_subquery(),
}
_INSERT_TICKET = {
    dialect: insert(Ticket).values(number=number).returning(Ticket.id, Ticket.number)
    for dialect, number in _NEXT_NUMBER.items()
}


async def _new_customer(
    conn: AsyncConnection, work: Work, inbox: InboxRef, inbound: Inbound
) -> _Customer:
    name = inbound.customer_name or _anonymous(inbox, inbound.external_id)
    customer_id = await conn.scalar(
        _INSERT_CUSTOMER, {"name": name, "email": inbound.customer_email, "created_at": work.now}
    )
    identity_id = await conn.scalar(
        _INSERT_IDENTITY,
        {
            "customer_id": customer_id,
            "inbox_id": inbox.id,
            "external_id": inbound.external_id,
            "created_at": work.now,
        },
    )
    assert customer_id is not None and identity_id is not None
    return _Customer(customer_id, identity_id, name, inbound.customer_email)


async def _known_customer(
    conn: AsyncConnection, found: Row[Any], inbox: InboxRef, inbound: Inbound
) -> _Customer:
    """The customer as stored, with a name or email they now give filled in."""
    changes: dict[str, str] = {}
    if inbound.customer_name and found.customer_name.startswith(_anonymous_prefix(inbox)):
        changes["name"] = inbound.customer_name
    if inbound.customer_email and not found.customer_email:
        changes["email"] = inbound.customer_email
    if changes:
        await conn.execute(update(Customer).where(Customer.id == found.customer_id).values(changes))
    if found.unreachable_since is not None:  # they wrote: they can be answered again
        await conn.execute(
            update(Identity)
            .where(Identity.id == found.identity_id)
            .values(unreachable_since=None, unreachable_reason=None)
        )
    return _Customer(
        found.customer_id,
        found.identity_id,
        changes.get("name", found.customer_name),
        changes.get("email", found.customer_email),
    )


def _facts(found: Row[Any], customer: _Customer, inbox: InboxRef) -> Facts:
    return Facts(
        id=found.ticket_id,
        number=found.number,
        subject=found.subject,
        status=found.status,
        priority=found.priority,
        tags=tuple(found.tags or ()),
        created_at=found.created_at,
        inbox=inbox,
        assignee_id=found.assignee_id,
        assignee_name=found.assignee_name,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_email=customer.email,
    )


async def _open_ticket(
    conn: AsyncConnection, work: Work, inbox: InboxRef, customer: _Customer, inbound: Inbound
) -> Facts:
    first_words = (inbound.thread and inbound.thread.subject) or inbound.text
    subject = " ".join(first_words.split())[:SUBJECT_LENGTH] or (
        inbound.attachments[0].name or inbound.attachments[0].kind
    )
    row = (
        await conn.execute(
            _INSERT_TICKET[conn.dialect.name],
            {
                "inbox_id": inbox.id,
                "customer_id": customer.id,
                "identity_id": customer.identity_id,
                "subject": subject,
                "status": TicketStatus.NEW,
                "priority": Priority.NORMAL,
                "tags": [],
                "created_at": work.now,
                "updated_at": work.now,
                "last_activity_at": work.now,
            },
        )
    ).one()
    await audit(work, row.id, "status", None, TicketStatus.NEW)
    return Facts(
        id=row.id,
        number=row.number,
        subject=subject,
        status=TicketStatus.NEW,
        priority=Priority.NORMAL,
        tags=(),
        created_at=work.now,
        inbox=inbox,
        assignee_id=None,
        assignee_name=None,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_email=customer.email,
    )


async def _reopen_waiting(conn: AsyncConnection, work: Work, ticket: Facts) -> Facts:
    """The customer answered: a ticket waiting for them is open again."""
    await conn.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(status=TicketStatus.OPEN, updated_at=work.now)
    )
    await audit(work, ticket.id, "status", TicketStatus.WAITING, TicketStatus.OPEN)
    opened = replace(ticket, status=TicketStatus.OPEN)
    status_events(work, opened, TicketStatus.WAITING, TicketStatus.OPEN)
    return opened


def _anonymous_prefix(inbox: InboxRef) -> str:
    return f"{inbox.channel.capitalize()} visitor "


def _anonymous(inbox: InboxRef, external_id: str) -> str:
    return _anonymous_prefix(inbox) + external_id[-6:]
