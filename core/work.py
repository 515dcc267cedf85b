"""A unit of work: one transaction, the events it caused, published only after commit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from sqlalchemy import Insert, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from core.events import Event
from core.inboxes import Inboxes, InboxRef
from core.models import Message, Ticket


@dataclass(frozen=True)
class Facts:
    """What events tell of a ticket, its customer and inbox, however the ticket was read."""

    id: int
    number: int
    subject: str
    status: str
    priority: str
    tags: tuple[str, ...]
    created_at: datetime
    inbox: InboxRef
    assignee_id: int | None
    assignee_name: str | None
    customer_id: int
    customer_name: str
    customer_email: str | None

    @classmethod
    def of(cls, ticket: Ticket, inbox: InboxRef) -> Facts:
        return cls(
            id=ticket.id,
            number=ticket.number,
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            tags=tuple(ticket.tags or ()),
            created_at=ticket.created_at,
            inbox=inbox,
            assignee_id=ticket.assignee.id if ticket.assignee else None,
            assignee_name=ticket.assignee.name if ticket.assignee else None,
            customer_id=ticket.customer.id,
            customer_name=ticket.customer.name,
            customer_email=ticket.customer.email,
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "ticket": {
                "id": self.id,
                "number": self.number,
                "subject": self.subject,
                "status": self.status,
                "priority": self.priority,
                "assignee_id": self.assignee_id,
                "assignee": self.assignee_name,
                "tags": list(self.tags),
                "created_at": self.created_at.isoformat(),
            },
            "customer": {
                "id": self.customer_id,
                "name": self.customer_name,
                "email": self.customer_email,
            },
            "inbox": {"name": self.inbox.name, "channel": self.inbox.channel},
        }


V = TypeVar("V", bound=Callable[..., Any])
# A message row written without the ORM's unit of work; its id comes back (in the order of
# the rows, when several are written at once).
INSERT_MESSAGE = insert(Message).returning(Message.id, sort_by_parameter_order=True)


def batched(verb: V) -> V:
    """Mark a verb that may leave its inserts to ``Work.batch`` (see ``Batch``)."""
    verb.batched = True  # type: ignore[attr-defined]
    return verb


class Batch:
    """What the verbs of one transaction write together, one statement per kind (a group of
    rule runs writing a note each: one INSERT of all the notes, and one UPDATE of the
    tickets' ``updated_at``, not one of each a run). Each row's ``then`` gets its id once
    written. The transaction writes them (``write``) before anything else reads or writes
    and before it commits (``Unit.settle``)."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._rows: dict[Insert, list[tuple[dict[str, Any], Callable[[int], None]]]] = {}
        self._touched: list[Ticket] = []

    def insert(
        self, statement: Insert, values: dict[str, Any], then: Callable[[int], None]
    ) -> None:
        """``statement``: an INSERT … RETURNING the id, sorted by parameter order."""
        self._rows.setdefault(statement, []).append((values, then))

    def touch(self, ticket: Ticket) -> None:
        """The ticket changed: its ``updated_at`` (the transaction's now) is written with the
        batch."""
        self._touched.append(ticket)

    async def write(self, session: AsyncSession) -> None:
        conn = await session.connection()
        rows, self._rows = self._rows, {}
        for statement, waiting in rows.items():
            ids = (await conn.execute(statement, [values for values, _ in waiting])).scalars()
            for (_, then), row_id in zip(waiting, ids, strict=True):
                then(row_id)
        touched, self._touched = self._touched, []
        if touched:
            ids = {ticket.id for ticket in touched}
            await conn.execute(
                update(Ticket).where(Ticket.id.in_(ids)).values(updated_at=self._now)
            )
            for ticket in touched:  # the session's copies, as written (and not left to flush)
                set_committed_value(ticket, "updated_at", self._now)


@dataclass
class Work:
    session: AsyncSession
    now: datetime
    inboxes: Inboxes
    retry: bool = False  # a conflicting concurrent write made this unit of work run again
    depth: int = 0  # the depth of the events it emits (see Event.depth)
    zone: tzinfo = UTC  # the service's time zone: where a day begins (ratings)
    locale: str = "en"  # the service's language: texts the core writes (a survey's thanks)
    # Tickets the transaction locked already, by number (a group of rule runs locks its
    # tickets up front): ``tickets.ticket_for_update`` takes them from here.
    locked: Mapping[int, Ticket] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    outbox_queued: bool = False
    # Where a ``batched`` verb leaves its inserts, when its transaction batches them.
    batch: Batch | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def emit(self, name: str, ticket: Ticket | Facts | None = None, **data: Any) -> None:
        if isinstance(ticket, Ticket):
            ticket = Facts.of(ticket, self.inboxes.of(ticket))
        if ticket is not None:
            data = {**ticket.snapshot(), **data}
        self.events.append(
            Event(
                name,
                self.now,
                ticket_id=ticket.id if ticket else None,
                data=data,
                depth=self.depth,
            )
        )


def message_snapshot(message: Message) -> dict[str, Any]:
    return row_snapshot(
        message.id,
        {
            "text": message.text,
            "direction": message.direction,
            "internal": message.internal,
            "attachments": message.attachments,
            "author_agent_id": message.author_agent_id,
            "created_at": message.created_at,
        },
    )


def row_snapshot(message_id: int | None, row: Mapping[str, Any]) -> dict[str, Any]:
    """What events tell of a message, from the values of its row as inserted (no ORM object
    is made for a row written with a plain INSERT)."""
    return {
        "id": message_id,
        "text": row["text"],
        "direction": row["direction"],
        "internal": row["internal"],
        "attachments": row["attachments"],
        "author_id": row["author_agent_id"],
        "created_at": row["created_at"].isoformat(),
    }


async def facts_of(
    session: AsyncSession, inboxes: Inboxes, ticket_id: int
) -> dict[str, Any] | None:
    """What events tell of a ticket as ``session`` sees it now (None: no such ticket)."""
    ticket = await session.get(Ticket, ticket_id)
    return None if ticket is None else Facts.of(ticket, inboxes.of(ticket)).snapshot()
