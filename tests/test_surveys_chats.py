"""A survey of one NPS question in the chats, end to end: the rule sends it two hours after
close as the question with buttons 0-10 in two rows; a press submits it (the answer stored,
survey.submitted reaching the rules), shows the choice and thanks the customer; a second, an
expired or a foreign press is told why and changes nothing. In the web widget (its API and
headless Chromium) and in Telegram through its fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from core.db import Database
from core.models import Message, SurveyRequest
from tests.engine import rows
from tests.fakes.telegram import FakeTelegram
from tests.ratings_chats import (
    SURVEY_ANSWERED,
    SURVEY_ASKED,
    SURVEY_EXPIRED,
    SURVEY_THANKS,
    Clock,
    close_and_ask,
    survey_answers,
    ticket_count,
    write_survey_rules,
)
from tests.service import Running, running, service_config
from tests.test_e2e_browser import browser
from tests.test_rules_service import bot_says
from tests.test_telegram import ALICE, MALLORY, TOKEN, _service, customer_sends
from tests.test_webchat import open_chat, say
from tests.waiting import eventually

__all__ = ["browser"]  # headless Chromium's fixture, used here

QUESTION = "Would you recommend us to a friend?\n0 = not at all likely, 10 = extremely likely"
ROWS = [[str(v) for v in range(6)], [str(v) for v in range(6, 11)]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def pressed_messages(db: Database) -> list[Message]:
    return await rows(db, Message, Message.pressed_button_id.is_not(None))


async def notes(db: Database) -> list[str]:
    return [m.text for m in await rows(db, Message, Message.internal.is_(True))]


async def unanswered(db: Database) -> bool:
    [asked] = await rows(db, SurveyRequest)
    return asked.submitted_at is None


# The web widget


@pytest.fixture
async def web(db: Database, database_url: str, tmp_path: Path, clock: Clock):
    write_survey_rules(tmp_path)
    async with running(service_config(database_url, tmp_path), clock=clock) as svc:
        yield svc


@pytest.fixture
async def visitor(web: Running, clock: Clock) -> AsyncIterator[aiohttp.ClientSession]:
    """A visitor whose closed ticket #1 got the survey."""
    async with web.client() as http:
        await open_chat(http)
        await say(http, "my parcel is lost")
        await close_and_ask(web, clock, 1)
        yield http


async def press(http: aiohttp.ClientSession, asked: dict[str, Any], label: str, n: int) -> Any:
    button = next(b for b in asked["buttons"] if b["label"] == label)
    return await http.post(
        "/chat/api/web/press", json={"button": button["id"], "client_id": f"press-000{n}"}
    )


async def test_the_widget_gets_the_buttons_and_a_press_submits_the_survey(
    web: Running, visitor: aiohttp.ClientSession
):
    db = web.state.db
    asked = await bot_says(visitor, SURVEY_ASKED)
    assert asked["text"] == f"{SURVEY_ASKED}\n\n{QUESTION}"
    assert [[b["label"] for b in asked["buttons"] if b["row"] == r] for r in (0, 1)] == ROWS

    assert (await press(visitor, asked, "3", 1)).status == 200
    await bot_says(visitor, SURVEY_THANKS)
    assert await survey_answers(db) == [("recommend", 3)]
    await eventually(lambda: notes(db))
    assert await notes(db) == ["NPS 3 from a detractor"]

    again = await press(visitor, asked, "10", 2)
    assert again.status == 403 and (await again.json())["error"]["message"] == SURVEY_ANSWERED
    assert await survey_answers(db) == [("recommend", 3)]
    assert len(await pressed_messages(db)) == 1 and await ticket_count(db) == 1


async def test_a_widget_press_after_expiry_is_told_so_and_stores_nothing(
    web: Running, visitor: aiohttp.ClientSession, clock: Clock
):
    asked = await bot_says(visitor, SURVEY_ASKED)
    clock.advance(days=8)
    late = await press(visitor, asked, "9", 1)
    assert late.status == 403 and (await late.json())["error"]["message"] == SURVEY_EXPIRED
    assert await survey_answers(web.state.db) == [] and await unanswered(web.state.db)
    assert await pressed_messages(web.state.db) == []


async def test_another_visitors_press_is_refused(web: Running, visitor: aiohttp.ClientSession):
    asked = await bot_says(visitor, SURVEY_ASKED)
    async with web.client() as mallory:
        await open_chat(mallory)
        stolen = await press(mallory, asked, "0", 1)
        assert stolen.status == 403
        assert (await stolen.json())["error"]["message"] == "This button can no longer be used."
    assert await survey_answers(web.state.db) == [] and await unanswered(web.state.db)


async def test_the_widget_shows_two_rows_and_thanks_after_a_click(
    browser: Browser, web: Running, clock: Clock
):
    context = await browser.new_context()
    try:  # closed before the service stops, or its socket would hold the stop up
        page = await context.new_page()
        await page.goto(f"{web.url}/chat")
        await page.fill("#text", "parcel lost")
        await page.click("#composer button[type=submit]")
        await expect(page.locator(".message.in")).to_have_text("parcel lost")
        await close_and_ask(web, clock, 1)
        lines = page.locator(".message.out .chip-row")
        await expect(lines).to_have_count(2)
        for i, labels in enumerate(ROWS):
            await expect(lines.nth(i).locator(".chip")).to_have_text(labels)
        await lines.nth(1).locator(".chip", has_text="9").click()
        await expect(page.locator(".message.out").last).to_have_text(SURVEY_THANKS)
        await expect(page.locator(".message.in").last).to_have_text("9")
        await expect(lines.nth(0).locator(".chip").first).to_be_disabled()
        assert await survey_answers(web.state.db) == [("recommend", 9)]
    finally:
        await context.close()


# Telegram


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram, clock: Clock
) -> AsyncIterator[Running]:
    write_survey_rules(tmp_path)
    async for svc in _service(db, database_url, tmp_path, telegram, "polling", clock):
        yield svc


async def sent_survey(bot: Running, telegram: FakeTelegram, clock: Clock) -> dict[str, Any]:
    """Alice's ticket #1, closed; the survey as Telegram keeps it."""
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "parcel lost"))
    await eventually(lambda: ticket_count(bot.state.db))
    await close_and_ask(bot, clock, 1)

    def found() -> dict[str, Any] | None:
        sent = telegram.sent_messages(ALICE.id, TOKEN)
        return next((m for m in sent if m.get("text", "").startswith(SURVEY_ASKED)), None)

    return await eventually(found)


def tg_press(telegram: FakeTelegram, survey: dict[str, Any], label: str) -> dict:
    data = next(
        b["callback_data"]
        for row in survey["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == label
    )
    return telegram.callback_query(TOKEN, ALICE, data, message_id=survey["message_id"])


def to_alice(telegram: FakeTelegram) -> list[str]:
    return [p["text"] for p in telegram.params_of("sendMessage") if p["chat_id"] == ALICE.id]


async def test_telegram_gets_an_inline_keyboard_and_a_press_submits_the_survey(
    bot: Running, telegram: FakeTelegram, clock: Clock
):
    db = bot.state.db
    survey = await sent_survey(bot, telegram, clock)
    assert survey["text"] == f"{SURVEY_ASKED}\n\n{QUESTION}"
    keyboard = survey["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == ROWS

    await customer_sends(telegram, bot, tg_press(telegram, survey, "10"))
    [answer] = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert "text" not in answer
    [shown] = await eventually(lambda: telegram.params_of("editMessageText"))
    assert shown["text"].endswith("\n\n✅ 10") and "reply_markup" not in shown
    await eventually(lambda: SURVEY_THANKS in to_alice(telegram))
    assert await survey_answers(db) == [("recommend", 10)]
    assert await notes(db) == []  # a promoter: the detractor rule stays quiet

    await customer_sends(telegram, bot, tg_press(telegram, survey, "0"))  # a second press
    answers = await eventually(
        lambda: (got := telegram.params_of("answerCallbackQuery"))[1:] and got
    )
    assert answers[1]["text"] == SURVEY_ANSWERED
    assert await survey_answers(db) == [("recommend", 10)]
    assert len(await pressed_messages(db)) == 1
    assert len(telegram.params_of("editMessageText")) == 1


async def test_a_telegram_press_after_expiry_is_told_so(
    bot: Running, telegram: FakeTelegram, clock: Clock
):
    survey = await sent_survey(bot, telegram, clock)
    clock.advance(days=8)
    await customer_sends(telegram, bot, tg_press(telegram, survey, "7"))
    [answer] = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert answer["text"] == SURVEY_EXPIRED
    assert telegram.params_of("editMessageText") == []
    assert await survey_answers(bot.state.db) == [] and await unanswered(bot.state.db)


async def test_a_press_from_another_telegram_chat_is_refused(
    bot: Running, telegram: FakeTelegram, clock: Clock
):
    survey = await sent_survey(bot, telegram, clock)
    stolen = tg_press(telegram, survey, "0")
    stolen["callback_query"]["from"] = MALLORY.to_dict()
    stolen["callback_query"]["message"]["chat"] = {
        "id": MALLORY.id,
        "type": "private",
        "first_name": "Mallory",
    }
    await customer_sends(telegram, bot, stolen)
    [answer] = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert answer["text"] == "This button no longer works."
    assert await survey_answers(bot.state.db) == [] and await unanswered(bot.state.db)
    assert await pressed_messages(bot.state.db) == []
