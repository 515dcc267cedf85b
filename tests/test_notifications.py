"""Notifications: an agent's own, unread first, counted, marked read one by one or all."""

from datetime import timedelta

import pytest

from core import notifications
from core.clock import utcnow
from core.db import Database
from core.errors import NotFound
from core.models import Agent, Notification
from tests.people import make_agent


async def notify(db: Database, agent: Agent, text: str, minutes_ago: int = 0) -> Notification:
    async with db.transaction() as s:
        row = Notification(
            agent_id=agent.id, text=text, created_at=utcnow() - timedelta(minutes=minutes_ago)
        )
        s.add(row)
    return row


def texts(views) -> list[str]:
    return [v.notification.text for v in views]


async def test_unread_come_first_then_newest_first(db: Database):
    anna = await make_agent(db, "anna")
    old = await notify(db, anna, "old", minutes_ago=30)
    await notify(db, anna, "older", minutes_ago=60)
    await notify(db, anna, "new", minutes_ago=1)
    await notifications.mark_read(db, anna.id, old.id, utcnow())
    assert texts(await notifications.for_agent(db, anna.id)) == ["new", "older", "old"]
    assert texts(await notifications.for_agent(db, anna.id, limit=1)) == ["new"]


async def test_unread_count_and_marking_all_read_touch_only_ones_own(db: Database):
    anna, boris = await make_agent(db, "anna"), await make_agent(db, "boris")
    for text in ("a", "b"):
        await notify(db, anna, text)
    await notify(db, boris, "c")
    assert await notifications.unread_count(db, anna.id) == 2
    assert await notifications.mark_all_read(db, anna.id, utcnow()) == 2
    assert await notifications.unread_count(db, anna.id) == 0
    assert await notifications.unread_count(db, boris.id) == 1
    assert await notifications.mark_all_read(db, anna.id, utcnow()) == 0


async def test_marking_read_keeps_the_first_read_time(db: Database):
    anna = await make_agent(db, "anna")
    row = await notify(db, anna, "a")
    first = utcnow()
    await notifications.mark_read(db, anna.id, row.id, first)
    await notifications.mark_read(db, anna.id, row.id, first + timedelta(hours=1))
    [view] = await notifications.for_agent(db, anna.id)
    assert view.notification.read_at == first


async def test_nobody_marks_someone_elses_notification(db: Database):
    anna, boris = await make_agent(db, "anna"), await make_agent(db, "boris")
    row = await notify(db, anna, "a")
    with pytest.raises(NotFound, match=f"notification {row.id} does not exist"):
        await notifications.mark_read(db, boris.id, row.id, utcnow())
    assert await notifications.unread_count(db, anna.id) == 1
