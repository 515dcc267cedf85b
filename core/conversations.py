"""Customer side of the core: an inbound message or button press finds its ticket."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, raiseload

from core import events
from core.errors import ButtonRefused, InvalidInput
from core.inboxes import InboxRef
from core.logctx import bind
from core.messages import MAX_TEXT, Inbound, Press, clean_text
from core.models import (
    AuditEntry,
    Button,
    Customer,
    Direction,
    Identity,
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
    """Store a customer's message once, on their live ticket in that inbox or on a new one.

    Replays are rare, so the message is inserted without looking first: a replay breaks the
    unique (inbox, platform message id) constraint, the Desk runs the unit of work again, and
    this second run looks first and answers with the stored message.
    """
    if not inbound.text.strip() and not inbound.attachments:
        raise InvalidInput("an inbound message needs text or an attachment")
    if len(inbound.text) > MAX_TEXT:
        raise InvalidInput(f"message text is longer than {MAX_TEXT} characters")
    inbound = replace(
        inbound,
        text=clean_text(inbound.text),
        customer_name=inbound.customer_name and clean_text(inbound.customer_name),
    )
    inbox = await inbox_named(work, inbound.inbox)
    bind(inbox=inbox.name)
    if work.retry and (seen := await _stored(work, inbox, inbound.platform_message_id)):
        log.info("duplicate inbound %s ignored", inbound.platform_message_id)
        return Received(seen.ticket_number, seen.message_id, duplicate=True)
    identity, ticket = await _identity_and_live_ticket(work, inbox, inbound)
    new_ticket = ticket is None
    if ticket is None:
        ticket = await _open_ticket(work, inbox, identity, inbound)
    elif ticket.status == TicketStatus.WAITING:
        change_status(work, ticket, TicketStatus.OPEN, agent_id=None)
    bind(ticket=ticket.number)
    message = Message(
        ticket=ticket,
        inbox_id=inbox.id,
        direction=Direction.IN,
        text=inbound.text,
        attachments=[a.as_dict() for a in inbound.attachments],
        platform_message_id=inbound.platform_message_id,
        created_at=inbound.received_at or work.now,
        buttons=[],
        delivery=None,
    )
    work.session.add(message)
    await work.session.flush()  # one flush writes customer, identity, ticket, audit, message
    if new_ticket:
        work.emit(events.TICKET_CREATED, ticket)
        log.info("ticket created")
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
        return Received(seen.ticket_number, seen.message_id, duplicate=True)
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


async def inbox_named(work: Work, name: str) -> InboxRef:
    return await work.inboxes.named(work.session, name)


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
    ticket_number: int
    message_id: int


async def _stored(work: Work, inbox: InboxRef, platform_id: str | None) -> _Seen | None:
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
    return _Seen(*row) if row else None


async def _ticket_by_id(work: Work, ticket_id: int) -> Ticket:
    ticket = await work.session.get(Ticket, ticket_id)
    assert ticket is not None, "a message's ticket always exists"
    return ticket


async def _identity_and_live_ticket(
    work: Work, inbox: InboxRef, inbound: Inbound
) -> tuple[Identity, Ticket | None]:
    """The customer's identity in this inbox (made if new) and their live ticket, if any."""
    # The row lock serialises one customer's concurrent messages on PostgreSQL, so two of
    # them cannot both open a ticket; SQLite's BEGIN IMMEDIATE already serialises writers.
    row = (
        await work.session.execute(
            select(Identity, Ticket)
            .outerjoin(Ticket, (Ticket.identity_id == Identity.id) & Ticket.status.in_(LIVE))
            # The ticket's inbox and identity are known already; its customer is the
            # identity's, loaded by this query, which a many-to-one finds without SQL.
            .options(raiseload(Ticket.inbox), raiseload(Ticket.identity), lazyload(Ticket.customer))
            .where(Identity.inbox_id == inbox.id, Identity.external_id == inbound.external_id)
            .order_by(Ticket.id.desc())
            .limit(1)
            .with_for_update(of=Identity)
        )
    ).first()
    if row is None:
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
        return identity, None
    identity, ticket = row
    customer = identity.customer
    if inbound.customer_name and customer.name.startswith(_anonymous_prefix(inbox)):
        customer.name = inbound.customer_name.strip()[:200]
    if inbound.customer_email and not customer.email:
        customer.email = inbound.customer_email
    return identity, ticket


def _anonymous_prefix(inbox: InboxRef) -> str:
    return f"{inbox.channel.capitalize()} visitor "


def _anonymous(inbox: InboxRef, inbound: Inbound) -> str:
    return _anonymous_prefix(inbox) + inbound.external_id[-6:]


async def _open_ticket(work: Work, inbox: InboxRef, identity: Identity, inbound: Inbound) -> Ticket:
    subject = " ".join(inbound.text.split())[:SUBJECT_LENGTH] or (
        inbound.attachments[0].name or inbound.attachments[0].kind
    )
    ticket = Ticket(
        number=await _next_number(work),
        inbox_id=inbox.id,
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
    work.session.add(
        AuditEntry(
            ticket=ticket,
            at=work.now,
            actor="customer",
            action="status",
            old_value=None,
            new_value=TicketStatus.NEW,
        )
    )
    return ticket


async def _next_number(work: Work) -> int:
    """The next human ticket number. PostgreSQL takes it from a sequence, which no
    transaction holds; SQLite, where one writer works at a time (BEGIN IMMEDIATE), as one
    more than the largest (the unique index answers that at once)."""
    if work.session.bind.dialect.name == "postgresql":
        query = select(func.nextval("ticket_numbers"))
    else:
        query = select(func.coalesce(func.max(Ticket.number), 0) + 1)
    return int(await work.session.scalar(query) or 0)
