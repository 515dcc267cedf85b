"""Two web and two worker processes over one PostgreSQL and one Redis, under a burst of 5,000
Telegram updates, while workers (the leader among them) are killed with SIGKILL: every message
is stored once, every rule action done once, every reply sent once, and the lead moves on.

Real ``otklik serve`` processes; the fake Telegram API on loopback, enforcing its flood limits.
One bot takes webhooks (the web processes get the updates, some of them twice, at different
processes); another bot is polled (by the leader only: a second poller would steal updates).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from core import delays
from core.db import Database
from core.models import DelayedRun, Delivery, Direction, Message, OutboxItem
from tests import processes
from tests.databases import throwaway_url
from tests.fakes.telegram import FakeTelegram, TgUser
from tests.processes import Process, start
from tests.redis_server import redis_url, unique
from tests.test_telegram import free_port
from tests.waiting import eventually

HOOKED = "700000001:AAE" + "h" * 32
POLLED = "700000002:AAE" + "p" * 32
SECRET = "webhook-secret-0123456789"
UPDATES = 5_000
CHATS = 250
TWICE = 300  # updates delivered again, to the other web process
POLLED_UPDATES = 300
RULES = """
[[rule]]
id = "seen"
on = "message.received"
then = [{ action = "note", text = "seen {{ message.text }}" }]

[[rule]]
id = "acknowledge"
on = "ticket.created"
then = [{ action = "reply", text = "registered #{{ ticket.number }}" }]

[[rule]]
id = "later"
on = "ticket.created"
delay = "3s"
then = [{ action = "note", text = "later #{{ ticket.number }}" }]
"""


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[str]:
    async with throwaway_url("postgresql", tmp_path) as url:
        yield url


__all__ = ["redis_url", "unique"]  # fixtures


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(HOOKED, POLLED, enforce_limits=True) as fake:
        yield fake


def write_config(
    folder: Path, database: str, redis: str, space: str, web_port: int, api: str
) -> Path:
    inboxes = [
        {
            "name": "hooked",
            "channel": "telegram",
            "token": HOOKED,
            "mode": "webhook",
            "webhook_secret": SECRET,
            "api_server": api,
        },
        {"name": "polled", "channel": "telegram", "token": POLLED, "api_server": api},
    ]
    return processes.write_config(
        folder,
        database=database,
        redis=redis,
        prefix=space,
        public_url=f"http://127.0.0.1:{web_port}",
        rules=RULES,
        inboxes=inboxes,
        settings=(
            "[sender]\nlease_seconds = 5\nfirst_retry_seconds = 0.5",
            "[worker]\nlease_seconds = 5",
        ),
    )


class Burst:
    """The updates of the webhook bot, posted to the web processes by several clients."""

    def __init__(self, telegram: FakeTelegram, webs: list[Process]) -> None:
        users = [TgUser(800_000 + n, f"Customer {n}") for n in range(CHATS)]
        self.updates = [
            {"update_id": 1 + n, **telegram.text_message(HOOKED, users[n % CHATS], f"m{n}")}
            for n in range(UPDATES)
        ]
        self.webs = webs
        self.posted = 0
        self.refused: list[int] = []

    async def post(self, session: aiohttp.ClientSession, web: Process, update: Any) -> None:
        url = f"{web.url}/webhooks/telegram/hooked"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for _ in range(20):  # as Telegram does: again after an error
            try:
                async with session.post(url, json=update, headers=headers) as answer:
                    if answer.status == 200:
                        self.posted += 1
                        return
                    self.refused.append(answer.status)
            except aiohttp.ClientConnectionError:
                self.refused.append(0)  # the connection broke: no answer
            await asyncio.sleep(0.5)
        raise AssertionError(f"update {update['update_id']} was never taken")

    async def run(self) -> None:
        jobs = [(self.webs[n % 2], u) for n, u in enumerate(self.updates)]
        jobs += [(self.webs[(n + 1) % 2], u) for n, u in enumerate(self.updates[:TWICE])]
        queue: asyncio.Queue[tuple[Process, Any]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def client() -> None:
            async with aiohttp.ClientSession() as session:
                while not queue.empty():
                    await self.post(session, *queue.get_nowait())

        await asyncio.gather(*(client() for _ in range(12)))


async def leader_among(workers: list[Process]) -> Process:
    async def find() -> Process | None:
        for worker in workers:
            if worker.popen.poll() is None and await worker.leads():
                return worker
        return None

    return await eventually(find, seconds=30)


async def counts(db: Database) -> dict[str, Any]:
    async with db.reading() as s:
        notes = Counter(
            (await s.scalars(select(Message.text).where(Message.internal.is_(True)))).all()
        )
        inbound = await s.scalar(
            select(func.count()).select_from(Message).where(Message.direction == Direction.IN)
        )
        unsent = await s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.status != Delivery.SENT)
        )
        runs = Counter((await s.scalars(select(DelayedRun.state))).all())
        retried = set(
            (
                await s.scalars(
                    select(Message.text)
                    .join(OutboxItem, OutboxItem.message_id == Message.id)
                    .where(OutboxItem.attempts > 1)
                )
            ).all()
        )
    return {
        "notes": notes,
        "inbound": inbound,
        "unsent": unsent,
        "runs": runs,
        "retried": retried,
    }


async def test_a_burst_through_two_web_and_two_workers_killed_midway(
    tmp_path: Path, database: str, redis_url: str, unique: str, telegram: FakeTelegram
):
    web_ports = [free_port(), free_port()]
    config = write_config(tmp_path, database, redis_url, unique, web_ports[0], telegram.base_url)
    processes: list[Process] = []
    db = Database(database)
    try:
        webs = [await start("web", port, config, tmp_path) for port in web_ports]
        processes += webs
        workers = [await start("worker", free_port(), config, tmp_path) for _ in range(2)]
        processes += workers
        polled_users = [TgUser(900_000 + n, f"Polled {n}") for n in range(30)]
        for n in range(POLLED_UPDATES):
            telegram.push_update(
                POLLED, telegram.text_message(POLLED, polled_users[n % 30], f"p{n}")
            )

        burst = Burst(telegram, webs)
        posting = asyncio.create_task(burst.run())
        await eventually(lambda: burst.posted >= UPDATES * 0.3, seconds=120)
        first = await leader_among(workers)
        first.kill()  # the leader, mid-burst, with runs and sends claimed
        successor = await leader_among(workers)
        assert successor is not first
        workers.append(await start("worker", free_port(), config, tmp_path))
        processes.append(workers[-1])
        await eventually(lambda: burst.posted >= UPDATES * 0.7, seconds=120)
        successor.kill()  # and the next leader too
        await leader_among(workers)
        await asyncio.wait_for(posting, 300)

        expected_notes = {f"seen m{n}" for n in range(UPDATES)} | {
            f"seen p{n}" for n in range(POLLED_UPDATES)
        }

        async def finished() -> dict[str, Any] | None:
            found = await counts(db)
            seen = {t for t in found["notes"] if t.startswith("seen ")}
            later = [t for t in found["notes"] if t.startswith("later ")]
            done = (
                seen == expected_notes
                and len(later) == CHATS + 30
                and found["unsent"] == 0
                and not found["runs"][delays.PENDING] + found["runs"][delays.CLAIMED]
            )
            return found if done else None

        found = await eventually(finished, seconds=600)
    except BaseException:
        for process in processes:
            print(f"--- {process.role} on {process.port} ---\n{process.tail()}")
        raise
    finally:
        for process in processes:
            process.stop()
        await db.close()

    assert not found["runs"][delays.FAILED]
    assert found["inbound"] == UPDATES + POLLED_UPDATES  # the updates sent twice stored once
    doubled = {text: n for text, n in found["notes"].items() if n != 1}
    assert doubled == {}  # every rule action done once
    replies = Counter(
        m["text"]
        for m in telegram.sent_messages(token=HOOKED) + telegram.sent_messages(token=POLLED)
    )
    assert len(replies) == CHATS + 30 and all(t.startswith("registered #") for t in replies)
    # A reply went out twice only where a killed worker had sent it and died before it could
    # record that (its outbox row was then tried again).
    twice = {text for text, n in replies.items() if n > 1}
    assert twice <= found["retried"], twice - found["retried"]
    assert all(status == 0 or status >= 500 for status in burst.refused)
    assert telegram.too_many_requests == 0  # the workers kept the bots' limits together
