"""Ratings in the agents' forum: /rate in a ticket's topic sends the customer a new request
(linked agents only), and the customer's rating and comment show in the topic, read-only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.models import RatingRequest
from tests.engine import rows
from tests.fakes.telegram import FakeTelegram
from tests.ratings_chats import WHY, ratings, write_rules
from tests.service import Running
from tests.test_telegram import ALICE, TOKEN
from tests.test_telegram_forum import (
    ANNA_TG,
    STRANGER,
    agent_writes,
    desk_bot,
    in_topic,
    linked_anna,
    open_ticket,
    settled,
    telegram,
    to_alice,
)
from tests.waiting import eventually

__all__ = ["desk_bot", "telegram"]  # the forum's fixtures, used here


async def test_rate_asks_again_and_the_rating_and_comment_show_in_the_topic(
    desk_bot: Running, telegram: FakeTelegram, tmp_path: Path
):
    db = desk_bot.state.db
    write_rules(tmp_path, "binary")
    assert desk_bot.state.rules.reload()
    anna = await linked_anna(db)
    thread = await open_ticket(desk_bot, telegram)
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/assign me")
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/rate")

    [asked] = await rows(db, RatingRequest)
    assert (asked.scale, asked.origin, asked.agent_id) == ("binary", "agent:anna", anna.id)
    assert asked.expires_at - asked.created_at == timedelta(days=7)
    [request] = [
        m
        for m in telegram.sent_messages(ALICE.id, TOKEN)
        if m["text"].startswith("How did we do with your request #1?")
    ]
    [line] = request["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in line] == ["👍", "👎"]
    said = [p["text"] for p in telegram.params_of("sendMessage") if p.get("reply_parameters")]
    assert "Rating request sent to the customer." in said

    down = line[1]["callback_data"]
    telegram.push_update(
        TOKEN, telegram.callback_query(TOKEN, ALICE, down, message_id=request["message_id"])
    )
    await settled(desk_bot, telegram)
    await eventually(lambda: WHY in to_alice(telegram))
    telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "the courier never came"))
    await settled(desk_bot, telegram)
    [rating] = await ratings(db)
    assert (rating.value, rating.comment) == (0, "the courier never came")
    topic = in_topic(telegram, thread)
    assert "⭐ Alice Smith rated the ticket: 👎" in topic
    assert "💭 Alice Smith commented their rating:\nthe courier never came" in topic
    assert not [t for t in topic if t.startswith("👤 Alice Smith:\nthe courier")]


async def test_rate_is_refused_to_people_who_are_not_linked_agents(
    desk_bot: Running, telegram: FakeTelegram
):
    thread = await open_ticket(desk_bot, telegram)
    await agent_writes(desk_bot, telegram, STRANGER, thread, "/rate")
    assert await rows(desk_bot.state.db, RatingRequest) == []
    assert to_alice(telegram) == []
    [hint] = [p["text"] for p in telegram.params_of("sendMessage") if "linked agents" in p["text"]]
    assert hint.startswith("Only linked agents")
