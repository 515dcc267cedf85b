"""An agent's notifications from rules' ``notify``: listing them, counting and marking unread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from core.db import Database
from core.errors import NotFound
from core.models import Notification, Ticket


@dataclass(frozen=True)
class NotificationView:
    notification: Notification
    ticket_number: int | None


async def for_agent(db: Database, agent_id: int, limit: int = 50) -> Sequence[NotificationView]:
    """The agent's notifications: unread first, then newest first."""
    query = (
        select(Notification, Ticket.number)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.agent_id == agent_id)
        .order_by(
            Notification.read_at.is_not(None),
            Notification.created_at.desc(),
            Notification.id.desc(),
        )
        .limit(limit)
    )
    async with db.reading() as s:
        return [NotificationView(*row) for row in await s.execute(query)]


async def unread_count(db: Database, agent_id: int) -> int:
    """One indexed count: cheap enough for every page's navigation."""
    query = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.agent_id == agent_id, Notification.read_at.is_(None))
    )
    async with db.reading() as s:
        return await s.scalar(query) or 0


async def mark_read(db: Database, agent_id: int, notification_id: int, now: datetime) -> None:
    """Mark one of the agent's own notifications read; someone else's "does not exist"."""
    async with db.transaction() as s:
        found = await s.get(Notification, notification_id)
        if found is None or found.agent_id != agent_id:
            raise NotFound(f"notification {notification_id} does not exist")
        if found.read_at is None:
            found.read_at = now


async def mark_all_read(db: Database, agent_id: int, now: datetime) -> int:
    """Mark every unread notification of the agent read; returns how many."""
    async with db.transaction() as s:
        result = await s.execute(
            update(Notification)
            .where(Notification.agent_id == agent_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        return result.rowcount
