"""Notifications: an agent's own, unread first, counted, marked read one by one or all."""

from datetime import timedelta

import pytest

from core import notifications, queries
from core.clock import utcnow
from core.db import Database
from core.errors import NotFound
from core.models import Agent, Notification
from tests.people import make_agent
from tests.service import Running
from tests.test_inbox_web import customer_writes, signed_in


async def notify(
    db: Database, agent: Agent, text: str, minutes_ago: int = 0, ticket_id: int | None = None
) -> Notification:
    async with db.transaction() as s:
        row = Notification(
            agent_id=agent.id,
            ticket_id=ticket_id,
            text=text,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
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


# The notifications page and the badge in every page's header


async def test_the_badge_counts_unread_and_the_page_marks_them_read(service: Running):
    db = service.state.db
    anna, boris = await make_agent(db, "anna"), await make_agent(db, "boris")
    number = await customer_writes(service, "I am unhappy")
    ticket_id = (await queries.ticket(db, number)).id
    first = await notify(db, anna, "Low rating on <b>#1</b>", minutes_ago=5, ticket_id=ticket_id)
    await notify(db, anna, "SLA breached")
    await notify(db, boris, "For Boris only")
    async with service.client() as http:
        token = await signed_in(http, "anna")
        for path in ("/inbox", f"/inbox/tickets/{number}", "/inbox/tasks"):
            html = await (await http.get(path)).text()
            assert '<span class="count" id="unread-count">2</span>' in html, path
        page = await (await http.get("/inbox/notifications")).text()
        assert "Low rating on &lt;b&gt;#1&lt;/b&gt;" in page and "For Boris only" not in page
        assert f'href="/inbox/tickets/{number}">#{number}<' in page
        assert page.index("SLA breached") < page.index("Low rating")  # newest first
        forged = await http.post("/inbox/notifications/read", data={})
        assert forged.status == 403
        one = await http.post(f"/inbox/notifications/{first.id}/read", data={"csrf": token})
        assert '<span class="count" id="unread-count">1</span>' in await one.text()
        all_read = await http.post("/inbox/notifications/read", data={"csrf": token})
        html = await all_read.text()
        assert 'id="unread-count"' not in html and "Mark all read" not in html
    assert await notifications.unread_count(db, anna.id) == 0
    assert await notifications.unread_count(db, boris.id) == 1


async def test_someone_elses_notification_cannot_be_marked(service: Running):
    db = service.state.db
    anna = await make_agent(db, "anna")
    await make_agent(db, "boris")
    row = await notify(db, anna, "For Anna")
    async with service.client() as http:
        token = await signed_in(http, "boris")
        response = await http.post(f"/inbox/notifications/{row.id}/read", data={"csrf": token})
        assert response.status == 404
    assert await notifications.unread_count(db, anna.id) == 1
