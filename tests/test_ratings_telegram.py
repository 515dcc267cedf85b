"""Ratings in Telegram: the rule's request after close as one inline keyboard line of five,
the press answered and shown, stored and answered by rules, the comment from the next
message; expiry, foreign and second presses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core import queries
from core.db import Database
from core.models import Message, TicketStatus
from tests.engine import rows
from tests.fakes.telegram import FakeTelegram
from tests.ratings_chats import (
    EXPIRED,
    THANKS,
    WHY,
    Clock,
    close_and_ask,
    ratings,
    status,
    ticket_count,
    write_rules,
)
from tests.service import Running
from tests.test_telegram import ALICE, MALLORY, TOKEN, _service, customer_sends
from tests.waiting import eventually


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram, clock: Clock
) -> AsyncIterator[Running]:
    write_rules(tmp_path, "five")
    async for svc in _service(db, database_url, tmp_path, telegram, "polling", clock):
        yield svc


def to_alice(telegram: FakeTelegram) -> list[str]:
    return [p["text"] for p in telegram.params_of("sendMessage") if p["chat_id"] == ALICE.id]


async def asked(bot: Running, telegram: FakeTelegram, clock: Clock) -> dict[str, Any]:
    """Alice's ticket #1, closed; the rating request as Telegram keeps it."""
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "parcel lost"))
    await eventually(lambda: ticket_count(bot.state.db))
    await close_and_ask(bot, clock, 1)
    return await eventually(lambda: _request(telegram))


def _request(telegram: FakeTelegram) -> dict[str, Any] | None:
    found = [
        m
        for m in telegram.sent_messages(ALICE.id, TOKEN)
        if m.get("text", "").startswith("How did we do with your request #1?")
    ]
    return found[0] if found else None


def press(telegram: FakeTelegram, request: dict[str, Any], label: str, who: Any = ALICE) -> dict:
    """``who`` presses the button ``label`` of the request Alice got (in Alice's chat)."""
    data = next(
        b["callback_data"]
        for row in request["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == label
    )
    update = telegram.callback_query(TOKEN, ALICE, data, message_id=request["message_id"])
    update["callback_query"]["from"] = who.to_dict()
    return update


async def pressed_messages(db: Database) -> list[Message]:
    return await rows(db, Message, Message.pressed_button_id.is_not(None))


async def test_rate_thank_and_comment_in_telegram(
    bot: Running, telegram: FakeTelegram, clock: Clock
):
    db = bot.state.db
    request = await asked(bot, telegram, clock)
    [line] = request["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in line] == ["😡", "🙁", "😐", "🙂", "😍"]

    await customer_sends(telegram, bot, press(telegram, request, "🙁"))
    [answer] = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert "text" not in answer
    [shown] = await eventually(lambda: telegram.params_of("editMessageText"))
    assert shown["text"].endswith("\n\n✅ 🙁") and "reply_markup" not in shown
    await eventually(lambda: WHY in to_alice(telegram))
    assert [t for t in to_alice(telegram) if t.startswith(THANKS)] == ["Thank you for your 2!"]
    [rating] = await ratings(db)
    ticket = await queries.ticket(db, 1)
    assert (rating.value, rating.via) == (2, "telegram")
    assert rating.agent_id == ticket.assignee_id and ticket.assignee_id is not None

    comment = telegram.text_message(TOKEN, ALICE, "the courier never came")
    await customer_sends(telegram, bot, comment)
    await eventually(lambda: _commented(db))
    assert await status(db, 1) == TicketStatus.CLOSED and await ticket_count(db) == 1

    await customer_sends(telegram, bot, press(telegram, request, "😍"))  # a second press
    await eventually(lambda: len(telegram.params_of("answerCallbackQuery")) == 2)
    [rating] = await ratings(db)
    assert rating.value == 2 and len(telegram.params_of("editMessageText")) == 1


async def _commented(db: Database) -> bool:
    found = await ratings(db)
    return bool(found) and found[0].comment == "the courier never came"


async def test_a_press_after_expiry_is_told_so_and_stores_nothing(
    bot: Running, telegram: FakeTelegram, clock: Clock
):
    request = await asked(bot, telegram, clock)
    clock.advance(days=8)
    await customer_sends(telegram, bot, press(telegram, request, "😍"))
    [answer] = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert answer["text"] == EXPIRED
    assert telegram.params_of("editMessageText") == []
    assert await ratings(bot.state.db) == [] and await pressed_messages(bot.state.db) == []


async def test_a_foreign_press_is_refused(bot: Running, telegram: FakeTelegram, clock: Clock):
    request = await asked(bot, telegram, clock)
    stolen = press(telegram, request, "😍", who=MALLORY)
    stolen["callback_query"]["message"]["chat"] = {
        "id": MALLORY.id,
        "type": "private",
        "first_name": "Mallory",
    }
    await customer_sends(telegram, bot, stolen)
    [answer] = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert answer["text"] == "This button no longer works."
    assert await ratings(bot.state.db) == [] and await pressed_messages(bot.state.db) == []


async def test_forged_callback_data_is_refused_and_rates_nothing(
    bot: Running, telegram: FakeTelegram, clock: Clock
):
    request = await asked(bot, telegram, clock)
    real = press(telegram, request, "😍")["callback_query"]["data"]
    for data in ("rating:5", f"{real}x", real[:-1], "b:"):
        forged = press(telegram, request, "😍")  # what a tampering client sends instead
        forged["callback_query"]["data"] = data
        await customer_sends(telegram, bot, forged)
    answers = await eventually(
        lambda: (got := telegram.params_of("answerCallbackQuery"))[3:] and got
    )
    assert [a["text"] for a in answers] == ["This button no longer works."] * 4
    assert telegram.params_of("editMessageText") == []
    assert await ratings(bot.state.db) == [] and await pressed_messages(bot.state.db) == []
