"""The agents' forum topic of a ticket opens with its SLA deadlines (through the Telegram API
emulator); a ticket without SLA opens with none."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete

from bots.telegram import forum_sla
from core import events
from core.db import Database
from core.models import SlaTarget, Ticket
from core.work import Work
from tests.fakes.telegram import FakeTelegram
from tests.service import Running
from tests.test_telegram import tickets
from tests.test_telegram_forum import desk_bot, in_topic, open_ticket, telegram

__all__ = ["desk_bot", "telegram"]  # the forum's fixtures, used here

DUE = {
    "reaction": datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    "resolution": datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
}


def deadlines_on_registration(svc: Running) -> None:
    """Tickets get VIP deadlines in the transaction that registers them, as the SLA does."""

    async def write(work: Work) -> None:
        for event in work.events:
            if event.name != events.TICKET_CREATED or event.ticket_id is None:
                continue
            ticket = await work.session.get(Ticket, event.ticket_id)
            assert ticket is not None
            await work.session.execute(delete(SlaTarget).where(SlaTarget.ticket_id == ticket.id))
            for target, due in DUE.items():
                work.session.add(
                    SlaTarget(
                        ticket_id=ticket.id,
                        inbox_id=ticket.inbox_id,
                        level="VIP",
                        calendar="office",
                        target=target,
                        started_at=work.now,
                        due_at=due,
                    )
                )

    svc.state.desk.before_commit(write)


async def test_the_topic_opens_with_the_deadlines(desk_bot: Running, telegram: FakeTelegram):
    deadlines_on_registration(desk_bot)
    thread = await open_ticket(desk_bot, telegram)
    assert in_topic(telegram, thread) == [
        "⏱ SLA «VIP»: Reaction by 2026-03-10 09:30 UTC; Resolution by 2026-03-10 14:00 UTC",
        "👤 Alice Smith:\nWhere is my order?",
    ]


async def test_without_deadlines_no_line(desk_bot: Running, telegram: FakeTelegram):
    thread = await open_ticket(desk_bot, telegram)
    assert in_topic(telegram, thread) == ["👤 Alice Smith:\nWhere is my order?"]


async def test_the_line_in_russian(desk_bot: Running, telegram: FakeTelegram, db: Database):
    deadlines_on_registration(desk_bot)
    await open_ticket(desk_bot, telegram)
    [ticket] = await tickets(db)
    assert await forum_sla.line(db, "ru", ticket.id) == (
        "⏱ SLA «VIP»: Реакция до 2026-03-10 09:30 UTC; Решение до 2026-03-10 14:00 UTC"
    )
