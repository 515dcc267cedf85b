"""A survey of a single NPS question in the core: sent to a chat as the question and buttons
0-10 in two rows (email and longer surveys get the link), a press from the ticket's chat
submits it once and thanks the customer; a later, expired or foreign press is refused and
changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database
from core.engine.runner import Engine
from core.errors import ButtonRefused
from core.messages import Button as Offered
from core.messages import Inbound, Press
from core.models import Button, Message, SurveyAnswer, SurveyRequest, TicketStatus
from core.surveys import Surveys
from core.surveys.definitions import parse_surveys
from tests.engine import Rig, rows
from tests.people import make_agent
from tests.surveys import BASE_URL, survey_rig

NPS_ONLY = """
[[survey]]
id = "nps"
title = { en = "One question", ru = "Один вопрос" }

[[survey.question]]
id = "recommend"
kind = "nps"
text = { en = "Would you recommend us to a friend?", ru = "Порекомендуете ли вы нас другу?" }

[[survey]]
id = "two"
title = "Two questions"

[[survey.question]]
id = "recommend"
kind = "nps"
text = "Would you recommend us?"

[[survey.question]]
id = "why"
kind = "text"
text = "Why?"
"""
RULES = """
[[rule]]
id = "ask"
on = "ticket.closed"
then = [{ action = "request_survey", survey = "SURVEY", text = "About #{{ ticket.number }}:" }]

[[rule]]
id = "answers"
on = "survey.submitted"
then = [{ action = "note", text = "NOTE" }]

[[rule]]
id = "pressed"
on = "button.pressed"
then = [{ action = "note", text = "pressed {{ button.payload }}" }]
""".replace(
    "NOTE", "{{ survey.id }} by {{ agent.name }}: {{ survey.nps }} ({{ survey.nps_group }})"
)
THANKS = "Thank you for your answer! It helps us get better."


def _surveys() -> Surveys:
    surveys, problems = parse_surveys({"nps.toml": NPS_ONLY})
    assert problems == []
    return surveys


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Rig, Engine]]:
    async with survey_rig(db, tmp_path, surveys=_surveys()) as built:
        yield built


async def closed(r: Rig, engine: Engine, survey: str = "nps", inbox: str = "web") -> int:
    """Alice's ticket in ``inbox``, assigned to Ann and closed: the rule sent ``survey``."""
    r.write(RULES.replace("SURVEY", survey))
    email = "alice@example.com" if inbox == "mail" else None
    got = await r.desk.receive(
        Inbound(inbox=inbox, external_id="alice", text="Help", customer_email=email)
    )
    ann = await make_agent(r.db, "ann")
    await r.desk.assign(got.ticket_number, ann, ann.id)
    await r.desk.set_status(got.ticket_number, ann, TicketStatus.CLOSED)
    await engine.fire_due()
    return got.ticket_number


async def press(r: Rig, engine: Engine, button: Button, who: str = "alice") -> None:
    await r.desk.press(Press(inbox="web", external_id=who, button_id=button.id))
    await engine.fire_due()


async def answers(db: Database) -> list[tuple[str, str, int | None]]:
    return [(a.question_id, a.kind, a.value) for a in await rows(db, SurveyAnswer)]


async def test_a_chat_gets_the_question_and_buttons_0_to_10_in_two_rows(
    rig: tuple[Rig, Engine],
):
    r, engine = rig
    number = await closed(r, engine)
    [asked] = await rows(r.db, SurveyRequest)
    assert (await r.texts(number))[-1] == (
        f"About #{number}:\n\nWould you recommend us to a friend?\n"
        "0 = not at all likely, 10 = extremely likely"
    )
    buttons = await r.buttons(number)
    assert {b.message_id for b in buttons} == {asked.message_id}
    assert [(b.label, b.payload, b.row) for b in buttons] == [
        (str(v), f"survey:{v}", 0 if v < 6 else 1) for v in range(11)
    ]


async def test_a_press_submits_the_survey_once_and_thanks_the_customer(
    rig: tuple[Rig, Engine],
):
    r, engine = rig
    number = await closed(r, engine)
    buttons = await r.buttons(number)
    await press(r, engine, buttons[9])
    assert await answers(r.db) == [("recommend", "nps", 9)]
    [asked] = await rows(r.db, SurveyRequest)
    assert asked.submitted_at == r.clock.now
    assert await r.texts(number, internal=True) == ["nps by Ann: 9 (promoter)"]
    assert (await r.texts(number))[-1] == THANKS
    [pressed] = await rows(r.db, Message, Message.pressed_button_id.is_not(None))
    assert (pressed.text, pressed.pressed_button_id) == ("9", buttons[9].id)
    assert (await r.ticket(number)).status == TicketStatus.CLOSED

    for again in (buttons[9], buttons[2]):  # the same button, then another of them
        with pytest.raises(ButtonRefused, match="already been answered") as refused:
            await press(r, engine, again)
        assert refused.value.key == "survey.already_sent"
    assert await answers(r.db) == [("recommend", "nps", 9)]
    assert len(await rows(r.db, Message, Message.pressed_button_id.is_not(None))) == 1
    assert await r.texts(number, internal=True) == ["nps by Ann: 9 (promoter)"]
    assert (await r.texts(number)).count(THANKS) == 1


async def test_a_press_after_expiry_is_refused_and_changes_nothing(rig: tuple[Rig, Engine]):
    r, engine = rig
    number = await closed(r, engine)
    r.clock.advance(days=7)  # request_survey's default expires_in
    with pytest.raises(ButtonRefused, match="expired") as refused:
        await press(r, engine, (await r.buttons(number))[0])
    assert refused.value.key == "survey.press_expired"
    assert await answers(r.db) == []
    [asked] = await rows(r.db, SurveyRequest)
    assert asked.submitted_at is None
    assert await rows(r.db, Message, Message.pressed_button_id.is_not(None)) == []
    assert await r.texts(number, internal=True) == []


async def test_a_press_from_another_chat_is_refused_and_changes_nothing(
    rig: tuple[Rig, Engine],
):
    r, engine = rig
    number = await closed(r, engine)
    await r.desk.receive(Inbound(inbox="web", external_id="mallory", text="hi"))
    with pytest.raises(ButtonRefused, match="another chat"):
        await press(r, engine, (await r.buttons(number))[10], who="mallory")
    assert await answers(r.db) == []
    assert await rows(r.db, Message, Message.pressed_button_id.is_not(None)) == []
    await press(r, engine, (await r.buttons(number))[3])  # the customer's own press counts
    assert await answers(r.db) == [("recommend", "nps", 3)]


async def test_the_thanks_is_in_the_services_language(rig: tuple[Rig, Engine]):
    r, engine = rig
    r.desk.locale = "ru"
    number = await closed(r, engine)
    assert "Порекомендуете ли вы нас другу?" in (await r.texts(number))[-1]
    await press(r, engine, (await r.buttons(number))[10])
    assert (await r.texts(number))[-1] == "Спасибо за ответ! Он помогает нам стать лучше."


async def test_email_and_longer_surveys_get_the_link(rig: tuple[Rig, Engine]):
    r, engine = rig
    await r.desk.sync_inboxes([("mail", "email")])
    by_mail = await closed(r, engine, inbox="mail")
    longer = await r.desk.receive(Inbound(inbox="web", external_id="bob", text="Help"))
    r.write(RULES.replace("SURVEY", "two"))
    ann = (await r.ticket(by_mail)).assignee
    assert ann is not None
    await r.desk.set_status(longer.ticket_number, ann, TicketStatus.CLOSED)
    await engine.fire_due()
    mailed, chatted = await rows(r.db, SurveyRequest)
    assert (await r.texts(by_mail))[-1] == (f"About #{by_mail}:\n{BASE_URL}/survey/{mailed.token}")
    assert (await r.texts(longer.ticket_number))[-1] == (
        f"About #{longer.ticket_number}:\n{BASE_URL}/survey/{chatted.token}"
    )
    assert await r.buttons(by_mail) == [] and await r.buttons(longer.ticket_number) == []


async def test_a_rule_button_with_a_survey_like_payload_is_an_ordinary_button(
    rig: tuple[Rig, Engine],
):
    r, engine = rig
    number = await closed(r, engine)
    await r.desk.reply(number, None, "Pick", [Offered("Five", "survey:5")])
    await press(r, engine, (await r.buttons(number))[-1])
    assert await answers(r.db) == []
    assert await r.texts(number, internal=True) == ["pressed survey:5"]
    [asked] = await rows(r.db, SurveyRequest)
    assert asked.submitted_at is None
