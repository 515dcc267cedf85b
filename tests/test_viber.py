"""The Viber channel end to end: the real service and its Viber client against the emulator."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from core import queries
from core.clock import utcnow
from core.db import Database
from core.messages import Button
from core.models import Delivery
from tests.fakes.viber import FakeViber, ViberUser
from tests.people import make_agent
from tests.service import PASSWORD, Running, running, service_config
from tests.test_telegram import free_port, tickets
from tests.waiting import eventually

TOKEN = "4a5b6c7d8e9f0a1b-" + "c" * 16 + "-0d1e2f3a4b5c6d7e"
ALICE = ViberUser("01234567890A+b/cd==", "Alice Smith")
MALLORY = ViberUser("98765432109Z=", "Mallory", language="ru")
PUBLIC = "https://support.example.test"


@pytest.fixture
async def viber() -> AsyncIterator[FakeViber]:
    async with FakeViber(TOKEN) as fake:
        yield fake


async def _service(
    url: str,
    tmp: Path,
    viber: FakeViber,
    public_url: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Running]:
    port = free_port()
    local = f"http://127.0.0.1:{port}"
    if public_url:
        viber.route(public_url, local)
    inbox = {
        "name": "vb",
        "channel": "viber",
        "token": TOKEN,
        "sender_name": "Acme support",
        "api_url": viber.base_url,
    }
    config = service_config(
        url,
        tmp,
        inbox=[inbox],
        web={"secret_key": "s" * 40, "public_url": public_url or local},
        sender={"first_retry_seconds": 0.2, "max_retry_seconds": 0.5},
    )
    async with running(config, port=port, clock=clock) as svc:
        yield svc


@pytest.fixture
async def bot(
    db: Database, database_url: str, tmp_path: Path, viber: FakeViber
) -> AsyncIterator[Running]:
    async for svc in _service(database_url, tmp_path, viber):
        yield svc


def hook(svc: Running) -> str:
    return f"{svc.url}/webhooks/viber/vb"


async def opened(svc: Running, viber: FakeViber, user: ViberUser = ALICE, text: str = "hi"):
    status, _ = await viber.deliver(hook(svc), viber.text_message(user, text))
    assert status == 200
    return next(t for t in await tickets(svc.state.db) if t.customer.name == user.name)


async def test_signed_message_opens_ticket_and_reply_reaches_customer(
    bot: Running, viber: FakeViber
):
    db = bot.state.db
    ticket = await opened(bot, viber, text="Where is my order?")
    assert ticket.subject == "Where is my order?" and ticket.inbox.name == "vb"
    anna = await make_agent(db, "anna")
    await bot.state.desk.reply(ticket.number, anna, "It ships today")
    await bot.delivered()
    [sent] = viber.sent(ALICE.id)
    assert sent["sender"] == {"name": "Acme support"} and sent["type"] == "text"
    assert sent["text"] == "It ships today" and "keyboard" not in sent
    [reply] = (await queries.messages(db, ticket.id))[1:]
    assert reply.delivery.status == Delivery.SENT


@pytest.mark.parametrize("signature", ["forged", None, "", "zz-not-hex"])
async def test_forged_or_missing_signature_gets_403_and_stores_nothing(
    bot: Running, viber: FakeViber, signature: str | None
):
    status, text = await viber.deliver(
        hook(bot), viber.text_message(ALICE, "hi"), signature=signature
    )
    assert status == 403 and "X-Viber-Content-Signature" in text
    assert await tickets(bot.state.db) == []


async def test_a_signature_over_another_body_is_refused(bot: Running, viber: FakeViber):
    body = json.dumps(viber.text_message(ALICE, "hi")).encode()
    other = viber.sign(json.dumps(viber.text_message(ALICE, "hello")).encode())
    status, _ = await viber.deliver(hook(bot), body, signature=other)
    assert status == 403 and await tickets(bot.state.db) == []


async def test_replayed_message_token_is_stored_once(bot: Running, viber: FakeViber):
    callback = viber.text_message(ALICE, "hello")
    assert (await viber.deliver(hook(bot), callback))[0] == 200
    assert (await viber.deliver(hook(bot), dict(callback)))[0] == 200
    [ticket] = await tickets(bot.state.db)
    assert len(await queries.messages(bot.state.db, ticket.id)) == 1


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[1, 2]", b'{"event": "message", "message_token": 5}', b'{"timestamp": 1}'],
)
async def test_malformed_callbacks_get_400_and_store_nothing(
    bot: Running, viber: FakeViber, body: bytes
):
    status, text = await viber.deliver(hook(bot), body)
    assert status == 400, text
    assert await tickets(bot.state.db) == []


async def test_conversation_started_answers_with_the_greeting(bot: Running, viber: FakeViber):
    status, text = await viber.deliver(hook(bot), viber.conversation_started(ALICE))
    assert status == 200
    answer = json.loads(text)
    assert answer["type"] == "text" and answer["text"].startswith("Hello!")
    assert answer["sender"] == {"name": "Acme support"}
    for event in (viber.webhook_event(), viber.subscribed(ALICE)):
        assert (await viber.deliver(hook(bot), event))[0] == 200
    assert await tickets(bot.state.db) == []


async def test_buttons_are_a_reply_keyboard_and_a_press_is_recorded_once(
    bot: Running, viber: FakeViber
):
    db = bot.state.db
    ticket = await opened(bot, viber, text="Is it paid?")
    message = await bot.state.desk.reply(
        ticket.number, None, "Did this help?", [Button("Yes <3", "helped:yes"), Button("No", "n")]
    )
    await bot.delivered()
    [sent] = viber.sent(ALICE.id)
    buttons = sent["keyboard"]["Buttons"]
    assert sent["keyboard"]["Type"] == "keyboard" and sent["min_api_version"] >= 1
    assert [b["ActionType"] for b in buttons] == ["reply", "reply"]
    assert [b["Text"] for b in buttons] == ["Yes &lt;3", "No"]
    bodies = [b["ActionBody"] for b in buttons]
    assert bodies == [f"otk:b:{b.id}" for b in message.buttons]
    assert all("helped" not in body for body in bodies)

    press = viber.text_message(ALICE, bodies[0])
    assert (await viber.deliver(hook(bot), press))[0] == 200
    assert (await viber.deliver(hook(bot), dict(press)))[0] == 200  # Viber delivers it again
    messages = await queries.messages(db, ticket.id)
    assert [m.text for m in messages if m.pressed_button_id] == ["Yes <3"]
    assert not [m for m in messages if m.text.startswith("otk:")]
    assert len(viber.sent(ALICE.id)) == 1  # a first press gets no answer from the adapter

    again = viber.text_message(ALICE, bodies[0])
    assert (await viber.deliver(hook(bot), again))[0] == 200
    assert viber.sent(ALICE.id)[-1]["text"] == "You have already chosen this."
    assert "keyboard" not in viber.sent(ALICE.id)[-1]


async def test_forged_or_foreign_presses_get_a_short_answer(bot: Running, viber: FakeViber):
    db = bot.state.db
    alice = await opened(bot, viber, ALICE, "question")
    await opened(bot, viber, MALLORY, "me too")
    message = await bot.state.desk.reply(alice.number, None, "Solved?", [Button("Yes", "ok")])
    await bot.delivered()
    good = f"otk:b:{message.buttons[0].id}"
    for user, body in ((ALICE, "otk:b:not-a-button"), (MALLORY, good)):
        assert (await viber.deliver(hook(bot), viber.text_message(user, body)))[0] == 200
        assert viber.sent(user.id)[-1]["text"] == "This button no longer works."
    for ticket in await tickets(db):
        messages = await queries.messages(db, ticket.id)
        assert not [m for m in messages if m.pressed_button_id or m.text.startswith("otk:")]


async def test_unsubscribed_customer_is_not_messaged_and_gets_a_note(
    bot: Running, viber: FakeViber
):
    db = bot.state.db
    ticket = await opened(bot, viber)
    assert (await viber.deliver(hook(bot), viber.unsubscribed(ALICE)))[0] == 200
    await bot.state.desk.reply(ticket.number, None, "Are you there?")
    await bot.delivered()
    *_, reply, note = await queries.messages(db, ticket.id)
    assert reply.delivery.status == Delivery.FAILED and reply.delivery.attempts == 1
    assert "unsubscribed from the bot" in reply.delivery.last_error
    assert note.internal and "Delivery failed" in note.text
    assert viber.calls_of("send_message") == []


async def test_viber_saying_not_subscribed_fails_at_once_and_marks_the_customer(
    bot: Running, viber: FakeViber
):
    db = bot.state.db
    ticket = await opened(bot, viber)
    viber.unsubscribe(ALICE.id)  # the unsubscribed callback never came
    await bot.state.desk.reply(ticket.number, None, "Hello")
    await bot.delivered()
    *_, reply, note = await queries.messages(db, ticket.id)
    assert reply.delivery.status == Delivery.FAILED and reply.delivery.attempts == 1
    assert "receiverNotSubscribed" in reply.delivery.last_error and note.internal
    await bot.state.desk.reply(ticket.number, None, "Hello again")
    await bot.delivered()
    assert len(viber.calls_of("send_message")) == 1  # the second one is not even tried


async def test_a_permanent_refusal_marks_the_message_failed_with_a_note(
    bot: Running, viber: FakeViber
):
    db = bot.state.db
    ticket = await opened(bot, viber)
    viber.fail_next("send_message", status=11, status_message="receiverNoSuitableDevice")
    await bot.state.desk.reply(ticket.number, None, "Hello")
    await bot.delivered()
    *_, reply, note = await queries.messages(db, ticket.id)
    assert reply.delivery.status == Delivery.FAILED and reply.delivery.attempts == 1
    assert "receiverNoSuitableDevice (status 11)" in reply.delivery.last_error
    assert note.internal and "receiverNoSuitableDevice" in note.text


@pytest.mark.parametrize(
    ("fault", "error", "pause"),
    [
        ({"http_status": 429, "retry_after": 1}, "HTTP 429", 1.0),  # Viber's Retry-After
        ({"http_status": 503}, "HTTP 503", 0.2),  # the sender's first back-off
        ({"status": 12, "status_message": "tooManyRequests"}, "tooManyRequests", 0.2),
    ],
)
async def test_rate_limits_and_server_errors_are_retried(
    bot: Running,
    viber: FakeViber,
    caplog: pytest.LogCaptureFixture,
    fault: dict,
    error: str,
    pause: float,
):
    db = bot.state.db
    ticket = await opened(bot, viber)
    viber.fail_next("send_message", **fault)
    caplog.set_level(logging.WARNING, logger="otklik.sender")
    await bot.state.desk.reply(ticket.number, None, "Hello")
    await eventually(lambda: viber.sent(ALICE.id))
    await bot.delivered()
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2
    assert [s["text"] for s in viber.sent(ALICE.id)] == ["Hello"]
    refused, accepted = [
        c for c in viber.calls if c.method == "send_message" and c.body.get("text") == "Hello"
    ]
    assert accepted.at - refused.at >= pause  # tried again no sooner than it should be
    [warning] = [r.getMessage() for r in caplog.records if "attempt 1 failed" in r.getMessage()]
    assert error in warning


async def test_a_long_reply_is_split_with_the_keyboard_on_the_last_part(
    bot: Running, viber: FakeViber
):
    ticket = await opened(bot, viber)
    words = ("word " * 1700).strip()  # 8499 characters
    await bot.state.desk.reply(ticket.number, None, words, [Button("OK", "ok")])
    await bot.delivered()
    first, last = viber.sent(ALICE.id)
    assert len(first["text"]) <= 7000 and "keyboard" not in first and "keyboard" in last
    assert f"{first['text']} {last['text']}" == words


async def test_pictures_and_files_are_kept_as_links_agents_can_open(bot: Running, viber: FakeViber):
    db = bot.state.db
    media = viber.add_media("receipt.jpg", b"\xff\xd8 jpeg bytes")
    picture = viber.picture_message(ALICE, media, text="the receipt", size=14)
    assert (await viber.deliver(hook(bot), picture))[0] == 200
    doc = viber.file_message(ALICE, viber.add_media("a.pdf", b"%PDF"), "invoice.pdf", 4)
    assert (await viber.deliver(hook(bot), doc))[0] == 200
    [ticket] = await tickets(db)
    first, second = await queries.messages(db, ticket.id)
    assert first.text == "the receipt"
    [image] = first.attachments
    assert image["kind"] == "image" and image["url"] == media and image["mime"] == "image/jpeg"
    [file] = second.attachments
    assert (file["kind"], file["name"], file["size"]) == ("file", "invoice.pdf", 4)
    await make_agent(db, "anna")
    async with aiohttp.ClientSession(bot.url) as http:
        token = await (
            await http.post("/api/v1/session", json={"login": "anna", "password": PASSWORD})
        ).json()
        headers = {"Cookie": f"otklik_session={token['token']}"}
        response = await http.get(f"/inbox/messages/{first.id}/files/0", headers=headers)
        assert response.status == 200 and await response.read() == b"\xff\xd8 jpeg bytes"


@pytest.fixture
async def https_bot(
    db: Database, database_url: str, tmp_path: Path, viber: FakeViber
) -> AsyncIterator[Running]:
    async for svc in _service(database_url, tmp_path, viber, public_url=PUBLIC):
        yield svc


async def test_webhook_is_set_at_start_when_public_url_is_https(
    https_bot: Running, viber: FakeViber
):
    webhook = await eventually(lambda: viber.webhook)
    assert webhook.url == f"{PUBLIC}/webhooks/viber/vb"
    assert {"unsubscribed", "conversation_started"} <= set(webhook.event_types)


async def test_without_https_the_webhook_is_not_set_and_the_log_says_why(
    db: Database, database_url: str, tmp_path: Path, viber: FakeViber, caplog
):
    caplog.set_level(logging.WARNING, logger="otklik.viber")
    async for _svc in _service(database_url, tmp_path, viber):
        await eventually(lambda: viber.calls_of("get_account_info"))
    assert viber.webhook is None and viber.calls_of("set_webhook") == []
    assert "not https" in caplog.text


async def test_a_retry_after_a_partial_send_sends_only_the_parts_not_sent(
    bot: Running, viber: FakeViber
):
    ticket = await opened(bot, viber)
    words = ("word " * 3000).strip()  # 14999 characters: 3 parts of at most 7000
    viber.fail_next("send_message", http_status=503, after=1)
    await bot.state.desk.reply(ticket.number, None, words, [Button("OK", "ok")])
    await eventually(lambda: len(viber.sent(ALICE.id)) == 3)
    await bot.delivered()
    sent = viber.sent(ALICE.id)
    assert all(len(s["text"]) <= 7000 for s in sent) and " ".join(s["text"] for s in sent) == words
    assert ["keyboard" in s for s in sent] == [False, False, True]
    reply = (await queries.messages(bot.state.db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2
