"""Customer side of the core: an inbound message or button press finds its ticket."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy import select, update

from core import events
from core.errors import ButtonRefused, InvalidInput, NotFound
from core.logctx import bind
from core.messages import MAX_TEXT, Inbound, Press, clean_text
from core.models import (
    AuditEntry,
    Button,
    Counter,
    Customer,
    Direction,
    Identity,
    Inbox,
    Message,
    Ticket,
    TicketStatus,
)
from core.work import Work, message_snapshot

log = logging.getLogger("otklik.core")
LIVE = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)
SUBJECT_LENGTH = 80


@dataclass(frozen=True)
class Received:
    ticket_number: int
    message_id: int
    duplicate: bool = False
    new_ticket: bool = False


async def receive(work: Work, inbound: Inbound) -> Received:
    """Store a customer's message once, on their live ticket in that inbox or on a new one."""
    if not inbound.text.strip() and not inbound.attachments:
        raise InvalidInput("an inbound message needs text or an attachment")
    if len(inbound.text) > MAX_TEXT:
        raise InvalidInput(f"message text is longer than {MAX_TEXT} characters")
    inbound = replace(
        inbound,
        text=clean_text(inbound.text),
        customer_name=inbound.customer_name and clean_text(inbound.customer_name),
    )
    s = work.session
    inbox = await inbox_named(work, inbound.inbox)
    bind(inbox=inbox.name)
    if seen := await _stored(work, inbox, inbound.platform_message_id):
        log.info("duplicate inbound %s ignored", inbound.platform_message_id)
        return Received(seen.ticket.number, seen.message.id, duplicate=True)
    identity = await _identity(work, inbox, inbound)
    ticket = await _live_ticket(work, identity)
    new_ticket = ticket is None
    if ticket is None:
        ticket = await _open_ticket(work, inbox, identity, inbound)
    elif ticket.status == TicketStatus.WAITING:
        change_status(work, ticket, TicketStatus.OPEN, agent_id=None)
    bind(ticket=ticket.number)
    message = Message(
        ticket_id=ticket.id,
        inbox_id=inbox.id,
        direction=Direction.IN,
        text=inbound.text,
        attachments=[a.as_dict() for a in inbound.attachments],
        platform_message_id=inbound.platform_message_id,
        created_at=inbound.received_at or work.now,
    )
    s.add(message)
    ticket.last_activity_at = work.now
    await s.flush()
    work.emit(events.MESSAGE_RECEIVED, ticket, message=message_snapshot(message))
    log.info("inbound message %s stored", message.id)
    return Received(ticket.number, message.id, new_ticket=new_ticket)


async def press(work: Work, pressed: Press) -> Received:
    """Record a button press by the customer it was sent to; refuse anything else."""
    inbox = await inbox_named(work, pressed.inbox)
    bind(inbox=inbox.name)
    button = await work.session.get(Button, pressed.button_id)
    identity = await work.session.scalar(
        select(Identity).where(
            Identity.inbox_id == inbox.id, Identity.external_id == pressed.external_id
        )
    )
    if button is None:
        raise ButtonRefused("this button is unknown or no longer valid")
    if identity is None or button.identity_id != identity.id:
        raise ButtonRefused("this button was sent to another chat")
    event_key = f"press:{pressed.platform_event_id}" if pressed.platform_event_id else None
    if seen := await _stored(work, inbox, event_key):
        return Received(seen.ticket.number, seen.message.id, duplicate=True)
    ticket = await _ticket_by_id(work, button.ticket_id)
    bind(ticket=ticket.number)
    first = button.pressed_at is None
    button.pressed_at = button.pressed_at or work.now
    message = Message(
        ticket_id=ticket.id,
        inbox_id=inbox.id,
        direction=Direction.IN,
        text=button.label,
        platform_message_id=event_key,
        pressed_button_id=button.id,
        created_at=work.now,
    )
    work.session.add(message)
    ticket.last_activity_at = work.now
    await work.session.flush()
    work.emit(
        events.BUTTON_PRESSED,
        ticket,
        button={
            "id": button.id,
            "label": button.label,
            "payload": button.payload,
            "first_press": first,
            "message_id": button.message_id,
        },
        message=message_snapshot(message),
    )
    log.info("button %s pressed (payload %s)", button.id, button.payload)
    return Received(ticket.number, message.id)


async def inbox_named(work: Work, name: str) -> Inbox:
    inbox = await work.session.scalar(select(Inbox).where(Inbox.name == name))
    if inbox is None:
        raise NotFound(f"inbox {name!r} is not configured")
    return inbox


def change_status(work: Work, ticket: Ticket, status: TicketStatus, agent_id: int | None) -> None:
    """Move a ticket to ``status``, audit it and emit the events; the caller checked the move."""
    old = ticket.status
    ticket.status = status
    ticket.updated_at = work.now
    ticket.closed_at = work.now if status == TicketStatus.CLOSED else None
    work.session.add(
        AuditEntry(
            ticket_id=ticket.id,
            at=work.now,
            actor="agent" if agent_id else "customer",
            agent_id=agent_id,
            action="status",
            old_value=old,
            new_value=status,
        )
    )
    work.emit(events.TICKET_STATUS_CHANGED, ticket, status={"old": old, "new": status})
    if status == TicketStatus.CLOSED:
        work.emit(events.TICKET_CLOSED, ticket)
    elif old == TicketStatus.CLOSED:
        work.emit(events.TICKET_REOPENED, ticket)


@dataclass(frozen=True)
class _Seen:
    ticket: Ticket
    message: Message


async def _stored(work: Work, inbox: Inbox, platform_id: str | None) -> _Seen | None:
    if platform_id is None:
        return None
    message = await work.session.scalar(
        select(Message).where(
            Message.inbox_id == inbox.id, Message.platform_message_id == platform_id
        )
    )
    if message is None:
        return None
    return _Seen(await _ticket_by_id(work, message.ticket_id), message)


async def _ticket_by_id(work: Work, ticket_id: int) -> Ticket:
    ticket = await work.session.get(Ticket, ticket_id)
    assert ticket is not None, "a message's ticket always exists"
    return ticket


async def _identity(work: Work, inbox: Inbox, inbound: Inbound) -> Identity:
    # The row lock serialises one customer's concurrent messages on PostgreSQL, so two of
    # them cannot both open a ticket; SQLite's BEGIN IMMEDIATE already serialises writers.
    identity = await work.session.scalar(
        select(Identity)
        .where(Identity.inbox_id == inbox.id, Identity.external_id == inbound.external_id)
        .with_for_update(of=Identity)
    )
    if identity is None:
        customer = Customer(
            name=(inbound.customer_name or "").strip()[:200] or _anonymous(inbox, inbound),
            email=inbound.customer_email,
            created_at=work.now,
        )
        identity = Identity(
            customer=customer,
            inbox_id=inbox.id,
            external_id=inbound.external_id,
            created_at=work.now,
        )
        work.session.add(identity)
        await work.session.flush()
        return identity
    customer = identity.customer
    if inbound.customer_name and customer.name.startswith(_anonymous_prefix(inbox)):
        customer.name = inbound.customer_name.strip()[:200]
    if inbound.customer_email and not customer.email:
        customer.email = inbound.customer_email
    return identity


def _anonymous_prefix(inbox: Inbox) -> str:
    return f"{inbox.channel.capitalize()} visitor "


def _anonymous(inbox: Inbox, inbound: Inbound) -> str:
    return _anonymous_prefix(inbox) + inbound.external_id[-6:]


async def _live_ticket(work: Work, identity: Identity) -> Ticket | None:
    return await work.session.scalar(
        select(Ticket)
        .where(Ticket.identity_id == identity.id, Ticket.status.in_(LIVE))
        .order_by(Ticket.id.desc())
        .limit(1)
    )


async def _open_ticket(work: Work, inbox: Inbox, identity: Identity, inbound: Inbound) -> Ticket:
    number = await work.session.scalar(
        update(Counter)
        .where(Counter.name == "ticket")
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    assert number is not None, "the ticket counter is created by the first migration"
    subject = " ".join(inbound.text.split())[:SUBJECT_LENGTH] or (
        inbound.attachments[0].name or inbound.attachments[0].kind
    )
    ticket = Ticket(
        number=number,
        inbox=inbox,
        customer=identity.customer,
        identity=identity,
        subject=subject,
        status=TicketStatus.NEW,
        created_at=work.now,
        updated_at=work.now,
        last_activity_at=work.now,
        assignee=None,
    )
    work.session.add(ticket)
    await work.session.flush()
    work.session.add(
        AuditEntry(
            ticket_id=ticket.id,
            at=work.now,
            actor="customer",
            action="status",
            old_value=None,
            new_value=TicketStatus.NEW,
        )
    )
    bind(ticket=number)
    work.emit(events.TICKET_CREATED, ticket)
    log.info("ticket created")
    return ticket
