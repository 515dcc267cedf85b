"""Inboxes as the core sees them: a row each, looked up once and then served from memory.

Inbox rows are written only when the configuration is synced at start, so every process may
keep them; an inbox it has not seen yet is read from the database on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.models import Inbox, Ticket


@dataclass(frozen=True)
class InboxRef:
    id: int
    name: str
    channel: str


class Inboxes:
    def __init__(self) -> None:
        self._by_name: dict[str, InboxRef] = {}
        self._by_id: dict[int, InboxRef] = {}

    def remember(self, row: Inbox) -> InboxRef:
        ref = InboxRef(row.id, row.name, row.channel)
        self._by_name[ref.name] = self._by_id[ref.id] = ref
        return ref

    def of(self, ticket: Ticket) -> InboxRef:
        """The ticket's inbox, from memory when known (a new ticket's always is)."""
        return self._by_id.get(ticket.inbox_id) or self.remember(ticket.inbox)

    async def named(self, session: AsyncSession, name: str) -> InboxRef:
        if ref := self._by_name.get(name):
            return ref
        row = await session.scalar(select(Inbox).where(Inbox.name == name))
        if row is None:
            raise NotFound(f"inbox {name!r} is not configured")
        return self.remember(row)
