"""Agents work tickets from the forum supergroup: topics, replies, commands, linking."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.telegram.channel import TelegramChannel
from core import agents, queries
from core.bus import LocalBus
from core.clock import utcnow
from core.db import Database
from core.models import Agent, TicketStatus
from tests.fakes.telegram import FakeTelegram, TgChat, TgUser
from tests.people import make_agent
from tests.service import Running, running, service_config
from tests.test_inbox_web import signed_in
from tests.test_telegram import ALICE, TOKEN, free_port, tickets
from tests.waiting import eventually

FORUM = TgChat.forum(-1001234567890, "Agents")
ANNA_TG = TgUser(2001, "Anna")
STRANGER = TgUser(2002, "Stranger")


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as fake:
        fake.add_chat(FORUM)
        yield fake


@pytest.fixture
async def desk_bot(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram
) -> AsyncIterator[Running]:
    async for svc in forum_service(database_url, tmp_path, telegram):
        yield svc


async def forum_service(
    database_url: str, tmp_path: Path, telegram: FakeTelegram, **settings: Any
) -> AsyncIterator[Running]:
    """The service with the Telegram inbox "tg" and its agents' forum (``settings``: more
    config, such as ``timezone``)."""
    port = free_port()
    inbox = {
        "name": "tg",
        "channel": "telegram",
        "token": TOKEN,
        "mode": "polling",
        "api_server": telegram.base_url,
        "agents_chat_id": FORUM.id,
    }
    config = service_config(
        database_url,
        tmp_path,
        inbox=[inbox],
        web={"secret_key": "s" * 40, "public_url": f"http://127.0.0.1:{port}"},
        **settings,
    )
    async with running(config, port=port) as svc:
        yield svc


def channel(svc: Running) -> TelegramChannel:
    found = svc.state.channels["tg"]
    assert isinstance(found, TelegramChannel)
    return found


async def settled(svc: Running, telegram: FakeTelegram) -> None:
    """Every update handled, every queued reply delivered, the forum mirrored."""
    await eventually(lambda: not telegram.pending_updates(TOKEN))
    await svc.delivered()
    assert channel(svc).forum is not None
    bus = svc.state.bus
    assert isinstance(bus, LocalBus)
    await bus.idle()


async def linked_anna(db: Database) -> Agent:
    anna = await make_agent(db, "anna")
    async with db.transaction() as s:
        (await s.get(Agent, anna.id)).telegram_id = ANNA_TG.id
    return anna


async def open_ticket(svc: Running, telegram: FakeTelegram) -> int:
    telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "Where is my order?"))
    await settled(svc, telegram)
    [topic_call] = telegram.params_of("createForumTopic")
    assert topic_call["chat_id"] == FORUM.id
    return (await telegram_topics(telegram))[0]


async def telegram_topics(telegram: FakeTelegram) -> list[int]:
    return [
        call.params.get("message_thread_id") or 0
        for call in telegram.calls_of("sendMessage")
        if call.params.get("chat_id") == FORUM.id
    ]


def in_topic(telegram: FakeTelegram, thread: int) -> list[str]:
    return [
        p["text"]
        for p in telegram.params_of("sendMessage")
        if p.get("chat_id") == FORUM.id and p.get("message_thread_id") == thread
    ]


def to_alice(telegram: FakeTelegram) -> list[str]:
    return [p["text"] for p in telegram.params_of("sendMessage") if p.get("chat_id") == ALICE.id]


async def agent_writes(
    svc: Running, telegram: FakeTelegram, who: TgUser, thread: int, words: str
) -> None:
    telegram.push_update(
        TOKEN, telegram.text_message(TOKEN, who, words, chat=FORUM, message_thread_id=thread)
    )
    await settled(svc, telegram)


async def test_new_ticket_opens_a_topic_and_relays_the_customer(
    desk_bot: Running, telegram: FakeTelegram
):
    thread = await open_ticket(desk_bot, telegram)
    [call] = telegram.params_of("createForumTopic")
    assert call["name"] == "#1 · Alice Smith · Where is my order?"
    assert in_topic(telegram, thread) == ["👤 Alice Smith:\nWhere is my order?"]


async def test_linked_agent_replies_from_the_topic(desk_bot: Running, telegram: FakeTelegram):
    anna = await linked_anna(desk_bot.state.db)
    thread = await open_ticket(desk_bot, telegram)
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "It ships today")
    assert to_alice(telegram) == ["It ships today"]
    assert in_topic(telegram, thread) == ["👤 Alice Smith:\nWhere is my order?"]  # no echo
    [ticket] = await tickets(desk_bot.state.db)
    assert ticket.assignee_id == anna.id and ticket.status == TicketStatus.OPEN


async def test_commands_in_the_topic(desk_bot: Running, telegram: FakeTelegram):
    db = desk_bot.state.db
    await linked_anna(db)
    thread = await open_ticket(desk_bot, telegram)
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/assign me")
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/note VIP customer")
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/wait")
    [ticket] = await tickets(db)
    assert ticket.status == TicketStatus.WAITING and ticket.assignee.login == "anna"
    messages = await queries.messages(db, ticket.id)
    assert [(m.text, m.internal) for m in messages[1:]] == [("VIP customer", True)]
    assert to_alice(telegram) == []  # the note never reaches the customer
    renamed = telegram.params_of("editForumTopic")
    assert renamed[-1]["name"] == "⏸ #1 · Alice Smith · Where is my order?"

    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/close")
    assert telegram.params_of("editForumTopic")[-1]["name"].startswith("✅ #1")
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/wait")
    replies = [
        p["text"]
        for p in telegram.params_of("sendMessage")
        if p.get("reply_parameters") or p.get("reply_to_message_id")
    ]
    assert any("can become open, not waiting" in r for r in replies)
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/open")
    [ticket] = await tickets(db)
    assert ticket.status == TicketStatus.OPEN
    assert len(telegram.params_of("createForumTopic")) == 1  # the reopened ticket keeps its topic


async def test_take_in_the_topic_tells_the_customer(desk_bot: Running, telegram: FakeTelegram):
    anna = await linked_anna(desk_bot.state.db)
    thread = await open_ticket(desk_bot, telegram)
    await agent_writes(desk_bot, telegram, ANNA_TG, thread, "/take")
    assert to_alice(telegram) == ["Anna has taken your request #1 and is working on it."]
    [ticket] = await tickets(desk_bot.state.db)
    assert (ticket.assignee_id, ticket.status) == (anna.id, TicketStatus.OPEN)
    answers = [p["text"] for p in telegram.params_of("sendMessage") if p.get("reply_parameters")]
    assert "Taken: the customer has been told you are on it." in answers


async def test_people_who_are_not_linked_agents_are_refused(
    desk_bot: Running, telegram: FakeTelegram
):
    thread = await open_ticket(desk_bot, telegram)
    await agent_writes(desk_bot, telegram, STRANGER, thread, "I will answer!")
    await agent_writes(desk_bot, telegram, STRANGER, thread, "/close")
    assert to_alice(telegram) == []
    [ticket] = await tickets(desk_bot.state.db)
    assert ticket.status == TicketStatus.NEW
    assert len(await queries.messages(desk_bot.state.db, ticket.id)) == 1
    hints = [p["text"] for p in telegram.params_of("sendMessage") if "linked agents" in p["text"]]
    assert len(hints) == 2


async def test_web_inbox_replies_appear_in_the_topic(desk_bot: Running, telegram: FakeTelegram):
    anna = await make_agent(desk_bot.state.db, "anna")
    thread = await open_ticket(desk_bot, telegram)
    await desk_bot.state.desk.reply(1, anna, "Checking now")
    await desk_bot.state.desk.note(1, anna, "warehouse asked")
    await settled(desk_bot, telegram)
    assert to_alice(telegram) == ["Checking now"]
    assert in_topic(telegram, thread)[1:] == [
        "💬 Anna:\nChecking now",
        "📝 Anna (internal note):\nwarehouse asked",
    ]


async def test_agent_links_telegram_from_the_inbox(desk_bot: Running, telegram: FakeTelegram):
    db = desk_bot.state.db
    await make_agent(db, "anna")
    async with desk_bot.client() as http:
        csrf = await signed_in(http, "anna")
        page = await (await http.post("/inbox/profile/telegram", data={"csrf": csrf})).text()
        link = re.search(r'href="(https://t\.me/test123456789_bot\?start=link-([^"]+))"', page)
        assert link, page
        telegram.push_update(TOKEN, telegram.text_message(TOKEN, ANNA_TG, f"/start link-{link[2]}"))
        await eventually(lambda: not telegram.pending_updates(TOKEN))
        assert "works as Anna" in telegram.params_of("sendMessage")[-1]["text"]
        assert (await agents.by_telegram(db, ANNA_TG.id)).login == "anna"

        # The code works once.
        telegram.push_update(
            TOKEN, telegram.text_message(TOKEN, STRANGER, f"/start link-{link[2]}")
        )
        await eventually(lambda: not telegram.pending_updates(TOKEN))
        assert "used up or expired" in telegram.params_of("sendMessage")[-1]["text"]
        assert await agents.by_telegram(db, STRANGER.id) is None

        await http.post("/inbox/profile/telegram/unlink", data={"csrf": csrf})
        assert await agents.by_telegram(db, ANNA_TG.id) is None
    assert await tickets(db) == []  # linking opened no ticket


async def test_expired_link_code_is_refused(desk_bot: Running, telegram: FakeTelegram):
    db = desk_bot.state.db
    anna = await make_agent(db, "anna")
    code = await agents.link_code(db, anna.id, utcnow() - agents.LINK_VALID * 2)
    telegram.push_update(TOKEN, telegram.text_message(TOKEN, ANNA_TG, f"/start link-{code}"))
    await eventually(lambda: not telegram.pending_updates(TOKEN))
    assert "used up or expired" in telegram.params_of("sendMessage")[-1]["text"]
    assert await agents.by_telegram(db, ANNA_TG.id) is None
