"""Helpers for the survey tests: a rule engine that can send surveys, a survey sent on a
running service, the answers of a complete form of the shipped survey."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from core.db import Database
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.messages import Inbound
from core.models import SurveyAnswer
from core.surveys import Surveys, load_surveys
from tests.engine import Rig, rig
from tests.service import Running

SHIPPED_SURVEYS = Path(__file__).resolve().parent.parent / "surveys"
BASE_URL = "https://support.example.com"
# The shipped post-ticket survey, answered in full (form fields by question id).
FULL = {"solved": "yes", "quality": "4", "recommend": "9", "improve": "Answer faster", "other": ""}


@asynccontextmanager
async def survey_rig(
    db: Database, folder: Path, locale: str = "en", surveys: Surveys | None = None
) -> AsyncIterator[tuple[Rig, Engine]]:
    """The rules in ``folder`` over the test database, fired by an engine in ``locale`` that
    sends the shipped surveys (or ``surveys``) with links starting at BASE_URL."""
    async with rig(db, folder) as built:
        loaded = surveys if surveys is not None else load_surveys(SHIPPED_SURVEYS)
        performer = Performer(locale, surveys=loaded, base_url=BASE_URL)
        engine = Engine(built.desk, built.rules, performer, clock=built.clock)
        try:
            yield built, engine
        finally:
            await engine.stop()


async def asked(
    service: Running, expires_in: timedelta = timedelta(days=7), who: str = "v1"
) -> tuple[int, str]:
    """A customer's ticket and the shipped survey sent on it: (ticket number, form token)."""
    desk = service.state.desk
    got = await desk.receive(Inbound(inbox="web", external_id=who, text="Where is my parcel?"))
    [survey] = load_surveys(SHIPPED_SURVEYS)
    request = await desk.request_survey(
        got.ticket_number, survey, expires_in, "Tell us", service.url, "agent:test"
    )
    return got.ticket_number, request.token


async def answers(db: Database) -> list[SurveyAnswer]:
    async with db.reading() as s:
        return list((await s.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id))).all())
