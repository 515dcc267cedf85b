"""Surveys in the core and the rule engine: request_survey sends the link, the submission is
checked question by question and stored once, survey.submitted reaches the rules."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.db import Database
from core.engine.runner import Engine
from core.errors import NotFound
from core.messages import Inbound
from core.models import Message, SurveyAnswer, SurveyRequest, TicketStatus
from core.surveys.answers import AnswersInvalid
from core.surveys.requests import SurveyAlreadySent, SurveyExpired
from tests.engine import Rig, rows
from tests.people import make_agent
from tests.surveys import BASE_URL, FULL, survey_rig

ASK = """
[[rule]]
id = "ask"
on = "ticket.closed"
then = [{ action = "request_survey", survey = "post-ticket", expires_in = "2d"TEXT }]

[[rule]]
id = "answers"
on = "survey.submitted"
then = [{ action = "note", text = "NOTE" }]
""".replace(
    "NOTE",
    "{{ survey.id }} #{{ survey.request_id }} by {{ agent.name }}: nps={{ survey.nps }}"
    " ({{ survey.nps_group }}) solved={{ survey.answers.solved }}"
    " quality={{ survey.answers.quality }} improve={{ survey.answers.improve }}"
    " other={{ survey.answers.other }} answered={{ survey.answered | join(',') }}",
)


class Surveyed:
    def __init__(self, r: Rig, engine: Engine) -> None:
        self.r, self.engine, self.desk = r, engine, r.desk

    async def closed(self, text: str = "") -> tuple[int, SurveyRequest]:
        """A ticket assigned to "ann", closed: the survey request the rule sent."""
        self.r.write(ASK.replace("TEXT", text))
        got = await self.desk.receive(Inbound(inbox="web", external_id="alice", text="Help"))
        ann = await make_agent(self.r.db, "ann")
        await self.desk.assign(got.ticket_number, ann, ann.id)
        await self.desk.set_status(got.ticket_number, ann, TicketStatus.CLOSED)
        await self.engine.fire_due()
        [asked] = await rows(self.r.db, SurveyRequest)
        return got.ticket_number, asked

    async def submit(self, token: str, form: dict[str, str]) -> None:
        await self.desk.submit_survey(token, form)
        await self.engine.fire_due()


@pytest.fixture
async def s(db: Database, tmp_path: Path) -> AsyncIterator[Surveyed]:
    async with survey_rig(db, tmp_path) as (r, engine):
        yield Surveyed(r, engine)


async def test_the_action_sends_the_default_text_with_the_full_link(s: Surveyed):
    number, asked = await s.closed()
    assert (await s.r.texts(number))[-1] == (
        f"How did we do?: please answer a few questions about your request #{number}. It takes"
        f" a minute:\n{BASE_URL}/survey/{asked.token}"
    )
    assert asked.survey_id == "post-ticket" and asked.origin == "rule:ask"
    assert asked.created_at == s.r.clock.now and asked.submitted_at is None
    assert asked.expires_at == s.r.clock.now + timedelta(days=2)
    ann = (await s.r.ticket(number)).assignee_id
    assert asked.agent_id == ann and ann is not None
    assert [q["id"] for q in asked.questions["questions"]] == list(FULL)
    assert len(asked.token) >= 20
    [message] = await rows(s.r.db, Message, Message.id == asked.message_id)
    assert not message.internal and (await s.r.ticket(number)).status == TicketStatus.CLOSED


async def test_the_rule_text_is_a_template_and_the_link_follows_it(s: Surveyed):
    text = ', text = { en = "Tell us about #{{ ticket.number }}", ru = "Расскажите" }'
    number, asked = await s.closed(text)
    assert (await s.r.texts(number))[-1] == (
        f"Tell us about #{number}\n{BASE_URL}/survey/{asked.token}"
    )


async def test_a_submission_is_stored_per_answer_and_emits_survey_submitted(s: Surveyed):
    number, asked = await s.closed()
    await s.submit(asked.token, {**FULL, "csrf": "ignored", "unknown": "ignored"})
    notes = await s.r.texts(number, internal=True)
    assert notes == [
        f"post-ticket #{asked.id} by Ann: nps=9 (promoter) solved=1 quality=4"
        " improve=Answer faster other= answered=solved,quality,recommend,improve"
    ]
    answers = await rows(s.r.db, SurveyAnswer)
    assert [(a.question_id, a.kind, a.value, a.text) for a in answers] == [
        ("solved", "yes_no", 1, None),
        ("quality", "scale", 4, None),
        ("recommend", "nps", 9, None),
        ("improve", "text", None, "Answer faster"),
    ]
    [stored] = await rows(s.r.db, SurveyRequest)
    assert stored.submitted_at == s.r.clock.now
    async with s.r.db.reading() as session:  # what an NPS report reads
        nps = await session.execute(
            text("SELECT value FROM survey_answers WHERE kind = 'nps' AND request_id = :id"),
            {"id": asked.id},
        )
        assert nps.scalars().all() == [9]


async def test_the_page_shows_the_questions_then_the_answers(s: Surveyed):
    number, asked = await s.closed()
    before = await s.desk.survey_page(asked.token)
    assert before.ticket_number == number and before.title["ru"] == "Как мы справились?"
    assert before.submitted_at is None and before.answers == {} and not before.expired
    await s.submit(asked.token, FULL)
    after = await s.desk.survey_page(asked.token)
    assert after.submitted_at is not None
    assert after.answers == {"solved": 1, "quality": 4, "recommend": 9, "improve": "Answer faster"}


@pytest.mark.parametrize(
    ("change", "flaws"),
    [
        ({"solved": "maybe"}, {"solved": "survey.yes_no"}),
        ({"solved": "1"}, {"solved": "survey.yes_no"}),
        ({"quality": "0"}, {"quality": "survey.out_of_range"}),
        ({"quality": "6"}, {"quality": "survey.out_of_range"}),
        ({"quality": "4.5"}, {"quality": "survey.out_of_range"}),
        ({"recommend": "11"}, {"recommend": "survey.out_of_range"}),
        ({"recommend": "-1"}, {"recommend": "survey.out_of_range"}),
        ({"recommend": "ten"}, {"recommend": "survey.out_of_range"}),
        ({"improve": "x" * 2001}, {"improve": "survey.too_long"}),
        (
            {"solved": "", "recommend": "  "},
            {"solved": "survey.required", "recommend": "survey.required"},
        ),
    ],
)
async def test_each_refused_answer_is_named_and_nothing_is_stored(
    s: Surveyed, change: dict[str, str], flaws: dict[str, str]
):
    _, asked = await s.closed()
    with pytest.raises(AnswersInvalid) as caught:
        await s.submit(asked.token, {**FULL, **change})
    assert {qid: f.key for qid, f in caught.value.flaws.items()} == flaws
    assert await rows(s.r.db, SurveyAnswer) == []
    assert (await rows(s.r.db, SurveyRequest))[0].submitted_at is None


async def test_missing_required_answers_and_blank_optional_ones(s: Surveyed):
    _, asked = await s.closed()
    with pytest.raises(AnswersInvalid) as caught:
        await s.submit(asked.token, {})
    assert list(caught.value.flaws) == ["solved", "quality", "recommend"]
    assert "solved: an answer is required" in str(caught.value)
    await s.submit(asked.token, {"solved": "no", "quality": "1", "recommend": "0"})
    answers = await rows(s.r.db, SurveyAnswer)
    assert [(a.question_id, a.value) for a in answers] == [
        ("solved", 0),
        ("quality", 1),
        ("recommend", 0),
    ]


async def test_an_expired_survey_is_refused_and_changes_nothing(s: Surveyed):
    number, asked = await s.closed()
    s.r.clock.advance(days=2)
    with pytest.raises(SurveyExpired):
        await s.submit(asked.token, FULL)
    assert (await s.desk.survey_page(asked.token)).expired
    assert await rows(s.r.db, SurveyAnswer) == []
    assert await s.r.texts(number, internal=True) == []


async def test_a_second_submission_is_refused_and_the_first_answers_stay(s: Surveyed):
    number, asked = await s.closed()
    await s.submit(asked.token, FULL)
    with pytest.raises(SurveyAlreadySent, match="already been answered"):
        await s.submit(asked.token, {**FULL, "recommend": "0"})
    answers = await rows(s.r.db, SurveyAnswer)
    assert [a.value for a in answers if a.kind == "nps"] == [9]
    assert len(await s.r.texts(number, internal=True)) == 1  # one survey.submitted


async def test_a_forged_token_is_not_found(s: Surveyed):
    _, asked = await s.closed()
    for token in ("nope", asked.token[:-1], asked.token.upper()):
        with pytest.raises(NotFound):
            await s.desk.submit_survey(token, FULL)
        with pytest.raises(NotFound):
            await s.desk.survey_page(token)
    assert await rows(s.r.db, SurveyAnswer) == []


async def test_a_survey_that_is_not_loaded_fails_the_action_and_is_logged(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.ERROR, logger="otklik.rules")
    async with survey_rig(db, tmp_path) as (r, engine):
        r.write(ASK.replace("post-ticket", "gone").replace("TEXT", ""))
        number = await r.say("Help")
        admin = await make_agent(r.db, "ann")
        await r.desk.set_status(number, admin, TicketStatus.CLOSED)
        await engine.fire_due()
        assert await rows(r.db, SurveyRequest) == []
    assert 'rule "ask" action 1 (request_survey) failed' in caplog.text
    assert 'survey "gone" is not loaded' in caplog.text


async def test_the_ticket_scope_of_the_answers(s: Surveyed):
    number, asked = await s.closed()
    await s.submit(asked.token, FULL)
    async with s.r.db.reading() as session:
        joined = await session.scalar(
            select(SurveyRequest.ticket_id)
            .join(SurveyAnswer, SurveyAnswer.request_id == SurveyRequest.id)
            .where(SurveyAnswer.kind == "nps")
        )
    assert joined == (await s.r.ticket(number)).id
