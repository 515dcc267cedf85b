"""The shipped survey flow: dispatcher_rules/ and surveys/ as shipped. Nothing sends the
survey until an admin switches the example rule on; then it goes a day after a close, and the
answers notify the assignee and give them a task on their supervisor's behalf."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from core.db import Database
from core.engine.runner import Engine
from core.messages import Inbound
from core.models import Agent, Notification, Role, SurveyRequest, Task, TicketStatus
from tests.engine import Rig, rows
from tests.people import make_agent
from tests.surveys import BASE_URL, FULL, survey_rig

SHIPPED = Path(__file__).resolve().parent.parent / "dispatcher_rules"
EXAMPLE = SHIPPED / "96-survey-answers.toml"

NOTICE = {
    "en": "Alice answered the survey on #{n}: would recommend us 9/10",
    "ru": "Alice ответил(а) на опрос по обращению #{n}: порекомендует нас на 9/10",
}
TITLE = {
    "en": "From your supervisor: read the survey answers on #{n}",
    "ru": "От руководителя: прочитайте ответы на опрос по обращению #{n}",
}
LINES = {
    "en": [
        "Satisfied with the solution: yes",
        "Service quality (1-5): 4",
        "Would recommend us (0-10): 9",
        "What to improve: Answer faster",
        "Anything else: -",
    ],
    "ru": [
        "Доволен(льна) решением: да",
        "Качество обслуживания (1–5): 4",
        "Порекомендует нас (0–10): 9",
        "Что улучшить: Answer faster",
        "Что-то ещё: -",
    ],
}
ASK = {
    "en": "How did we do?: please answer a few questions about your request #{n}. It takes a"
    " minute:",
    "ru": "Как мы справились?: ответьте, пожалуйста, на несколько вопросов об обращении №{n}."
    " Это займёт минуту:",
}


@pytest.fixture(params=["en", "ru"])
async def shipped(
    request: pytest.FixtureRequest, db: Database, tmp_path: Path
) -> AsyncIterator[tuple[Rig, Engine, str]]:
    for path in SHIPPED.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    async with survey_rig(db, tmp_path, request.param) as (r, engine):
        assert r.rules.reload(), r.rules.problems
        yield r, engine, request.param


async def closed(r: Rig, engine: Engine) -> int:
    """A ticket of Alice, assigned to "ann" (supervised by "sue"), closed by ann."""
    sue = await make_agent(r.db, "sue", Role.SUPERVISOR)
    ann = await make_agent(r.db, "ann")
    async with r.db.transaction() as s:
        await s.execute(update(Agent).where(Agent.id == ann.id).values(supervisor_id=sue.id))
    got = await r.desk.receive(
        Inbound(inbox="web", external_id="alice", text="Help", customer_name="Alice")
    )
    await r.desk.assign(got.ticket_number, ann, ann.id)
    await r.desk.set_status(got.ticket_number, ann, TicketStatus.CLOSED)
    await engine.fire_due()
    return got.ticket_number


async def test_as_shipped_no_survey_is_sent(shipped: tuple[Rig, Engine, str]):
    r, engine, _ = shipped
    await closed(r, engine)
    r.clock.advance(days=2)
    await engine.fire_due()
    assert await rows(r.db, SurveyRequest) == []


async def test_switched_on_the_survey_goes_a_day_after_close_and_answers_reach_the_agent(
    shipped: tuple[Rig, Engine, str],
):
    r, engine, locale = shipped
    example = EXAMPLE.read_text("utf-8").replace("enabled = false", "enabled = true")
    r.write(example, EXAMPLE.name)
    number = await closed(r, engine)
    assert await rows(r.db, SurveyRequest) == [], "the survey waits a day"
    r.clock.advance(days=1)
    await engine.fire_due()
    [asked] = await rows(r.db, SurveyRequest)
    assert (await r.texts(number))[-1] == (
        f"{ASK[locale].format(n=number)}\n{BASE_URL}/survey/{asked.token}"
    )

    await r.desk.submit_survey(asked.token, FULL)
    await engine.fire_due()
    ann = (await r.ticket(number)).assignee_id
    [notice] = await rows(r.db, Notification)
    assert notice.agent_id == ann and notice.text == NOTICE[locale].format(n=number)
    [task] = await rows(r.db, Task)
    assert task.owner_id == ann and task.rule_id == "survey-task"
    assert task.title == TITLE[locale].format(n=number)
    assert task.description.splitlines()[1:] == LINES[locale]
    assert task.due_at == r.clock.now + timedelta(days=2)
