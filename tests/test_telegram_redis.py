"""Two Telegram adapters of one bot, as two processes would hold them, sharing one Redis:
the flood limits hold for both together, an update is handled once, FSM states are shared."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Update

from bots.telegram.channel import TelegramChannel
from bots.telegram.fsm import SharedStorage
from core import queries
from core.bus import LocalBus
from core.channels import DeliveryError
from core.db import Database
from core.desk import Desk
from core.messages import Outbound
from settings.config import TelegramInbox
from tests.fakes.telegram import FakeTelegram, TgUser
from tests.redis_server import CLOSED_URL, bot_token, connect, redis_url, unique

__all__ = ["bot_token", "connect", "redis_url", "unique"]  # fixtures

ALICE = TgUser(1001, "Alice")
CHATS = range(5001, 5046)  # 45 chats, two messages each: 90 messages, three seconds' worth


@pytest.fixture
async def telegram(bot_token: str) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(bot_token, enforce_limits=True) as fake:
        yield fake


@pytest.fixture
async def adapters(
    telegram: FakeTelegram, bot_token: str, unique: str
) -> AsyncIterator[Callable[..., TelegramChannel]]:
    """``adapter(desk, redis)``: a TelegramChannel of the test's bot, closed afterwards."""
    made: list[TelegramChannel] = []
    inbox = TelegramInbox.model_validate(
        {"name": unique, "channel": "telegram", "token": bot_token, "api_server": telegram.base_url}
    )

    def adapter(desk: Desk, client: redis.Redis | None) -> TelegramChannel:
        made.append(TelegramChannel(inbox, desk, "en", "http://127.0.0.1:1", redis=client))
        return made[-1]

    yield adapter
    for channel in made:
        await channel.bot.session.close()


@pytest.fixture
async def no_desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A desk the adapters hold but sending never touches (its database is never opened)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    yield Desk(db, LocalBus())
    await db.close()


def replies(inbox: str) -> list[Outbound]:
    outs = []
    for n, chat in enumerate([*CHATS, *CHATS]):
        outs.append(Outbound(n + 1, n + 1, inbox, str(chat), f"Reply {n // len(CHATS) + 1}", n))
    return outs


async def send_from_both(adapters: list[TelegramChannel]) -> list[Any]:
    outs = replies(adapters[0].inbox.name)
    return await asyncio.gather(
        *(adapters[n % 2].send(out) for n, out in enumerate(outs)), return_exceptions=True
    )


async def test_two_processes_of_one_bot_keep_its_limits_together(
    adapters: Callable[..., TelegramChannel],
    no_desk: Desk,
    telegram: FakeTelegram,
    connect: Callable[..., redis.Redis],
):
    results = await send_from_both([adapters(no_desk, connect()) for _ in range(2)])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert telegram.too_many_requests == 0
    for chat in CHATS:
        assert sorted(m["text"] for m in telegram.sent_messages(chat)) == ["Reply 1", "Reply 2"]


async def test_each_keeping_the_limits_alone_gets_429s(
    adapters: Callable[..., TelegramChannel], no_desk: Desk, telegram: FakeTelegram
):
    results = await send_from_both([adapters(no_desk, None) for _ in range(2)])
    assert telegram.too_many_requests > 0
    assert any(isinstance(r, DeliveryError) for r in results)


async def test_fsm_states_are_kept_in_redis_under_the_bot_id(
    adapters: Callable[..., TelegramChannel],
    no_desk: Desk,
    connect: Callable[..., redis.Redis],
):
    one, other = adapters(no_desk, connect()), adapters(no_desk, connect())
    storage = one.dispatcher.storage
    assert isinstance(storage, SharedStorage) and isinstance(storage.redis, RedisStorage)
    key = StorageKey(bot_id=one.bot.id, chat_id=ALICE.id, user_id=ALICE.id)
    await FSMContext(one.dispatcher.storage, key).set_state("rating:comment")
    assert await FSMContext(other.dispatcher.storage, key).get_state() == "rating:comment"
    assert (
        await connect().get(f"otklik:fsm:{one.bot.id}:{ALICE.id}:{ALICE.id}:state")
        == b"rating:comment"
    )


async def test_without_redis_fsm_states_stay_in_memory(
    adapters: Callable[..., TelegramChannel], no_desk: Desk
):
    assert isinstance(adapters(no_desk, None).dispatcher.storage, MemoryStorage)


# -- updates seen --------------------------------------------------------------------------------


class Fed:
    """Which adapter's dispatcher was fed each update; ``fail`` makes the next feed raise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *channels: TelegramChannel) -> None:
        self.log: list[tuple[int, int]] = []
        self.fail = False
        for number, channel in enumerate(channels):
            monkeypatch.setattr(channel.dispatcher, "feed_update", self._feed(number, channel))

    def _feed(self, number: int, channel: TelegramChannel) -> Callable[..., Any]:
        feed = channel.dispatcher.feed_update

        async def fed(bot: Any, update: Update, **kwargs: Any) -> Any:
            if self.fail:
                self.fail = False
                raise RuntimeError("the database went away mid-update")
            self.log.append((number, update.update_id))
            return await feed(bot, update, **kwargs)

        return fed


@pytest.fixture
async def inbox_desk(desk: Desk, unique: str) -> Desk:
    await desk.sync_inboxes([(unique, "telegram")])
    return desk


def update_from(telegram: FakeTelegram, channel: TelegramChannel, text: str) -> Update:
    raw = telegram.text_message(channel.bot.token, ALICE, text)
    numbered = telegram.push_update(channel.bot.token, raw)  # as Telegram numbers it
    return Update.model_validate(numbered, context={"bot": channel.bot})


async def test_an_update_one_process_handled_is_skipped_by_the_other(
    adapters: Callable[..., TelegramChannel],
    inbox_desk: Desk,
    telegram: FakeTelegram,
    connect: Callable[..., redis.Redis],
    monkeypatch: pytest.MonkeyPatch,
):
    one, other = adapters(inbox_desk, connect()), adapters(inbox_desk, connect())
    fed = Fed(monkeypatch, one, other)
    update = update_from(telegram, one, "Where is my order?")
    await one.handle(update)
    await other.handle(update)
    await one.handle(update)
    assert fed.log == [(0, update.update_id)]
    assert len((await queries.tickets(inbox_desk.db, queries.TicketFilter(status=None)))[0]) == 1


async def test_an_update_whose_handling_failed_is_handled_when_it_comes_again(
    adapters: Callable[..., TelegramChannel],
    inbox_desk: Desk,
    telegram: FakeTelegram,
    connect: Callable[..., redis.Redis],
    monkeypatch: pytest.MonkeyPatch,
):
    one, other = adapters(inbox_desk, connect()), adapters(inbox_desk, connect())
    fed = Fed(monkeypatch, one, other)
    update = update_from(telegram, one, "Where is my order?")
    fed.fail = True
    with pytest.raises(RuntimeError):
        await one.handle(update)  # the webhook answers 500: Telegram sends it again
    await other.handle(update)
    await one.handle(update)
    assert fed.log == [(1, update.update_id)]


async def test_without_redis_an_update_is_handled_and_remembered_here(
    adapters: Callable[..., TelegramChannel],
    inbox_desk: Desk,
    telegram: FakeTelegram,
    connect: Callable[..., redis.Redis],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    gone = adapters(inbox_desk, connect(CLOSED_URL))
    fed = Fed(monkeypatch, gone)
    update = update_from(telegram, gone, "Where is my order?")
    with caplog.at_level(logging.WARNING, logger="otklik.seen"):
        await gone.handle(update)
        await gone.handle(update)
    assert fed.log == [(0, update.update_id)]
    assert len((await queries.tickets(inbox_desk.db, queries.TicketFilter(status=None)))[0]) == 1
    assert any("Redis does not answer" in r.getMessage() for r in caplog.records)
