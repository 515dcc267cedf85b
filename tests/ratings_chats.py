"""What the chat channels' rating and survey tests share: the rules, a clock the test moves,
closing a ticket so the rule asks for a rating (or sends a survey of one NPS question) two
hours later, and reading the stored ratings and survey answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from core.clock import utcnow
from core.db import Database
from core.models import Agent, Rating, SurveyAnswer, Ticket, TicketStatus
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

NPS_SURVEY = """
[[survey]]
id = "nps"
title = "How did we do?"

[[survey.question]]
id = "recommend"
kind = "nps"
text = { en = "Would you recommend us to a friend?", ru = "Порекомендуете ли вы нас другу?" }
"""
SURVEY_RULES = """
[[rule]]
id = "survey"
on = "ticket.closed"
delay = "2h"
then = [{ action = "request_survey", survey = "nps", text = "About request #{{ ticket.number }}:" }]

[[rule]]
id = "detractor"
on = "survey.submitted"
if = { field = "survey.nps_group", eq = "detractor" }
then = [{ action = "note", text = "NPS {{ survey.nps }} from a detractor" }]
"""
SURVEY_ASKED = "About request #1:"
SURVEY_THANKS = "Thank you for your answer! It helps us get better."
SURVEY_EXPIRED = "Thank you! This survey has expired, so we could not record your answer."
SURVEY_ANSWERED = "This survey has already been answered; the answers cannot be changed."


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


def write_survey_rules(tmp: Path) -> None:
    """The survey of one NPS question in the service's default surveys_dir under ``tmp``, sent
    two hours after a ticket closes; a detractor's answer noted on the ticket."""
    (tmp / "surveys").mkdir(exist_ok=True)
    (tmp / "surveys" / "nps.toml").write_text(NPS_SURVEY, encoding="utf-8")
    folder = tmp / "dispatcher_rules"
    folder.mkdir(exist_ok=True)
    (folder / "surveys.toml").write_text(SURVEY_RULES, encoding="utf-8")


async def close_and_ask(svc: Running, clock: Clock, number: int) -> Agent:
    """Agent anna takes ticket ``number`` and closes it; two hours later the rule asks for a
    rating (or sends the survey). Returns anna, whom the answer credits."""
    desk = svc.state.desk
    anna = await make_agent(svc.state.db, "anna")
    await desk.assign(number, anna, anna.id)
    await desk.set_status(number, anna, TicketStatus.CLOSED)
    clock.advance(hours=2)
    await svc.app[ENGINE].fire_due()
    return anna


async def ratings(db: Database) -> list[Rating]:
    return await rows(db, Rating)


async def survey_answers(db: Database) -> list[tuple[str, int | None]]:
    """The stored survey answers: (question id, value)."""
    return [(a.question_id, a.value) for a in await rows(db, SurveyAnswer)]


async def ticket_count(db: Database) -> int:
    async with db.reading() as s:
        return await s.scalar(select(func.count()).select_from(Ticket)) or 0


async def status(db: Database, number: int) -> str:
    async with db.reading() as s:
        found = await s.scalar(select(Ticket.status).where(Ticket.number == number))
        assert found is not None
        return found
