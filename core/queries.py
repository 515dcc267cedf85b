"""Read side: ticket lists with filters, one ticket's conversation and audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import joinedload

from core.db import Database
from core.errors import NotFound
from core.models import Agent, AuditEntry, Customer, Identity, Inbox, Message, RuleStat, Ticket


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None  # a status, or "live" for new, open and waiting
    assignee_id: int | None = None
    unassigned: bool = False
    inbox: str | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


def filtered_tickets(f: TicketFilter) -> Select[tuple[Ticket]]:
    """The tickets ``f`` selects, unordered and unpaged: each list orders and pages it."""
    query = select(Ticket)
    if f.status == "live":
        query = query.where(Ticket.status.in_(("new", "open", "waiting")))
    elif f.status:
        query = query.where(Ticket.status == f.status)
    if f.unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    elif f.assignee_id is not None:
        query = query.where(Ticket.assignee_id == f.assignee_id)
    if f.inbox:
        query = query.where(Ticket.inbox_id.in_(select(Inbox.id).where(Inbox.name == f.inbox)))
    if f.text and f.text.strip():
        query = query.where(_matches(f.text.strip()))
    return query


def _matches(text: str) -> ColumnElement[bool]:
    """Subject, customer name or message text contains ``text``; or it is the ticket's number."""
    needle = f"%{_escape_like(text.lower())}%"
    digits = text.removeprefix("#")
    # Longer digit strings (phone numbers) are no ticket number and overflow the column.
    by_number = [Ticket.number == int(digits)] if digits.isdigit() and len(digits) <= 9 else []
    return or_(
        func.lower(Ticket.subject).like(needle, escape="\\"),
        Ticket.customer_id.in_(
            select(Customer.id).where(func.lower(Customer.name).like(needle, escape="\\"))
        ),
        Ticket.id.in_(
            select(Message.ticket_id).where(func.lower(Message.text).like(needle, escape="\\"))
        ),
        *by_number,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def tickets(db: Database, f: TicketFilter) -> tuple[Sequence[Ticket], int]:
    """One page of tickets, most recently active first, and how many match in all."""
    query = filtered_tickets(f)
    async with db.reading() as s:
        total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = await s.scalars(
            query.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
            .limit(f.limit)
            .offset(f.offset)
        )
        return page.unique().all(), total


async def ticket(db: Database, number: int) -> Ticket:
    async with db.reading() as s:
        found = await s.scalar(select(Ticket).where(Ticket.number == number))
    if found is None:
        raise NotFound(f"ticket #{number} does not exist")
    return found


async def messages(
    db: Database, ticket_id: int, *, include_internal: bool = True, after_id: int = 0
) -> Sequence[Message]:
    query = select(Message).where(Message.ticket_id == ticket_id, Message.id > after_id)
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    async with db.reading() as s:
        return (await s.scalars(query.order_by(Message.id))).unique().all()


async def message(db: Database, message_id: int) -> Message:
    async with db.reading() as s:
        found = await s.scalar(
            select(Message).options(joinedload(Message.inbox)).where(Message.id == message_id)
        )
    if found is None:
        raise NotFound(f"message {message_id} does not exist")
    return found


async def audit(db: Database, ticket_id: int) -> Sequence[AuditEntry]:
    async with db.reading() as s:
        return (
            (
                await s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.ticket_id == ticket_id)
                    .order_by(AuditEntry.id)
                )
            )
            .unique()
            .all()
        )


async def customer_history(
    db: Database, inbox: str, external_id: str, limit: int = 200
) -> Sequence[Message]:
    """What a customer sees in a chat: every non-internal message of theirs in that inbox."""
    async with db.reading() as s:
        rows = await s.scalars(
            select(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .join(Identity, Identity.id == Ticket.identity_id)
            .join(Inbox, Inbox.id == Identity.inbox_id)
            .where(
                Inbox.name == inbox,
                Identity.external_id == external_id,
                Message.internal.is_(False),
            )
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return list(reversed(rows.unique().all()))


async def agents(db: Database, *, active_only: bool = True) -> Sequence[Agent]:
    query = select(Agent).order_by(Agent.name)
    if active_only:
        query = query.where(Agent.active.is_(True))
    async with db.reading() as s:
        return (await s.scalars(query)).all()


async def agent(db: Database, agent_id: int) -> Agent:
    async with db.reading() as s:
        found = await s.get(Agent, agent_id)
    if found is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return found


async def rule_stats(db: Database) -> dict[str, RuleStat]:
    """How often each rule fired, and when last, by rule id."""
    async with db.reading() as s:
        return {stat.rule_id: stat for stat in await s.scalars(select(RuleStat))}
