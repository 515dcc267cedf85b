"""Two processes sending for one Telegram bot: its flood limits kept together through Redis.

Run from the repository root: ``python bench/telegram_shared.py [--chats K]``.

A Telegram Bot API emulator (``tests/fakes/telegram/``, enforcing Telegram's limits: 30
messages a second per bot, one a second per private chat) runs in this process on 127.0.0.1.
Two other processes each build a ``TelegramChannel`` of the same bot, as two Otklik workers
would, and send at once: the first process a first reply to each of K chats, the second a
second reply to each, so both the bot's limit and every chat's are shared. It prints messages/s
from the agreed start to the last answer, against 30/s (target: 95%; the first 30 may go at
once, so a perfect pair shows a little over 30/s), and the 429 answers (target: none):

- with Redis (``[redis] url`` set): the limits shared through Redis (core/ratelimit_redis.py);
- without Redis, for comparison: each process keeps the limits on its own.

It fails (exit status 1) when a reply was lost or doubled with Redis, or Redis is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as redis

from bench.common import meets, positive, redis_unreachable
from bots.telegram.channel import TelegramChannel
from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.messages import Outbound
from settings.config import TelegramInbox
from tests.fakes.telegram import FakeTelegram

REDIS_URL = os.environ.get("OTKLIK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
INBOX = "tg"
FIRST_CHAT = 20_000_000
TELEGRAM_PER_SECOND = 30
TARGET_SHARE = 0.95
START_SECONDS = 1.0  # after both processes are up (warm), they start together this much later


@dataclass(frozen=True)
class Job:
    api_server: str
    token: str
    redis_url: str | None
    reply: int  # this process sends reply number ``reply`` to every chat
    chats: int
    start_at: float  # time.time()
    tmp: str


@dataclass(frozen=True)
class Done:
    finished: float  # time.time() when the last of this process's messages was answered
    late: float  # seconds the process started after ``start_at`` (0 when on time)
    failures: list[str]


def send(job: Job) -> Done:
    """One process: a TelegramChannel of the bot sending its replies all at once."""
    return asyncio.run(_send(job))


async def _send(job: Job) -> Done:
    client = redis.from_url(job.redis_url) if job.redis_url else None
    db = Database(f"sqlite+aiosqlite:///{Path(job.tmp) / f'unused-{job.reply}.db'}")  # unopened
    inbox = TelegramInbox.model_validate(
        {"name": INBOX, "channel": "telegram", "token": job.token, "api_server": job.api_server}
    )
    channel = TelegramChannel(inbox, Desk(db, LocalBus()), "en", "http://127.0.0.1:1", redis=client)
    outs = [
        Outbound(n, n, INBOX, str(FIRST_CHAT + n), reply_text(job.reply), n)
        for n in range(job.chats)
    ]
    random.Random(job.reply).shuffle(outs)
    late = max(0.0, time.time() - job.start_at)
    await asyncio.sleep(job.start_at - time.time())
    results = await asyncio.gather(*(channel.send(out) for out in outs), return_exceptions=True)
    finished = time.time()
    await channel.bot.session.close()
    await db.close()
    if client is not None:
        await client.aclose()
    return Done(finished, late, [repr(r) for r in results if isinstance(r, BaseException)])


def warm(seconds: float) -> None:
    """Keep one pool process busy a moment: both start and import everything first."""
    time.sleep(seconds)


def reply_text(n: int) -> str:
    return f"Reply {n}"


@dataclass
class Measured:
    delivered: int
    seconds: float
    too_many_requests: int
    failures: list[str]
    problems: list[str]


async def measure(redis_url: str | None, chats: int, pool: ProcessPoolExecutor) -> Measured:
    token = f"{random.randrange(10**9, 10**10)}:AAE{'b' * 32}"  # a bot of its own in Redis
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(pool, warm, 0.5) for _ in range(2)))
    async with FakeTelegram(token, enforce_limits=True) as telegram:
        with tempfile.TemporaryDirectory(prefix="otklik-bench-") as tmp:
            start_at = time.time() + START_SECONDS
            jobs = [
                Job(telegram.base_url, token, redis_url, reply, chats, start_at, tmp)
                for reply in (1, 2)
            ]
            done = await asyncio.gather(*(loop.run_in_executor(pool, send, job) for job in jobs))
        seconds = max(d.finished for d in done) - start_at
        sent = len(telegram.sent_messages())
        problems = [f"a process started {d.late:.1f} s late" for d in done if d.late]
        for n in range(chats):
            texts = sorted(m["text"] for m in telegram.sent_messages(FIRST_CHAT + n))
            if texts != [reply_text(1), reply_text(2)]:
                problems.append(f"{chats - n} or fewer chats did not get both replies once")
                break
        return Measured(
            sent,
            seconds,
            telegram.too_many_requests,
            [f for d in done for f in d.failures],
            problems,
        )


def report(title: str, chats: int, m: Measured, *, judged: bool) -> None:
    """The figures; ``judged`` ones against the targets, the comparison as they are."""
    rate = m.delivered / m.seconds
    share = rate / TELEGRAM_PER_SECOND
    print(title)
    print(
        f"  {rate:.1f} msg/s ({m.delivered} of {2 * chats} replies delivered in "
        f"{m.seconds:.1f} s): {share:.0%} of Telegram's {TELEGRAM_PER_SECOND}/s per bot"
        + (f", {meets(share >= TARGET_SHARE)} ≥ {TARGET_SHARE:.0%}" if judged else "")
    )
    refused = m.too_many_requests
    print(f"  429 answers: {refused}" + (f", {meets(not refused)} 0" if judged else ""))
    if m.failures:
        print(f"  {len(m.failures)} sends failed, first: {m.failures[0][:160]}")
    for problem in m.problems:
        print(f"  {'FAILED ' if judged else ''}{problem}")
    print()


async def main(chats: int, pool: ProcessPoolExecutor) -> int:
    if problem := await redis_unreachable(REDIS_URL):
        print(problem)
        return 1
    print(
        f"One Telegram bot, two sending processes, on {os.cpu_count()} CPUs: Bot API emulator "
        f"in this process, Redis at {REDIS_URL}; all on 127.0.0.1.\n"
    )
    shared = await measure(REDIS_URL, chats, pool)
    report("(a) with Redis: the limits shared by both processes", chats, shared, judged=True)
    alone = await measure(None, chats, pool)
    report("(b) without Redis: each process keeps the limits alone", chats, alone, judged=False)
    return 1 if shared.problems or shared.failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chats", type=positive, default=300, help="default: 300")
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        code = asyncio.run(main(args.chats, pool))
    sys.exit(code)
