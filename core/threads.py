"""Agents' threads: the place outside the web inbox where agents follow a ticket (a Telegram
forum topic), stored so the same thread serves the ticket again when it reopens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select, update

from core.clock import utcnow
from core.db import Database
from core.models import Inbox, Ticket, TicketThread


@dataclass(frozen=True)
class Thread:
    ticket_id: int
    ticket_number: int
    chat_id: str
    thread_id: str
    title: str


async def for_ticket(db: Database, inbox: str, ticket_id: int) -> Thread | None:
    async with db.reading() as s:
        row = (await s.execute(_threads(inbox).where(TicketThread.ticket_id == ticket_id))).first()
    return Thread(*row) if row else None


async def at(db: Database, inbox: str, chat_id: str, thread_id: str) -> Thread | None:
    """The ticket followed in this chat's thread, if any."""
    async with db.reading() as s:
        row = (
            await s.execute(
                _threads(inbox).where(
                    TicketThread.chat_id == chat_id, TicketThread.thread_id == thread_id
                )
            )
        ).first()
    return Thread(*row) if row else None


async def remember(db: Database, inbox: str, thread: Thread) -> None:
    async with db.transaction() as s:
        inbox_id = await s.scalar(select(Inbox.id).where(Inbox.name == inbox))
        s.add(
            TicketThread(
                inbox_id=inbox_id,
                ticket_id=thread.ticket_id,
                chat_id=thread.chat_id,
                thread_id=thread.thread_id,
                title=thread.title,
                created_at=utcnow(),
            )
        )


async def retitle(db: Database, inbox: str, ticket_id: int, title: str) -> None:
    async with db.transaction() as s:
        inbox_id = select(Inbox.id).where(Inbox.name == inbox).scalar_subquery()
        await s.execute(
            update(TicketThread)
            .where(TicketThread.inbox_id == inbox_id, TicketThread.ticket_id == ticket_id)
            .values(title=title)
        )


def _threads(inbox: str) -> Select[tuple[int, int, str, str, str]]:
    return (
        select(
            TicketThread.ticket_id,
            Ticket.number,
            TicketThread.chat_id,
            TicketThread.thread_id,
            TicketThread.title,
        )
        .join(Ticket, Ticket.id == TicketThread.ticket_id)
        .join(Inbox, Inbox.id == TicketThread.inbox_id)
        .where(Inbox.name == inbox)
    )
