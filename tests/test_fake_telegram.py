"""The Telegram Bot API fake, driven by the real aiogram Bot as production code drives it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web

from tests.fakes.telegram import FakeTelegram, TgChat, TgUser, Upload
from tests.waiting import eventually

TOKEN = "123456:ABC-fake"
OTHER_TOKEN = "654321:XYZ-fake"
ALICE = TgUser(42, "Alice", username="alice")
FORUM = TgChat.forum(-1001234567890, "Support desk")


class ManualClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connect(telegram: FakeTelegram, token: str = TOKEN, **kwargs: object) -> Bot:
    api = TelegramAPIServer.from_base(telegram.base_url)
    return Bot(token, session=AiohttpSession(api=api), **kwargs)  # type: ignore[arg-type]


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=f"Button {d}", callback_data=d) for d in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, OTHER_TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with connect(telegram) as client:
        yield client


async def test_get_me_describes_the_bot_of_each_token(telegram: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "test123456_bot")
    async with connect(telegram, OTHER_TOKEN) as other:
        assert (await other.get_me()).id == 654321
    assert [call.token for call in telegram.calls_of("getMe")] == [TOKEN, OTHER_TOKEN]


async def test_unknown_token_is_unauthorized(telegram: FakeTelegram) -> None:
    async with connect(telegram, "999:unknown") as stranger:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()


async def test_unknown_method_is_not_found(telegram: FakeTelegram) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{telegram.base_url}/bot{TOKEN}/sendTelepathy") as response,
    ):
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_send_message_records_decoded_params_and_numbers_messages(
    telegram: FakeTelegram, bot: Bot
) -> None:
    first = await bot.send_message(ALICE.id, "123", reply_markup=keyboard("yes", "no"))
    second = await bot.send_message(ALICE.id, "Second")

    assert telegram.params_of("sendMessage")[0] == {
        "chat_id": 42,
        "text": "123",  # stays a string, though it is valid JSON
        "reply_markup": {
            "inline_keyboard": [
                [
                    {"text": "Button yes", "callback_data": "yes"},
                    {"text": "Button no", "callback_data": "no"},
                ]
            ]
        },
    }
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.from_user is not None and first.from_user.id == 123456
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard("yes", "no").model_dump()
    assert [m["text"] for m in telegram.sent_messages(ALICE.id)] == ["123", "Second"]


async def test_long_poll_waits_for_a_pushed_update(telegram: FakeTelegram, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()

    pushed = telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "hello"))
    updates = await asyncio.wait_for(poll, 5)

    assert loop.time() - started < 5
    assert [update.update_id for update in updates] == [pushed["update_id"]]
    message = updates[0].message
    assert message is not None and message.text == "hello"
    assert message.from_user is not None and message.from_user.username == "alice"
    assert message.chat.type == "private" and message.chat.id == ALICE.id


async def test_long_poll_without_updates_returns_empty_after_timeout(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_offset_confirms_earlier_updates(telegram: FakeTelegram, bot: Bot) -> None:
    ids = [
        telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, text))["update_id"]
        for text in ("one", "two", "three")
    ]
    assert [u.update_id for u in await bot.get_updates()] == ids  # unconfirmed: kept
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u["update_id"] for u in telegram.pending_updates(TOKEN)] == ids[1:]

    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == []
    assert telegram.pending_updates(TOKEN) == []


async def test_a_second_poller_terminates_the_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 5)


async def test_set_webhook_remembers_it_and_blocks_polling(
    telegram: FakeTelegram, bot: Bot
) -> None:
    url = "https://support.example/telegram"
    allowed = ["message", "callback_query"]
    await bot.set_webhook(url, secret_token="s3cret-Token_1", allowed_updates=allowed)

    hook = telegram.webhook(TOKEN)
    assert (hook.url, hook.secret_token, hook.allowed_updates) == (url, "s3cret-Token_1", allowed)
    info = await bot.get_webhook_info()
    assert (info.url, info.allowed_updates, info.pending_update_count) == (url, allowed, 0)
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    with pytest.raises(TelegramBadRequest, match="secret token"):
        await bot.set_webhook(url, secret_token="no spaces allowed")

    await bot.delete_webhook()
    assert telegram.webhook(TOKEN).url == ""
    assert await bot.get_updates() == []


async def test_webhook_delivery_posts_updates_with_the_secret(
    telegram: FakeTelegram, bot: Bot
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def receive(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="abc")
        update = telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "via hook"))
        assert (await bot.get_webhook_info()).pending_update_count == 1

        assert await telegram.deliver_webhook(TOKEN) == 1
    finally:
        await runner.cleanup()
    assert received == [("abc", update)]
    assert telegram.pending_updates(TOKEN) == []


async def test_injected_429_surfaces_as_retry_after(telegram: FakeTelegram, bot: Bot) -> None:
    telegram.fail_next("sendMessage", 429, retry_after=3)

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(ALICE.id, "first try")
    assert raised.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in raised.value.message

    await bot.send_message(ALICE.id, "second try")
    assert telegram.too_many_requests == 1
    assert [p["text"] for p in telegram.params_of("sendMessage")] == ["first try", "second try"]
    assert [m["text"] for m in telegram.sent_messages(ALICE.id)] == ["second try"]


async def test_injected_403_hits_only_the_given_chat(telegram: FakeTelegram, bot: Bot) -> None:
    telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=42)

    await bot.send_message(43, "someone else")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "hello")
    await bot.send_message(ALICE.id, "fault used up")


async def test_a_user_who_blocked_the_bot_stays_unreachable(
    telegram: FakeTelegram, bot: Bot
) -> None:
    telegram.block(TOKEN, ALICE.id)
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(ALICE.id, "anyone there?")
    async with connect(telegram, OTHER_TOKEN) as other:
        await other.send_message(ALICE.id, "the other bot is not blocked")

    telegram.unblock(TOKEN, ALICE.id)
    await bot.send_message(ALICE.id, "welcome back")


async def test_limits_allow_one_message_per_second_to_a_private_chat() -> None:
    clock = ManualClock()
    async with (
        FakeTelegram(TOKEN, enforce_limits=True, clock=clock) as telegram,
        connect(telegram) as bot,
    ):
        await bot.send_message(ALICE.id, "one")
        with pytest.raises(TelegramRetryAfter) as raised:
            await bot.send_message(ALICE.id, "two")
        assert raised.value.retry_after == 1
        await bot.send_message(43, "another chat is fine")

        clock.now += 1.0
        await bot.send_message(ALICE.id, "two, later")
        assert telegram.too_many_requests == 1
        assert len(telegram.sent_messages(ALICE.id)) == 2


async def test_limits_allow_twenty_messages_a_minute_to_a_group() -> None:
    clock = ManualClock()
    async with (
        FakeTelegram(TOKEN, enforce_limits=True, clock=clock) as telegram,
        connect(telegram) as bot,
    ):
        for number in range(20):
            await bot.send_message(FORUM.id, f"message {number}")
            clock.now += 1.0
        with pytest.raises(TelegramRetryAfter) as raised:
            await bot.send_message(FORUM.id, "one too many")
        assert raised.value.retry_after == 40  # the first message leaves the window at t=60

        clock.now += 40.0
        await bot.send_message(FORUM.id, "the window slid")


async def test_limits_allow_thirty_messages_a_second_in_total() -> None:
    clock = ManualClock()
    async with (
        FakeTelegram(TOKEN, enforce_limits=True, clock=clock) as telegram,
        connect(telegram) as bot,
    ):
        for chat_id in range(1, 31):
            await bot.send_message(chat_id, "broadcast")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(31, "broadcast")
        assert telegram.too_many_requests == 1


async def test_limits_are_off_by_default(telegram: FakeTelegram, bot: Bot) -> None:
    for number in range(5):
        await bot.send_message(ALICE.id, f"burst {number}")
    assert telegram.too_many_requests == 0


async def test_callback_data_must_be_1_to_64_bytes(telegram: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(ALICE.id, "fits", reply_markup=keyboard("я" * 32))  # 64 bytes
    for data in ("x" * 65, "я" * 33, ""):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(ALICE.id, "too long", reply_markup=keyboard(data))
    assert len(telegram.sent_messages(ALICE.id)) == 1


async def test_text_must_be_non_empty_and_at_most_4096_characters(bot: Bot) -> None:
    for empty in ("", "   "):
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(ALICE.id, empty)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE.id, "x" * 4097)
    assert (await bot.send_message(ALICE.id, "x" * 4096)).text == "x" * 4096


async def test_html_is_parsed_into_entities_and_bad_markup_rejected(bot: Bot) -> None:
    sent = await bot.send_message(ALICE.id, "<b>Bold</b> &amp; <i>it</i>", parse_mode="HTML")
    assert sent.text == "Bold & it"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 4),
        ("italic", 7, 2),
    ]
    for broken in ("<b>unclosed", "1 < 2", "<blink>no</blink>", "<b><i>x</b></i>"):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(ALICE.id, broken, parse_mode="HTML")


async def test_edits_follow_telegram_rules(telegram: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ALICE.id, "Rate us", reply_markup=keyboard("5"))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="Rate us", chat_id=ALICE.id, message_id=sent.message_id, reply_markup=keyboard("5")
        )

    edited = await bot.edit_message_text(
        text="Thanks!", chat_id=ALICE.id, message_id=sent.message_id
    )
    assert isinstance(edited, Message) and edited.text == "Thanks!"
    assert edited.reply_markup is None  # not repeated, so removed
    assert edited.edit_date is not None

    telegram.fail_next("editMessageReplyMarkup", 400, "Bad Request: message can't be edited")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_reply_markup(
            chat_id=ALICE.id, message_id=sent.message_id, reply_markup=keyboard("1")
        )

    incoming = telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "mine"))
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text(
            text="hacked", chat_id=ALICE.id, message_id=incoming["message"]["message_id"]
        )


async def test_forum_topics_can_be_created_used_and_closed(
    telegram: FakeTelegram, bot: Bot
) -> None:
    topic = await bot.create_forum_topic(FORUM.id, "Ticket #1 — Alice")
    assert topic.name == "Ticket #1 — Alice"
    assert topic.icon_color == 7322096

    posted = await bot.send_message(
        FORUM.id, "New ticket", message_thread_id=topic.message_thread_id
    )
    assert posted.is_topic_message and posted.message_thread_id == topic.message_thread_id
    assert posted.reply_to_message is not None
    assert posted.reply_to_message.forum_topic_created is not None
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(FORUM.id, "lost", message_thread_id=topic.message_thread_id + 100)

    await bot.edit_forum_topic(FORUM.id, topic.message_thread_id, name="Ticket #1 — solved")
    await bot.close_forum_topic(FORUM.id, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(FORUM.id, topic.message_thread_id)
    await bot.reopen_forum_topic(FORUM.id, topic.message_thread_id)
    assert telegram.topic(FORUM.id, topic.message_thread_id).name == "Ticket #1 — solved"  # type: ignore[union-attr]

    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(-5, "basic groups have no topics")


async def test_registered_file_downloads_through_get_file(telegram: FakeTelegram, bot: Bot) -> None:
    stored = telegram.add_file(b"customer's invoice", file_name="invoice.pdf")

    file = await bot.get_file(stored.file_id)
    assert file.file_path == stored.file_path and file.file_size == 18
    downloaded = await bot.download(stored.file_id)
    assert downloaded is not None and downloaded.read() == b"customer's invoice"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file")


async def test_uploads_arrive_as_multipart_and_become_files(
    telegram: FakeTelegram, bot: Bot
) -> None:
    photo = BufferedInputFile(b"\x89PNG fake", filename="screenshot.png")
    sent = await bot.send_photo(ALICE.id, photo, caption="Your screenshot")

    upload = telegram.params_of("sendPhoto")[0]["photo"]
    assert upload == Upload("screenshot.png", b"\x89PNG fake", "application/octet-stream")
    assert sent.photo is not None and sent.caption == "Your screenshot"
    downloaded = await bot.download(sent.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == b"\x89PNG fake"

    voice = telegram.push_update(TOKEN, telegram.voice_message(TOKEN, ALICE))
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_photo(ALICE.id, voice["message"]["voice"]["file_id"])
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(ALICE.id, "made-up-file-id")


async def test_built_updates_parse_as_aiogram_updates(telegram: FakeTelegram, bot: Bot) -> None:
    question = await bot.send_message(ALICE.id, "Solved?", reply_markup=keyboard("yes", "no"))
    built = [
        telegram.text_message(TOKEN, ALICE, "/start ref42"),
        telegram.photo_message(TOKEN, ALICE, caption="look"),
        telegram.document_message(TOKEN, ALICE, file_name="log.txt", mime_type="text/plain"),
        telegram.voice_message(TOKEN, ALICE, duration=7),
        telegram.sticker_message(TOKEN, ALICE, emoji="🔥"),
        telegram.callback_query(TOKEN, ALICE, "yes"),
        telegram.text_message(TOKEN, ALICE, "in a topic", chat=FORUM, message_thread_id=77),
    ]
    built.insert(1, telegram.edited_message(TOKEN, built[0], "/start ref43"))
    for update in built:
        telegram.push_update(TOKEN, update)

    text, edited, photo, document, voice, sticker, pressed, topic = await bot.get_updates()

    assert text.message and text.message.entities
    assert text.message.entities[0].type == "bot_command"
    assert edited.edited_message and edited.edited_message.text == "/start ref43"
    assert photo.message and photo.message.photo and len(photo.message.photo) == 3
    assert document.message and document.message.document
    assert document.message.document.file_name == "log.txt"
    assert voice.message and voice.message.voice and voice.message.voice.duration == 7
    assert sticker.message and sticker.message.sticker and sticker.message.sticker.emoji == "🔥"
    assert pressed.callback_query and pressed.callback_query.data == "yes"
    assert pressed.callback_query.message
    assert pressed.callback_query.message.message_id == question.message_id
    message = topic.message
    assert message and message.chat.is_forum and message.chat.type == "supergroup"
    assert message.is_topic_message and message.message_thread_id == 77
    with pytest.raises(ValueError, match="no button"):
        telegram.callback_query(TOKEN, ALICE, "maybe")


async def test_callback_queries_are_answered_once_and_in_time() -> None:
    clock = ManualClock()
    async with FakeTelegram(TOKEN, clock=clock) as telegram, connect(telegram) as bot:
        await bot.send_message(ALICE.id, "Solved?", reply_markup=keyboard("yes"))
        first = telegram.push_update(TOKEN, telegram.callback_query(TOKEN, ALICE, "yes"))
        late = telegram.push_update(TOKEN, telegram.callback_query(TOKEN, ALICE, "yes"))

        assert await bot.answer_callback_query(first["callback_query"]["id"], text="Thanks")
        with pytest.raises(TelegramBadRequest, match="query is too old"):
            await bot.answer_callback_query(first["callback_query"]["id"])
        clock.now += 16
        with pytest.raises(TelegramBadRequest, match="query is too old"):
            await bot.answer_callback_query(late["callback_query"]["id"])


async def test_copy_message_relays_a_customer_photo_into_a_topic(
    telegram: FakeTelegram, bot: Bot
) -> None:
    photo = telegram.push_update(TOKEN, telegram.photo_message(TOKEN, ALICE, caption="broken"))
    topic = await bot.create_forum_topic(FORUM.id, "Alice")

    copied = await bot.copy_message(
        FORUM.id,
        ALICE.id,
        photo["message"]["message_id"],
        message_thread_id=topic.message_thread_id,
    )

    relayed = telegram.message(TOKEN, FORUM.id, copied.message_id)
    assert relayed is not None
    assert relayed["photo"] == photo["message"]["photo"]
    assert relayed["caption"] == "broken"
    assert relayed["message_thread_id"] == topic.message_thread_id
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(FORUM.id, ALICE.id, 9999)


async def test_get_chat_describes_known_chats(telegram: FakeTelegram, bot: Bot) -> None:
    telegram.add_chat(FORUM)
    chat = await bot.get_chat(FORUM.id)
    assert (chat.id, chat.type, chat.title, chat.is_forum) == (
        FORUM.id,
        "supergroup",
        "Support desk",
        True,
    )


async def test_an_aiogram_dispatcher_answers_through_the_fake(telegram: FakeTelegram) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"<b>You said:</b> {message.text}")

    async with connect(telegram, default=DefaultBotProperties(parse_mode="HTML")) as bot:
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
        )
        telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "ping"))
        await eventually(lambda: bool(telegram.sent_messages(ALICE.id)))
        await dispatcher.stop_polling()
        await polling

    [reply] = telegram.sent_messages(ALICE.id)
    assert reply["text"] == "You said: ping"
    assert telegram.params_of("sendMessage")[0]["parse_mode"] == "HTML"


async def test_updates_are_valid_for_aiogram_models(telegram: FakeTelegram) -> None:
    update = telegram.document_message(TOKEN, ALICE, chat=FORUM, message_thread_id=5)
    parsed = Update.model_validate({"update_id": 1, **update})
    assert parsed.message and parsed.message.reply_to_message
    assert parsed.message.reply_to_message.forum_topic_created is not None
