"""Telegram's flood limits kept by the sender: the emulator enforces them and refuses nothing."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bots.telegram.delivery import MAX_TEXT
from bots.telegram.limits import TelegramLimits
from core.db import Database
from core.messages import Inbound, split_text
from core.models import Delivery, OutboxItem
from core.ratelimit import RateLimiter
from tests.fakes.telegram import FakeTelegram
from tests.service import Running, running, service_config
from tests.test_ratelimit import VirtualTime
from tests.test_telegram import TOKEN
from tests.waiting import eventually

BUSY = 7001
CUSTOMERS = range(7100, 7140)
LONG = "word " * 1000  # 5000 characters: two Telegram messages


class Arrivals:
    """The emulator's clock, noting when each message it was asked to admit arrived."""

    def __init__(self) -> None:
        self.telegram: FakeTelegram | None = None
        self.by_chat: dict[int, list[float]] = defaultdict(list)

    def __call__(self) -> float:
        now = time.monotonic()
        assert self.telegram is not None
        call = self.telegram.calls[-1]  # read while admitting the call it just recorded
        if call.method == "sendMessage":
            self.by_chat[call.params["chat_id"]].append(now)
        return now


@pytest.fixture
def arrivals() -> Arrivals:
    return Arrivals()


@pytest.fixture
async def telegram(arrivals: Arrivals) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, enforce_limits=True, clock=arrivals) as fake:
        arrivals.telegram = fake
        yield fake


@pytest.fixture
async def bot(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram
) -> AsyncIterator[Running]:
    inbox = {"name": "tg", "channel": "telegram", "token": TOKEN, "api_server": telegram.base_url}
    async with running(service_config(database_url, tmp_path, inbox=[inbox])) as svc:
        yield svc


async def test_many_customers_and_one_busy_chat_get_everything_without_a_429(
    bot: Running, telegram: FakeTelegram, arrivals: Arrivals
):
    replies = {BUSY: ["One moment", "Found it", LONG]} | {
        chat: [f"Your order {chat} ships today"] for chat in CUSTOMERS
    }
    desk = bot.state.desk
    for chat, texts in replies.items():
        got = await desk.receive(Inbound(inbox="tg", external_id=str(chat), text="Order?"))
        for text in texts:
            await desk.reply(got.ticket_number, None, text)

    expected = 40 + 4  # the long reply is two messages
    await eventually(lambda: len(telegram.sent_messages()) == expected, seconds=15)
    assert telegram.too_many_requests == 0
    for chat, texts in replies.items():
        sent = [m["text"] for m in telegram.sent_messages(chat)]
        assert sent == [chunk for text in texts for chunk in split_text(text, MAX_TEXT)]
    busy = arrivals.by_chat[BUSY]
    assert len(busy) == 4
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(busy))
    await eventually(lambda: _all_sent(bot.state.db))


async def _all_sent(db: Database) -> bool:
    async with db.reading() as session:
        items = (await session.scalars(select(OutboxItem))).all()
    return all(item.status == Delivery.SENT and item.attempts == 1 for item in items)


@pytest.mark.parametrize(
    ("chats", "expected"),
    [
        pytest.param([5] * 3, [0, 1, 2], id="private-chat-once-a-second"),
        pytest.param(list(range(1, 32)), [0] * 30 + [1], id="thirty-a-second-per-bot"),
        pytest.param([-100] * 21, [0] * 20 + [60], id="group-twenty-a-minute"),
        pytest.param([-1001234567890] * 20 + [5], [0] * 21, id="groups-and-chats-apart"),
    ],
)
async def test_telegram_rules(chats: list[int], expected: list[float]):
    vt = VirtualTime()
    limits = TelegramLimits(RateLimiter(clock=vt.clock, sleep=vt.sleep))

    async def send(chat_id: int) -> float:
        async with limits.sending(chat_id):
            return vt.now

    assert await vt.run(*(send(chat) for chat in chats)) == pytest.approx(expected)
