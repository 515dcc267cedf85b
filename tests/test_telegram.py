"""The Telegram channel end to end: the real aiogram Bot against the Bot API emulator."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core import queries
from core.clock import utcnow
from core.db import Database
from core.messages import Button
from core.models import Delivery
from tests.fakes.telegram import FakeTelegram, TgUser
from tests.people import make_agent
from tests.service import PASSWORD, Running, running, service_config
from tests.waiting import eventually

TOKEN = "123456789:AAE" + "t" * 32
SECRET = "webhook-secret-" + "s" * 16
ALICE = TgUser(1001, "Alice", last_name="Smith")
MALLORY = TgUser(1002, "Mallory")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as fake:
        yield fake


async def _service(
    db: Database,
    url: str,
    tmp: Path,
    telegram: FakeTelegram,
    mode: str,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Running]:
    port = free_port()
    inbox = {
        "name": "tg",
        "channel": "telegram",
        "token": TOKEN,
        "mode": mode,
        "api_server": telegram.base_url,
    }
    if mode == "webhook":
        inbox["webhook_secret"] = SECRET
    config = service_config(
        url,
        tmp,
        inbox=[inbox],
        web={"secret_key": "s" * 40, "public_url": f"http://127.0.0.1:{port}"},
    )
    async with running(config, port=port, clock=clock) as svc:
        svc.mode = mode  # type: ignore[attr-defined]
        yield svc


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest,
    db: Database,
    database_url: str,
    tmp_path: Path,
    telegram: FakeTelegram,
) -> AsyncIterator[Running]:
    async for svc in _service(db, database_url, tmp_path, telegram, request.param):
        yield svc


async def customer_sends(telegram: FakeTelegram, svc: Running, update: dict) -> None:
    """Deliver an update the way the inbox is configured to receive it."""
    telegram.push_update(TOKEN, update)
    if svc.mode == "webhook":  # type: ignore[attr-defined]
        assert await telegram.deliver_webhook(TOKEN) == 1
    else:
        await eventually(lambda: not telegram.pending_updates(TOKEN))


async def tickets(db: Database) -> list:
    return list((await queries.tickets(db, queries.TicketFilter(status=None)))[0])


async def test_message_opens_ticket_and_reply_reaches_customer(
    bot: Running, telegram: FakeTelegram
):
    db = bot.state.db
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "Where is my order?"))
    [ticket] = await eventually(lambda: tickets(db))
    assert ticket.subject == "Where is my order?" and ticket.customer.name == "Alice Smith"
    assert ticket.inbox.name == "tg"

    anna = await make_agent(db, "anna")
    await bot.state.desk.reply(ticket.number, anna, "It ships today")
    await bot.delivered()
    [sent] = telegram.params_of("sendMessage")
    assert sent["chat_id"] == ALICE.id and sent["text"] == "It ships today"
    [reply] = (await queries.messages(db, ticket.id))[1:]
    assert reply.delivery.status == Delivery.SENT


async def test_replayed_update_stores_one_message(bot: Running, telegram: FakeTelegram):
    update = telegram.text_message(TOKEN, ALICE, "hello")
    await customer_sends(telegram, bot, update)
    await eventually(lambda: tickets(bot.state.db))
    # Telegram delivers the same message again, once under the same and once a new update id.
    await customer_sends(telegram, bot, dict(update))
    await customer_sends(telegram, bot, {"message": update["message"]})
    [ticket] = await tickets(bot.state.db)
    assert len(await queries.messages(bot.state.db, ticket.id)) == 1


async def test_start_greets_and_opens_no_ticket(bot: Running, telegram: FakeTelegram):
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "/start"))
    await eventually(lambda: telegram.params_of("sendMessage"))
    assert telegram.params_of("sendMessage")[0]["text"].startswith("Hello!")
    assert await tickets(bot.state.db) == []


async def test_button_press_is_recorded_once_answered_and_shown(
    bot: Running, telegram: FakeTelegram
):
    db = bot.state.db
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "Is it paid?"))
    [ticket] = await eventually(lambda: tickets(db))
    message = await bot.state.desk.reply(
        ticket.number,
        None,
        "Did this help?",
        [Button("Yes", "helped:yes"), Button("No", "helped:no")],
    )
    await bot.delivered()
    markup = telegram.params_of("sendMessage")[-1]["reply_markup"]["inline_keyboard"]
    [row] = markup  # buttons of one row share a line
    data = [button["callback_data"] for button in row]
    assert data == [f"b:{b.id}" for b in message.buttons]
    assert all(len(d.encode()) <= 64 and "helped" not in d for d in data)

    press = telegram.callback_query(TOKEN, ALICE, data[0])
    await customer_sends(telegram, bot, press)
    await customer_sends(telegram, bot, {"callback_query": press["callback_query"]})  # replay
    answers = await eventually(lambda: telegram.params_of("answerCallbackQuery"))
    assert len(answers) >= 1 and "text" not in answers[0]
    shown = await eventually(lambda: telegram.params_of("editMessageText"))
    assert shown[0]["text"] == "Did this help?\n\n✅ Yes" and "reply_markup" not in shown[0]
    presses = [m for m in await queries.messages(db, ticket.id) if m.pressed_button_id]
    assert [m.text for m in presses] == ["Yes"]


async def test_forged_or_foreign_presses_are_refused(bot: Running, telegram: FakeTelegram):
    db = bot.state.db
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "question"))
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, MALLORY, "me too"))
    await eventually(lambda: _count(tickets(db), 2))
    alice = next(t for t in await tickets(db) if t.customer.name == "Alice Smith")
    message = await bot.state.desk.reply(alice.number, None, "Solved?", [Button("Yes", "ok")])
    await bot.delivered()
    good = f"b:{message.buttons[0].id}"

    forged = telegram.callback_query(TOKEN, ALICE, good)
    forged["callback_query"]["data"] = "b:not-a-button"
    await customer_sends(telegram, bot, forged)
    stolen = telegram.callback_query(TOKEN, ALICE, good)
    stolen["callback_query"]["from"] = MALLORY.to_dict()
    stolen["callback_query"]["message"]["chat"] = {
        "id": MALLORY.id,
        "type": "private",
        "first_name": "Mallory",
    }
    await customer_sends(telegram, bot, stolen)

    answers = await eventually(lambda: len(telegram.params_of("answerCallbackQuery")) == 2)
    assert answers
    texts = [a.get("text") for a in telegram.params_of("answerCallbackQuery")]
    assert texts == ["This button no longer works."] * 2
    assert telegram.params_of("editMessageText") == []
    for ticket in await tickets(db):
        assert not [m for m in await queries.messages(db, ticket.id) if m.pressed_button_id]


async def _count(found: Any, n: int) -> bool:
    return len(await found) == n


async def test_photo_is_kept_as_metadata_and_opens_for_agents(bot: Running, telegram: FakeTelegram):
    db = bot.state.db
    photo = telegram.photo_message(
        TOKEN, ALICE, content=b"\xff\xd8 jpeg bytes", caption="the receipt"
    )
    await customer_sends(telegram, bot, photo)
    [ticket] = await eventually(lambda: tickets(db))
    [message] = await queries.messages(db, ticket.id)
    assert message.text == "the receipt"
    [meta] = message.attachments
    assert meta["kind"] == "image" and meta["file_id"]
    await make_agent(db, "anna")
    async with aiohttp.ClientSession(bot.url) as http:
        token = await (
            await http.post("/api/v1/session", json={"login": "anna", "password": PASSWORD})
        ).json()
        headers = {"Cookie": f"otklik_session={token['token']}"}
        response = await http.get(f"/inbox/messages/{message.id}/files/0", headers=headers)
        assert response.status == 200 and await response.read() == b"\xff\xd8 jpeg bytes"
        assert response.content_type == "image/jpeg"
        missing = await http.get(f"/inbox/messages/{message.id}/files/5", headers=headers)
        assert missing.status == 404
        anonymous = await http.get(f"/inbox/messages/{message.id}/files/0", allow_redirects=False)
        assert anonymous.status == 303


async def test_edited_message_is_stored_as_an_edit(bot: Running, telegram: FakeTelegram):
    db = bot.state.db
    original = telegram.text_message(TOKEN, ALICE, "helo")
    await customer_sends(telegram, bot, original)
    [ticket] = await eventually(lambda: tickets(db))
    await customer_sends(telegram, bot, telegram.edited_message(TOKEN, original, "hello"))
    await eventually(lambda: queries.messages(db, ticket.id))
    [message] = await eventually(lambda: _edited(db, ticket.id))
    assert message.text == "hello" and [e["text"] for e in message.edits] == ["helo"]


async def _edited(db: Database, ticket_id: int) -> list:
    messages = await queries.messages(db, ticket_id)
    return messages if messages and messages[0].edited_at else []


async def test_unsupported_content_gets_a_polite_answer(bot: Running, telegram: FakeTelegram):
    update = telegram.text_message(TOKEN, ALICE, "x")
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": 55.75, "longitude": 37.62}
    await customer_sends(telegram, bot, update)
    answer = await eventually(lambda: telegram.params_of("sendMessage"))
    assert "only read text" in answer[0]["text"]
    assert await tickets(bot.state.db) == []


async def test_flood_control_then_success(bot: Running, telegram: FakeTelegram):
    db = bot.state.db
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "hi"))
    [ticket] = await eventually(lambda: tickets(db))
    telegram.fail_next("sendMessage", 429, retry_after=1)
    await bot.state.desk.reply(ticket.number, None, "Hello")
    await bot.delivered()
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.QUEUED
    assert "retry after 1s" in reply.delivery.last_error
    await asyncio.sleep(1.1)
    await bot.delivered()
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2


async def test_blocked_customer_fails_once_with_a_note(bot: Running, telegram: FakeTelegram):
    db = bot.state.db
    await customer_sends(telegram, bot, telegram.text_message(TOKEN, ALICE, "hi"))
    [ticket] = await eventually(lambda: tickets(db))
    telegram.block(TOKEN, ALICE.id)
    await bot.state.desk.reply(ticket.number, None, "Hello")
    await bot.delivered()
    *_, reply, note = await queries.messages(db, ticket.id)
    assert reply.delivery.status == Delivery.FAILED and reply.delivery.attempts == 1
    assert "blocked" in reply.delivery.last_error
    assert note.internal and "Delivery failed" in note.text


@pytest.fixture
async def webhook_bot(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram
) -> AsyncIterator[Running]:
    async for svc in _service(db, database_url, tmp_path, telegram, "webhook"):
        yield svc


async def test_webhook_is_registered_with_its_secret(webhook_bot: Running, telegram: FakeTelegram):
    hook = telegram.webhook(TOKEN)
    assert hook.url == f"{webhook_bot.url}/webhooks/telegram/tg"
    assert hook.secret_token == SECRET


@pytest.mark.parametrize("secret", [None, "wrong-secret-value-xx", SECRET + "x"])
async def test_webhook_refuses_a_wrong_secret_and_stores_nothing(
    webhook_bot: Running, telegram: FakeTelegram, secret: str | None
):
    update = {"update_id": 7, **telegram.text_message(TOKEN, ALICE, "hi")}
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{webhook_bot.url}/webhooks/telegram/tg", json=update, headers=headers
        )
    assert response.status == 401
    assert await tickets(webhook_bot.state.db) == []


async def test_webhook_refuses_malformed_updates_with_400(
    webhook_bot: Running, telegram: FakeTelegram
):
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        url = f"{webhook_bot.url}/webhooks/telegram/tg"
        broken = await http.post(url, data="{nope", headers=headers)
        wrong = await http.post(url, json={"update_id": "x", "message": 5}, headers=headers)
    assert broken.status == 400 and wrong.status == 400
    assert await tickets(webhook_bot.state.db) == []


LONG = "\n".join(f"Line {i}: 🙂 every step of the order, explained at length." for i in range(200))


async def test_a_long_reply_goes_in_parts_within_telegrams_limit(
    webhook_bot: Running, telegram: FakeTelegram
):
    db = webhook_bot.state.db
    await customer_sends(telegram, webhook_bot, telegram.text_message(TOKEN, ALICE, "hi"))
    [ticket] = await eventually(lambda: tickets(db))
    await webhook_bot.state.desk.reply(ticket.number, None, LONG, [Button("OK", "ok")])
    await webhook_bot.delivered()
    sent = telegram.sent_messages(ALICE.id)
    assert len(sent) == 3  # 11,400 UTF-16 units, 4096 at most each (the fake refuses more)
    assert "\n".join(m["text"] for m in sent) == LONG
    assert [bool(m.get("reply_markup")) for m in sent] == [False, False, True]
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.platform_message_id == f"{ALICE.id}:{sent[0]['message_id']}"


async def test_a_retry_after_a_partial_send_does_not_send_the_first_parts_again(
    webhook_bot: Running, telegram: FakeTelegram
):
    db = webhook_bot.state.db
    await customer_sends(telegram, webhook_bot, telegram.text_message(TOKEN, ALICE, "hi"))
    [ticket] = await eventually(lambda: tickets(db))
    telegram.fail_next("sendMessage", 429, retry_after=1, after=1)  # the second part waits
    await webhook_bot.state.desk.reply(ticket.number, None, LONG)
    await webhook_bot.delivered()
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.QUEUED and len(telegram.sent_messages(ALICE.id)) == 1
    await asyncio.sleep(1.1)
    await webhook_bot.delivered()
    sent = telegram.sent_messages(ALICE.id)
    assert "\n".join(m["text"] for m in sent) == LONG  # each part once, in order
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2
