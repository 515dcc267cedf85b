"""Web and worker processes over one PostgreSQL and one Redis, under bursts of Telegram and
VK updates, while workers die (SIGKILL, the leader among them), Redis goes away or the database
does: every message is stored once, every rule action done once, every reply sent once, and
the lead moves on.

Real ``otklik serve`` processes; the fake Telegram API on loopback, enforcing its flood limits.
One bot takes webhooks (the web processes get the updates, some of them twice, at different
processes); another bot is polled (by the leader only: a second poller would steal updates).
Redis and PostgreSQL "go away" behind a TCP proxy the test cuts and mends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core import delays
from core.db import Database
from core.models import DelayedRun, Delivery, Direction, Message, OutboxItem
from tests import processes
from tests.databases import throwaway_url
from tests.fakes.telegram import FakeTelegram, TgUser
from tests.fakes.vk import FakeVk, VkUser
from tests.processes import Process, start
from tests.redis_server import redis_url, unique
from tests.tcp_proxy import TcpProxy
from tests.test_telegram import free_port
from tests.waiting import eventually

__all__ = ["redis_url", "unique"]  # fixtures

HOOKED = "700000001:AAE" + "h" * 32
POLLED = "700000002:AAE" + "p" * 32
SECRET = "webhook-secret-0123456789"
POLLED_CHATS = 30
VK_TOKEN = "vk1." + "s" * 60
VK_GROUP = 218_000_777
VK_SECRET = "CallbackSecret77"
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


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(HOOKED, POLLED, enforce_limits=True) as fake:
        yield fake


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk(VK_TOKEN, VK_GROUP, secret=VK_SECRET) as fake:
        yield fake


def write_config(
    folder: Path, database: str, redis: str, space: str, web_port: int, api: str, vk_api: str
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
        {
            "name": "vk",
            "channel": "vk",
            "token": VK_TOKEN,
            "group_id": VK_GROUP,
            "secret": VK_SECRET,
            "confirmation": "c0nf1rm",
            "api_url": vk_api,
        },
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
        pool=(4, 4),  # the test's PostgreSQL serves other tests too
    )


# One update as a platform posts it: the webhook's path, its headers, its body.
Post = tuple[str, dict[str, str], Any]


class Burst:
    """``updates`` messages from ``chats`` customers, posted to the web processes by several
    clients as the platforms' webhooks, every tenth one a VK Callback API event and the rest
    Telegram updates; the first ``twice`` of them again at the other process. A refused or
    broken post is tried again, as the platforms do."""

    def __init__(
        self,
        telegram: FakeTelegram,
        vk: FakeVk,
        webs: list[Process],
        updates: int,
        chats: int,
        twice: int,
    ) -> None:
        users = [TgUser(800_000 + n, f"Customer {n}") for n in range(chats)]
        self.vk_users = [vk.add_user(VkUser(600_000 + n, f"Vk {n}")) for n in range(chats // 10)]
        self.posts: list[Post] = []
        self.texts: list[str] = []
        for n in range(updates):
            if n % 10 == 9:
                event = dict(vk.message_new(self.vk_users[n // 10 % len(self.vk_users)], f"v{n}"))
                event["secret"] = VK_SECRET
                self.posts.append(("/webhooks/vk/vk", {}, event))
                self.texts.append(f"v{n}")
            else:
                said = telegram.text_message(HOOKED, users[n % chats], f"m{n}")
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                update = {"update_id": n + 1, **said}
                self.posts.append(("/webhooks/telegram/hooked", headers, update))
                self.texts.append(f"m{n}")
        self.chats = len({n % chats for n in range(updates) if n % 10 != 9}) + len(self.vk_users)
        self.webs = webs
        self.twice = twice
        self.posted = 0
        self.refused: list[int] = []  # statuses; 0: the connection broke

    async def post(self, session: aiohttp.ClientSession, web: Process, post: Post) -> None:
        path, headers, body = post
        for _ in range(60):
            try:
                async with session.post(f"{web.url}{path}", json=body, headers=headers) as got:
                    if got.status == 200:
                        self.posted += 1
                        return
                    self.refused.append(got.status)
            except aiohttp.ClientConnectionError:
                self.refused.append(0)
            await asyncio.sleep(0.5)
        raise AssertionError(f"{path} {body} was never taken")

    async def run(self) -> None:
        n = len(self.webs)
        jobs = [(self.webs[i % n], p) for i, p in enumerate(self.posts)]
        jobs += [(self.webs[(i + 1) % n], p) for i, p in enumerate(self.posts[: self.twice])]
        queue: asyncio.Queue[tuple[Process, Post]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def client() -> None:
            async with aiohttp.ClientSession() as session:
                while not queue.empty():
                    await self.post(session, *queue.get_nowait())

        await asyncio.gather(*(client() for _ in range(12)))


class Fleet:
    """The processes of one test, its polled updates, and what the database says at the end."""

    def __init__(
        self,
        folder: Path,
        config: Path,
        telegram: FakeTelegram,
        vk: FakeVk,
        database: str,
        web_port: int,
    ) -> None:
        """``web_port``: the first web process's, which the config names as the public URL."""
        self.folder = folder
        self.web_port = web_port
        self.config = config
        self.telegram = telegram
        self.vk = vk
        self.db = Database(database)
        self.processes: list[Process] = []
        self.polled = 0

    async def start(self, role: str, port: int | None = None) -> Process:
        process = await start(role, port or free_port(), self.config, self.folder)
        self.processes.append(process)
        return process

    def poll_later(self, updates: int) -> None:
        """Updates of the polled bot, waiting at the fake for the leader to fetch them."""
        users = [TgUser(900_000 + n, f"Polled {n}") for n in range(POLLED_CHATS)]
        for n in range(updates):
            said = self.telegram.text_message(POLLED, users[n % POLLED_CHATS], f"p{n}")
            self.telegram.push_update(POLLED, said)
        self.polled = updates

    async def leader(self) -> Process:
        async def find() -> Process | None:
            for worker in self.processes:
                if worker.role == "worker" and worker.popen.poll() is None and await worker.leads():
                    return worker
            return None

        return await eventually(find, seconds=30)

    async def finished(self, burst: Burst, seconds: float = 600) -> dict[str, Any]:
        """Wait until every message was noted, every ticket's delayed note written, nothing
        is left to send or to run; what the database holds then."""
        expected = {f"seen {text}" for text in burst.texts}
        expected |= {f"seen p{n}" for n in range(self.polled)}
        tickets = burst.chats + min(self.polled, POLLED_CHATS)

        async def done() -> dict[str, Any] | None:
            found = await self.counts()
            seen = {t for t in found["notes"] if t.startswith("seen ")}
            later = [t for t in found["notes"] if t.startswith("later ")]
            runs = found["runs"]
            finished = (
                seen == expected
                and len(later) == tickets
                and found["unsent"] == 0
                and not runs[delays.PENDING] + runs[delays.CLAIMED]
            )
            return found if finished else None

        return await eventually(done, seconds=seconds)

    async def counts(self) -> dict[str, Any]:
        async with self.db.reading() as s:
            notes = Counter(
                (await s.scalars(select(Message.text).where(Message.internal.is_(True)))).all()
            )
            inbound = await s.scalar(
                select(func.count()).select_from(Message).where(Message.direction == Direction.IN)
            )
            unsent = await s.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status != Delivery.SENT)
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

    def check_once(self, burst: Burst, found: dict[str, Any]) -> None:
        """Stored once, done once, sent once (but where a killed worker sent and died)."""
        assert not found["runs"][delays.FAILED]
        assert found["inbound"] == len(burst.texts) + self.polled  # the doubles stored once
        doubled = {text: n for text, n in found["notes"].items() if n != 1}
        assert doubled == {}
        replies = Counter(
            m["text"]
            for token in (HOOKED, POLLED)
            for m in self.telegram.sent_messages(token=token)
        )
        replies.update(m.text for u in burst.vk_users for m in self.vk.sent_to(u.id))
        tickets = burst.chats + min(self.polled, POLLED_CHATS)
        assert len(replies) == tickets and all(t.startswith("registered #") for t in replies)
        # A reply goes out twice only where a killed worker had sent it and died before it
        # could record that (its outbox row was then tried again).
        twice = {text for text, n in replies.items() if n > 1}
        assert twice <= found["retried"], twice - found["retried"]

    async def close(self, failed: bool) -> None:
        for process in self.processes:
            if failed:
                print(f"--- {process.role} on {process.port} ---\n{process.tail()}")
            process.stop()
        await self.db.close()


@contextlib.asynccontextmanager
async def running_fleet(
    folder: Path,
    database: str,
    telegram: FakeTelegram,
    vk: FakeVk,
    *,
    redis: str,
    space: str,
    reach: str | None = None,
) -> AsyncIterator[Fleet]:
    """A Fleet whose processes reach the database at ``reach`` (default: ``database``, which
    the test reads itself); on failure, the processes' logs are printed."""
    web_port = free_port()
    apis = (telegram.base_url, vk.base_url)
    config = write_config(folder, reach or database, redis, space, web_port, *apis)
    fleet = Fleet(folder, config, telegram, vk, database, web_port)
    failed = True
    try:
        yield fleet
        failed = False
    finally:
        await fleet.close(failed)


@pytest.fixture
async def fleet(
    tmp_path: Path,
    database: str,
    redis_url: str,
    unique: str,
    telegram: FakeTelegram,
    vk: FakeVk,
) -> AsyncIterator[Fleet]:
    """Processes over the test's database and Redis."""
    async with running_fleet(
        tmp_path, database, telegram, vk, redis=redis_url, space=unique
    ) as fleet:
        yield fleet


async def test_a_burst_through_two_web_and_two_workers_killed_midway(fleet: Fleet):
    webs = [await fleet.start("web", fleet.web_port), await fleet.start("web")]
    workers = [await fleet.start("worker"), await fleet.start("worker")]
    fleet.poll_later(300)
    burst = Burst(fleet.telegram, fleet.vk, webs, updates=5_000, chats=250, twice=300)
    posting = asyncio.create_task(burst.run())
    await eventually(lambda: burst.posted >= 1_500, seconds=120)
    first = await fleet.leader()
    first.kill()  # the leader, mid-burst, with runs and sends claimed
    successor = await fleet.leader()
    assert successor is not first and successor in workers
    await fleet.start("worker")  # a replacement, as a process manager would start
    await eventually(lambda: burst.posted >= 3_500, seconds=120)
    successor.kill()  # and the next leader too
    await fleet.leader()
    await asyncio.wait_for(posting, 300)
    found = await fleet.finished(burst)
    fleet.check_once(burst, found)
    assert all(status == 0 or status >= 500 for status in burst.refused)
    assert fleet.telegram.too_many_requests == 0  # the workers kept the bots' limits together


@pytest.mark.parametrize("server", ["redis", "database"])
async def test_a_server_away_for_seconds_during_a_burst(
    tmp_path: Path,
    database: str,
    redis_url: str,
    unique: str,
    telegram: FakeTelegram,
    vk: FakeVk,
    server: str,
):
    """Redis away: webhooks keep storing and answering 200, processing resumes. The database
    away: webhooks answer 5xx (the platform tries again) and nothing is acknowledged that was
    not stored."""
    target = (make_url(redis_url).port or 6379) if server == "redis" else 5432
    proxy = TcpProxy(target)
    await proxy.mend()
    redis, db_url = redis_url, database
    if server == "redis":
        redis = f"redis://127.0.0.1:{proxy.port}/0"
    else:
        db_url = make_url(database).set(port=proxy.port).render_as_string(hide_password=False)
    try:
        async with running_fleet(
            tmp_path, database, telegram, vk, redis=redis, space=unique, reach=db_url
        ) as fleet:
            webs = [await fleet.start("web", fleet.web_port), await fleet.start("web")]
            await fleet.start("worker")
            await fleet.start("worker")
            fleet.poll_later(100)
            burst = Burst(telegram, vk, webs, updates=1_500, chats=100, twice=100)
            posting = asyncio.create_task(burst.run())
            await eventually(lambda: burst.posted >= 400, seconds=120)
            await proxy.cut()
            at_cut = burst.posted
            await asyncio.sleep(5)
            during = burst.posted - at_cut
            refused_during = list(burst.refused)
            await proxy.mend()
            await asyncio.wait_for(posting, 300)
            found = await fleet.finished(burst)
    finally:
        if proxy.up:
            await proxy.cut()
    fleet.check_once(burst, found)
    if server == "redis":
        assert burst.refused == [] and during > 0  # taken and stored all along
    else:
        assert refused_during and all(s == 0 or s >= 500 for s in burst.refused)
