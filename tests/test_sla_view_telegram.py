"""The agents' forum topic of a ticket opens with its SLA deadlines in the service's time zone,
named (through the Telegram API emulator); a ticket without SLA opens with none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from bots.telegram import forum_sla
from core import events
from core.db import Database
from core.models import SlaTarget, Ticket
from core.work import Work
from tests.fakes.telegram import FakeTelegram
from tests.service import Running
from tests.test_telegram import tickets
from tests.test_telegram_forum import desk_bot, forum_service, in_topic, open_ticket, telegram

__all__ = ["desk_bot", "telegram"]  # the forum's fixtures, used here

DUE = {
    "reaction": datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    "resolution": datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
}


@pytest.fixture
async def moscow_bot(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram
) -> AsyncIterator[Running]:
    """The forum's service (tests/test_telegram_forum.py's ``desk_bot``) in Moscow's time."""
    async for svc in forum_service(database_url, tmp_path, telegram, timezone="Europe/Moscow"):
        yield svc


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


async def test_the_topic_opens_with_the_deadlines_in_local_time(
    moscow_bot: Running, telegram: FakeTelegram
):
    deadlines_on_registration(moscow_bot)
    thread = await open_ticket(moscow_bot, telegram)
    assert in_topic(telegram, thread) == [  # UTC+3
        "⏱ SLA «VIP»: Reaction by 2026-03-10 12:30; Resolution by 2026-03-10 17:00 (Europe/Moscow)",
        "👤 Alice Smith:\nWhere is my order?",
    ]


async def test_a_service_in_utc_says_so(desk_bot: Running, telegram: FakeTelegram):
    deadlines_on_registration(desk_bot)
    thread = await open_ticket(desk_bot, telegram)
    assert in_topic(telegram, thread)[0] == (
        "⏱ SLA «VIP»: Reaction by 2026-03-10 09:30; Resolution by 2026-03-10 14:00 (UTC)"
    )


async def test_without_deadlines_no_line(desk_bot: Running, telegram: FakeTelegram):
    thread = await open_ticket(desk_bot, telegram)
    assert in_topic(telegram, thread) == ["👤 Alice Smith:\nWhere is my order?"]


async def test_the_line_in_russian(desk_bot: Running, telegram: FakeTelegram, db: Database):
    deadlines_on_registration(desk_bot)
    await open_ticket(desk_bot, telegram)
    [ticket] = await tickets(db)
    # New York is on winter time until March 8: UTC-4 from then.
    assert await forum_sla.line(db, "ru", ZoneInfo("America/New_York"), ticket.id) == (
        "⏱ SLA «VIP»: Реакция до 2026-03-10 05:30; Решение до 2026-03-10 10:00 (America/New_York)"
    )
