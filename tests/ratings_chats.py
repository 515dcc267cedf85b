"""What the chat channels' rating tests share: the rules, a clock the test moves, closing a
ticket so the rule asks for a rating two hours later, and reading the stored ratings."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from core.clock import utcnow
from core.db import Database
from core.models import Agent, Rating, Ticket, TicketStatus
from otklik.service import ENGINE
from tests.engine import rows
from tests.people import make_agent
from tests.service import Running

RULES = """
[[rule]]
id = "rate"
on = "ticket.closed"
delay = "2h"
then = [{ action = "request_rating", scale = "SCALE" }]

[[rule]]
id = "thanks"
on = "rating.received"
then = [{ action = "reply", text = "Thank you for your {{ rating.value }}!" }]

[[rule]]
id = "why"
on = "rating.received"
if = { field = "rating.bucket", eq = "negative" }
then = [{ action = "ask_comment", text = "Sorry! What went wrong?", within = "1h" }]
"""
THANKS = "Thank you for your "
WHY = "Sorry! What went wrong?"
EXPIRED = "Thank you! This rating request has expired, so we could not record your answer."


class Clock:
    """The service's time: the real one, moved on by the test."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def advance(self, **delta: float) -> None:
        self.ahead += timedelta(**delta)


def write_rules(tmp: Path, scale: str) -> None:
    """Rules in the service's default folder under ``tmp`` (tests/service.py): a ``scale``
    rating asked two hours after a ticket closes, thanks for it, a comment asked for a
    negative one."""
    folder = tmp / "dispatcher_rules"
    folder.mkdir(exist_ok=True)
    (folder / "ratings.toml").write_text(RULES.replace("SCALE", scale), encoding="utf-8")


async def close_and_ask(svc: Running, clock: Clock, number: int) -> Agent:
    """Agent anna takes ticket ``number`` and closes it; two hours later the rule asks for a
    rating. Returns anna, whom the rating credits."""
    desk = svc.state.desk
    anna = await make_agent(svc.state.db, "anna")
    await desk.assign(number, anna, anna.id)
    await desk.set_status(number, anna, TicketStatus.CLOSED)
    clock.advance(hours=2)
    await svc.app[ENGINE].fire_due()
    return anna


async def ratings(db: Database) -> list[Rating]:
    return await rows(db, Rating)


async def ticket_count(db: Database) -> int:
    async with db.reading() as s:
        return await s.scalar(select(func.count()).select_from(Ticket)) or 0


async def status(db: Database, number: int) -> str:
    async with db.reading() as s:
        found = await s.scalar(select(Ticket.status).where(Ticket.number == number))
        assert found is not None
        return found
