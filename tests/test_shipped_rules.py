"""The rules Otklik ships in dispatcher_rules/, and the README that documents the format."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from core.db import Database
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.i18n import LOCALES
from core.messages import Inbound, Press
from core.models import Agent, Rating, Role, Task, TicketStatus
from core.rules import load_rules, parse_rules
from core.rules.actions import (
    NAMES,
    AskComment,
    ButtonSpec,
    CreateTask,
    Notify,
    Reply,
    RequestRating,
    RequestSurvey,
)
from core.rules.catalogue import EVENTS, OPERATORS, fields_of, reference
from core.rules.schema import Rule
from tests.engine import Rig, rig, rows
from tests.people import make_agent

SHIPPED = Path(__file__).resolve().parent.parent / "dispatcher_rules"
README = SHIPPED / "README.md"

ACK = {
    "en": "Your request #{n} is registered, we will answer soon.",
    "ru": "Ваше обращение #{n} зарегистрировано, мы скоро ответим.",
}
CLOSED = {
    "en": "Your request #{n} is closed. If you write to us again, we will open a new request.",
    "ru": "Ваше обращение #{n} закрыто. Если вы напишете нам снова, мы откроем новое обращение.",
}


def test_the_shipped_folder_loads_without_problems() -> None:
    rules = load_rules(SHIPPED)
    assert [r.id for r in rules] == [
        "acknowledge",
        "sla-reaction-warning",
        "sla-resolution-warning",
        "sla-reaction-breached",
        "sla-resolution-breached",
        "closed-notice",
        "rating-request",
        "rating-thanks",
        "rating-negative",
        "rating-reason",
        "survey-notify",
        "survey-task",
        "survey-after-close",
    ]
    assert rules.for_event("ticket.created")[0].id == "acknowledge"
    assert [r.id for r in rules.for_event("ticket.closed")] == ["closed-notice", "rating-request"]


def test_every_shipped_text_has_an_english_and_a_russian_variant() -> None:
    for rule in load_rules(SHIPPED):
        texts = [a.text for a in rule.actions if isinstance(a, Reply | AskComment | Notify)]
        texts += [b.label for a in rule.actions if isinstance(a, AskComment) for b in a.buttons]
        if rule.id.startswith("survey-"):
            tasks = [a for a in rule.actions if isinstance(a, CreateTask)]
            texts += [a.title for a in tasks] + [a.description for a in tasks if a.description]
        asks = (RequestRating, RequestSurvey)
        assert texts or any(isinstance(a, asks) for a in rule.actions), rule.id
        for text in texts:
            assert set(text.sources) == set(LOCALES), rule.id


def test_every_shipped_file_is_commented_for_admins() -> None:
    for path in SHIPPED.glob("*.toml"):
        comments = [line for line in path.read_text("utf-8").splitlines() if line.startswith("#")]
        assert len(comments) >= 5, path.name
        assert any("README.md" in line for line in comments), path.name


@dataclass
class Shipped:
    """The shipped rules live over the test database, fired by an engine in ``locale``."""

    rig: Rig
    engine: Engine
    locale: str

    async def say(self, text: str, who: str = "alice") -> int:
        got = await self.rig.desk.receive(Inbound(inbox="web", external_id=who, text=text))
        await self.engine.fire_due()
        return got.ticket_number

    async def close(self, number: int) -> None:
        admin = await make_agent(self.rig.db, "boss", Role.ADMIN)
        await self.rig.desk.set_status(number, admin, TicketStatus.CLOSED)
        await self.engine.fire_due()


@pytest.fixture(params=["en", "ru"])
async def shipped(
    request: pytest.FixtureRequest, db: Database, tmp_path: Path
) -> AsyncIterator[Shipped]:
    for path in SHIPPED.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    async with rig(db, tmp_path) as r:
        assert r.rules.reload(), r.rules.problems
        engine = Engine(r.desk, r.rules, Performer(request.param), clock=r.clock)
        try:
            yield Shipped(r, engine, request.param)
        finally:
            await engine.stop()


async def test_a_new_ticket_is_acknowledged_with_its_number(shipped: Shipped):
    number = await shipped.say("my order is late")
    await shipped.say("it was due on Monday")  # the same ticket: acknowledged once
    assert await shipped.rig.texts(number) == [ACK[shipped.locale].format(n=number)]


async def test_closing_tells_the_customer_and_writing_again_opens_a_new_request(
    shipped: Shipped,
):
    number = await shipped.say("my order is late")
    await shipped.close(number)
    assert await shipped.rig.texts(number) == [
        ACK[shipped.locale].format(n=number),
        CLOSED[shipped.locale].format(n=number),
    ]
    again = await shipped.say("one more question")  # what the close notice promises
    assert again != number
    assert await shipped.rig.texts(again) == [ACK[shipped.locale].format(n=again)]
    assert len(await shipped.rig.texts(number)) == 2


RATE = {
    "en": "How did we do with your request #{n}? One tap to rate us.",
    "ru": "Как мы справились с обращением №{n}? Оцените нас одним нажатием.",
}
THANKS = {
    "en": "Thank you for your rating! We are glad we could help.",
    "ru": "Спасибо за оценку! Рады, что смогли помочь.",
}
SORRY = {
    "en": "We are sorry. What went wrong? Tap a reason or write to us in your own words.",
    "ru": "Нам жаль. Что пошло не так? Выберите причину или напишите своими словами.",
}


async def rated(shipped: Shipped, payload: str) -> int:
    """A ticket assigned to "ann" (supervised by "sue"), closed, asked for a rating two hours
    later, and answered with the button of ``payload``."""
    db = shipped.rig.db
    sue = await make_agent(db, "sue", Role.SUPERVISOR)
    ann = await make_agent(db, "ann")
    async with db.transaction() as s:
        await s.execute(update(Agent).where(Agent.id == ann.id).values(supervisor_id=sue.id))
    number = await shipped.say("my order is late")
    await shipped.rig.desk.assign(number, ann, ann.id)
    await shipped.close(number)
    assert len(await shipped.rig.texts(number)) == 2, "the request waits two hours"
    shipped.rig.clock.advance(hours=2)
    await shipped.engine.fire_due()
    assert (await shipped.rig.texts(number))[-1] == RATE[shipped.locale].format(n=number)
    [button] = [b for b in await shipped.rig.buttons(number) if b.payload == payload]
    await shipped.rig.desk.press(Press(inbox="web", external_id="alice", button_id=button.id))
    await shipped.engine.fire_due()
    return number


async def test_a_positive_rating_is_thanked(shipped: Shipped):
    number = await rated(shipped, "rating:1")
    assert (await shipped.rig.texts(number))[-1] == THANKS[shipped.locale]
    assert await rows(shipped.rig.db, Task) == []


async def test_a_negative_rating_asks_why_and_gives_the_supervisor_a_task(shipped: Shipped):
    number = await rated(shipped, "rating:0")
    assert (await shipped.rig.texts(number))[-1] == SORRY[shipped.locale]
    [task] = await rows(shipped.rig.db, Task)
    assert task.title == f"Negative rating on #{number}"
    assert "(Ann)" in task.description
    owner = await rows(shipped.rig.db, Agent, Agent.id == task.owner_id)
    assert [a.login for a in owner] == ["sue"]
    reason = [
        b for b in await shipped.rig.buttons(number) if b.payload.startswith("rating-reason:")
    ]
    assert len(reason) == 3
    await shipped.rig.desk.press(Press(inbox="web", external_id="alice", button_id=reason[1].id))
    await shipped.engine.fire_due()
    notes = await shipped.rig.texts(number, internal=True)
    assert notes[-1] == f"Negative rating reason: {reason[1].label}"
    again = await shipped.say("the parcel never arrived")
    assert again == number, "the next message is the rating's comment, not a new request"
    [rating] = await rows(shipped.rig.db, Rating)
    assert rating.comment == "the parcel never arrived"


# The README: the generated catalogue in it is the catalogue, and both halves are complete.

_BEGIN, _END = "<!-- reference: begin -->", "<!-- reference: end -->"


def _halves() -> tuple[str, str]:
    text = README.read_text("utf-8")
    english, russian = text.split("\n# Правила диспетчера\n")
    return english, russian


def test_the_readme_embeds_the_catalogue_as_generated() -> None:
    text = README.read_text("utf-8")
    start, end = text.index(_BEGIN) + len(_BEGIN), text.index(_END)
    assert text[start:end].strip() == reference(), (
        "dispatcher_rules/README.md is out of date: paste core.rules.catalogue.reference() "
        f"between {_BEGIN} and {_END}"
    )


def _documented(half: str) -> set[str]:
    return set(re.findall(r"`([a-z_.:<>]+)`", half))


@pytest.mark.parametrize("half", ["en", "ru"])
def test_each_half_of_the_readme_names_every_event_field_operator_action_and_key(half: str):
    english, russian = _halves()
    names = _documented(english if half == "en" else russian)
    keys = {f.alias or name for name, f in Rule.model_fields.items()}
    action_keys = {
        f.alias or name for model in NAMES.values() for name, f in model.model_fields.items()
    }
    wanted = {*EVENTS, *fields_of(None), *OPERATORS, *NAMES, *keys, *action_keys}
    wanted |= {"all", "any", "not", "field", "within_working_hours", *ButtonSpec.model_fields}
    assert wanted <= names, sorted(wanted - names)


def test_every_rule_example_in_the_readme_loads() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text("utf-8"), re.S)
    assert len(blocks) >= 20
    for number, block in enumerate(blocks, 1):
        assert "[[rule]]" in block
        assert len(parse_rules({f"example-{number}.toml": block})) >= 1
