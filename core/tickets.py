"""Agent side of the core: replies, notes, assignment and the status lifecycle.

new ──► open ◄──► waiting
 │        │          │
 └────────┴──► closed ──► open (reopen, by an agent)
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from core import events, i18n, outbox
from core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from core.logctx import bind
from core.messages import MAX_TEXT, Button, clean_text
from core.models import Agent, Direction, Message, Role, Ticket, TicketStatus
from core.models import Button as ButtonRow
from core.status import audit, change_status
from core.work import INSERT_MESSAGE, Work, batched, message_snapshot, row_snapshot

log = logging.getLogger("otklik.core")

ALLOWED = {
    TicketStatus.NEW: {TicketStatus.OPEN, TicketStatus.WAITING, TicketStatus.CLOSED},
    TicketStatus.OPEN: {TicketStatus.WAITING, TicketStatus.CLOSED},
    TicketStatus.WAITING: {TicketStatus.OPEN, TicketStatus.CLOSED},
    TicketStatus.CLOSED: {TicketStatus.OPEN},
}


async def ticket_for_update(work: Work, number: int) -> Ticket:
    ticket = work.locked.get(number) or await work.session.scalar(
        select(Ticket).where(Ticket.number == number).with_for_update(of=Ticket)
    )
    if ticket is None:
        raise NotFound(f"ticket #{number} does not exist")
    bind(ticket=ticket.number, inbox=ticket.inbox.name)
    return ticket


async def acting(work: Work, agent: Agent) -> Agent:
    """The agent as this transaction sees it (current role, still active), never a copy
    from another session: that copy must not be attached to this one."""
    current = await work.session.get(Agent, agent.id)
    if current is None or not current.active:
        raise Forbidden(f"agent {agent.login!r} is not active")
    return current


def may_work_on(agent: Agent, ticket: Ticket) -> bool:
    """Supervisors and admins work any ticket; an agent, unassigned ones and their own."""
    return agent.role != Role.AGENT or ticket.assignee_id in (None, agent.id)


def _check_rights(agent: Agent, ticket: Ticket, action: str) -> None:
    if not may_work_on(agent, ticket):
        owner = ticket.assignee.name if ticket.assignee else "someone else"
        raise Forbidden(
            f"ticket #{ticket.number} is assigned to {owner}; only they, "
            f"a supervisor or an admin may {action} it"
        )


def checked_text(text: str) -> str:
    """A message text as stored; empty or over-long text is refused."""
    if not text.strip():
        raise InvalidInput("text must not be empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"text is longer than {MAX_TEXT} characters")
    return clean_text(text)


async def reply(
    work: Work,
    number: int,
    agent: Agent | None,
    text: str,
    buttons: Sequence[Button] = (),
    origin: str | None = None,
) -> Message:
    """Send ``text`` to the customer through the ticket's channel (``agent`` None: the bot)."""
    agent = await acting(work, agent) if agent is not None else None
    ticket = await ticket_for_update(work, number)
    if agent is not None:
        _check_rights(agent, ticket, "reply to")
    if ticket.status == TicketStatus.CLOSED and agent is not None:
        # The rules may still write to a closed ticket: "closed", "rate us"; agents reopen it.
        raise InvalidTransition(f"ticket #{number} is closed; reopen it to reply")
    message = Message(
        ticket_id=ticket.id,
        inbox_id=ticket.inbox_id,
        direction=Direction.OUT,
        author=agent,
        text=checked_text(text),
        created_at=work.now,
        buttons=[
            ButtonRow(
                id=secrets.token_urlsafe(16),
                ticket_id=ticket.id,
                identity_id=ticket.identity_id,
                position=i,
                label=b.label,
                payload=b.payload,
                row=b.row,
            )
            for i, b in enumerate(buttons)
        ],
    )
    work.session.add(message)
    outbox.queue(work, message, ticket)
    if agent is not None:
        ticket.first_reply_at = ticket.first_reply_at or work.now
        if ticket.assignee is None:
            await assign_to(work, ticket, agent, by=agent)
        if ticket.status == TicketStatus.NEW:
            await change_status(work, ticket, TicketStatus.OPEN, agent.id)
    ticket.updated_at = work.now
    await work.session.flush()
    work.emit(
        events.MESSAGE_SENT,
        ticket,
        message=message_snapshot(message),
        agent=_agent_snapshot(agent),
        origin=origin,
    )
    log.info("reply %s queued", message.id)
    return message


async def note(
    work: Work, number: int, agent: Agent | None, text: str, origin: str | None = None
) -> Message:
    """An internal note: agents see it, the customer never does. Any agent may write one;
    ``agent`` None: the rules did (see ``add_note``)."""
    agent = await acting(work, agent) if agent is not None else None
    ticket = await ticket_for_update(work, number)
    values = _note(ticket, agent, text, work.now)
    conn = await work.session.connection()
    message = Message(id=await conn.scalar(INSERT_MESSAGE, values), **values)
    for name, value in (("author", agent), ("buttons", []), ("delivery", None)):
        set_committed_value(message, name, value)
    ticket.updated_at = work.now
    _noted(work, ticket, message_snapshot(message), agent, origin)
    return message


@batched
async def add_note(work: Work, number: int, text: str, origin: str | None) -> None:
    """A rule's note. In a group of rule runs, the notes are inserted together at the end
    (``Work.batch``): the event's message id is filled in then."""
    ticket = await ticket_for_update(work, number)
    values = _note(ticket, None, text, work.now)
    snapshot = row_snapshot(None, values)
    if work.batch is None:
        conn = await work.session.connection()
        snapshot["id"] = await conn.scalar(INSERT_MESSAGE, values)
        ticket.updated_at = work.now
    else:
        work.batch.insert(INSERT_MESSAGE, values, lambda row_id: snapshot.update(id=row_id))
        work.batch.touch(ticket)
    _noted(work, ticket, snapshot, None, origin)


def _note(ticket: Ticket, agent: Agent | None, text: str, now: datetime) -> dict[str, Any]:
    """A note's row, written with one INSERT rather than through the ORM's unit of work."""
    return {
        "ticket_id": ticket.id,
        "inbox_id": ticket.inbox_id,
        "direction": Direction.OUT,
        "internal": True,
        "author_agent_id": agent.id if agent is not None else None,
        "text": checked_text(text),
        "created_at": now,
        "attachments": [],
        "edits": [],
    }


def _noted(
    work: Work,
    ticket: Ticket,
    message: dict[str, Any],
    agent: Agent | None,
    origin: str | None,
) -> None:
    work.emit(
        events.NOTE_ADDED,
        ticket,
        message=message,
        agent=_agent_snapshot(agent),
        origin=origin,
    )


async def assign(work: Work, number: int, agent: Agent, assignee_id: int | None) -> Ticket:
    """Give the ticket to ``assignee_id`` (None: nobody). Agents may only take or drop it."""
    agent = await acting(work, agent)
    ticket = await ticket_for_update(work, number)
    target = None
    if assignee_id is not None:
        target = await work.session.get(Agent, assignee_id)
        if target is None or not target.active:
            raise InvalidInput(f"agent {assignee_id} does not exist or is not active")
    if agent.role == Role.AGENT:
        if assignee_id not in (None, agent.id):
            raise Forbidden(
                "agents may assign tickets only to themselves; "
                "a supervisor or an admin may assign them to others"
            )
        _check_rights(agent, ticket, "reassign")
    if (ticket.assignee.id if ticket.assignee else None) != assignee_id:
        await assign_to(work, ticket, target, by=agent)
    return ticket


async def set_status(work: Work, number: int, agent: Agent, status: TicketStatus) -> Ticket:
    """Move the ticket along its lifecycle; a move the lifecycle lacks is refused."""
    agent = await acting(work, agent)
    ticket = await ticket_for_update(work, number)
    _check_rights(agent, ticket, "change the status of")
    current = TicketStatus(ticket.status)
    if status not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current])) or "nothing"
        raise InvalidTransition(
            f"ticket #{number} is {current}; it can become {allowed}, not {status}"
        )
    await change_status(work, ticket, status, agent.id)
    log.info("status %s -> %s", current, status)
    return ticket


async def take(work: Work, number: int, agent: Agent) -> Message:
    """The agent takes the ticket into work and the customer is told who is on it: the ticket
    becomes theirs and open (from new or waiting), and the notice is their public reply, so
    it meets the SLA reaction like any reply of theirs."""
    agent = await acting(work, agent)
    await assign(work, number, agent, agent.id)
    ticket = await ticket_for_update(work, number)
    if ticket.status == TicketStatus.WAITING:
        await change_status(work, ticket, TicketStatus.OPEN, agent.id)
    notice = i18n.text(work.locale, "ticket.taken", agent=agent.name, number=number)
    return await reply(work, number, agent, notice)


async def assign_to(work: Work, ticket: Ticket, target: Agent | None, by: Agent | None) -> None:
    """Give the ticket to ``target``; ``by`` None: the rules did. The caller checked rights."""
    old = ticket.assignee
    ticket.assignee = target
    ticket.updated_at = work.now
    names = (old.name if old else None, target.name if target else None)
    await audit(work, ticket.id, "assign", *names, agent_id=by and by.id, actor=_actor(by))
    work.emit(
        events.TICKET_ASSIGNED,
        ticket,
        agent=_agent_snapshot(target),
        previous=_agent_snapshot(old),
        by=_agent_snapshot(by),
    )


def _actor(agent: Agent | None) -> str:
    return "agent" if agent is not None else "rule"


def _agent_snapshot(agent: Agent | None) -> dict[str, object] | None:
    if agent is None:
        return None
    return {"id": agent.id, "name": agent.name, "role": agent.role}
