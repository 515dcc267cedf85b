"""Scale-out: real ``otklik serve`` processes over one PostgreSQL and one Redis, Telegram
webhooks in, rule replies out to the Bot API emulator enforcing Telegram's limits.

Run from the repository root: ``python bench/scale.py [--updates N] [--concurrency C]
[--webs W] [--outbound M]``.

Each run starts its own processes (``tests/processes.py``) on a fresh PostgreSQL database
(created through ``$OTKLIK_TEST_PG`` and dropped afterwards) and a Redis prefix of its own at
``$OTKLIK_BENCH_REDIS`` (its keys deleted afterwards). One rule answers every message:
``on message.received`` → ``reply "got {{ message.text }}"``. The Bot API emulator
(``tests/fakes/telegram``, limits enforced: 30 messages a second per bot, one a second per
private chat) runs in this process and notes when each request arrives; a client in a separate
process posts the updates to the web processes' webhooks, C at a time, alternating between them.

1. **Scale**, with 1 and with 2 worker processes beside the web processes (2 by default):
   N updates (default 2,000) from N/2 private chats, spread over 20 bots (20 Telegram
   inboxes). Every figure is taken after a warm-up of 100 updates (answered before the clock
   starts).

   - inbound updates/s: the updates the webhooks accepted (200) over the client's wall time;
   - end-to-end latency per message: when the emulator received the reply's ``sendMessage``
     minus when the client began to POST the update (both ``time.monotonic()``, one clock for
     all processes), p50/p95/p99/max; a refused POST is posted again and counts from its first
     try;
   - replies/s: replies over the span from the first POST to the last reply.

   The updates are posted as fast as the webhooks take them (a burst): where the workers
   answer fewer a second than the webhooks take, a backlog builds and the latency of the burst
   is mostly time spent in it. So the same processes then take N/2 more updates (new chats)
   posted at a steady pace, half the replies/s the burst reached: the latency of a load the
   workers keep up with.

   What this measures is Otklik, not Telegram's limits. The limits stay enforced (the sender
   keeps them, and a reply held back by them counts in its latency), so the load is shaped to
   stay below them, and the run shows that it did: 20 bots allow 600 replies a second, well
   above what 2 shared CPUs reach, and the busiest bot-second is printed against the 30
   allowed; a chat's two messages are posted half a run apart (all chats' first messages,
   then their second), and the chats whose two replies went out less than 1.1 s apart (where
   the 1/s chat limit may have held one back) are counted.

2. **Outbound**, two worker processes sending for one bot: after the warm-up the workers stop,
   600 updates from 600 chats to one bot are posted, this process fires their rule runs with
   the workers' engine (the 600 replies wait in the outbox), and two workers start together on
   that outbox, sharing the bot's limits through Redis: what is measured is sending, not the
   rules (the scale pass measures those). messages/s
   against 30/s (target ≥ 95 %), taken over the time the replies held the bot's limit: a
   message counts against it for one second, so from the first ``sendMessage`` to one second
   after the last (a pair keeping exactly 30 in every second shows 30/s); the busiest second
   (never more than 30); and the 429 answers (target: none). ``bench/telegram_shared.py``
   measures the same limits with two bare adapters in two processes; here the two are whole
   workers.

It fails (exit status 1) when a reply is lost or doubled, an update is never accepted, or the
emulator answered 429. Everything shares the machine: the web and worker processes, the
client, the emulator, PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.common import Outcome, meets, positive, postgres_database, redis_unreachable
from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from tests.fakes.telegram import ApiCall, FakeTelegram, TgUser
from tests.processes import Process, start, write_config
from tests.redis_server import delete_keys
from tests.test_telegram import free_port

REDIS_URL = os.environ.get("OTKLIK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "bench-webhook-secret-0123456789"
RULES = """
[[rule]]
id = "answer"
on = "message.received"
then = [{ action = "reply", text = "got {{ message.text }}" }]
"""
FIRST_BOT = 7_300_000_001
FIRST = 40_000_000  # the measured updates' first chat and update id
PACED_FIRST = 45_000_000  # the paced pass's
WARMUP_FIRST = 49_000_000  # the warm-up's: no update id is seen twice (that one is dropped)
WARMUP = 100
SCALE_BOTS = 20
MESSAGES_PER_CHAT = 2
TELEGRAM_PER_SECOND = 30
TARGET_SHARE = 0.95
CLOSE_REPLIES = 1.1  # seconds: two replies to one chat this close may have waited on its limit
PACE = 0.5  # the paced pass posts at this share of the replies/s the burst reached
REPLY_WAIT = 180.0  # seconds after the last POST for the last reply


# -- the client (runs in the pool's process) ---------------------------------------------------


@dataclass(frozen=True)
class Posting:
    jobs: list[tuple[str, dict[str, Any]]]  # (webhook URL, update), in the order to post
    concurrency: int
    per_second: float | None = None  # post update k no sooner than k / per_second after start


@dataclass
class Posted:
    sent_at: dict[str, float] = field(default_factory=dict)  # text → monotonic, first try
    seconds: float = 0.0
    refused: list[str] = field(default_factory=list)  # answers other than 200, posted again
    lost: list[str] = field(default_factory=list)  # texts never accepted


def post(posting: Posting) -> Posted:
    """POST every update, ``concurrency`` at a time, paced or as fast as they are taken; runs
    in the client process."""
    return asyncio.run(_post(posting))


async def _post(posting: Posting) -> Posted:
    posted = Posted()
    jobs = iter(enumerate(posting.jobs))
    connector = aiohttp.TCPConnector(limit=posting.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.monotonic()
        pace = partial(_pace, started, posting.per_second)
        clients = (_client(http, jobs, pace, posted) for _ in range(posting.concurrency))
        await asyncio.gather(*clients)
        posted.seconds = time.monotonic() - started
    return posted


async def _pace(started: float, per_second: float | None, number: int) -> None:
    if per_second is not None:
        await asyncio.sleep(started + number / per_second - time.monotonic())


async def _client(
    http: aiohttp.ClientSession,
    jobs: Iterator[tuple[int, tuple[str, dict[str, Any]]]],
    pace: Callable[[int], Awaitable[None]],
    posted: Posted,
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for number, (url, update) in jobs:
        await pace(number)
        text = update["message"]["text"]
        posted.sent_at[text] = time.monotonic()
        for _ in range(10):  # as Telegram does: again after an error
            try:
                async with http.post(url, json=update, headers=headers) as answer:
                    await answer.read()
                    if answer.status == 200:
                        break
                    posted.refused.append(str(answer.status))
            except aiohttp.ClientError as exc:
                posted.refused.append(type(exc).__name__)
            await asyncio.sleep(0.5)
        else:
            posted.lost.append(text)


# -- the processes and the emulator (this process) ---------------------------------------------


@dataclass(frozen=True)
class Shape:
    webs: int
    workers: int
    bots: int
    chats: int
    updates: int
    concurrency: int


@dataclass
class Measured:
    shape: Shape
    per_second: float | None  # the pace the updates were posted at; None: a burst
    posted: Posted
    replies: dict[str, float]  # text → when the emulator received its first sendMessage
    doubled: int  # replies delivered more than once
    too_many_requests: int
    busiest_second: int  # the most sendMessage calls one bot got within any 1 s
    close_chats: int  # chats whose replies went out less than CLOSE_REPLIES apart
    load: float  # the machine's 1-minute load average when the run began

    @property
    def outcome(self) -> Outcome:
        """End to end: latencies, and replies over first POST to last reply."""
        sent = self.posted.sent_at
        first = min(sent.values())
        return Outcome(
            seconds=max(self.replies.values()) - first,
            latencies=[at - sent[text] for text, at in self.replies.items()],
        )

    @property
    def inbound_rate(self) -> float:
        return (len(self.posted.sent_at) - len(self.posted.lost)) / self.posted.seconds

    @property
    def missing(self) -> int:
        return len(self.posted.sent_at) - len(self.replies)

    @property
    def send_rate(self) -> float:
        """Replies over the time they held the bot's limit: a message counts against it for a
        second, so n replies held it from the first sendMessage to a second after the last (a
        sender keeping exactly 30 in every second shows 30/s)."""
        ats = self.replies.values()
        return len(self.replies) / (max(ats) - min(ats) + 1.0)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.posted.lost:
            found.append(f"{len(self.posted.lost)} updates never accepted")
        if self.missing:
            found.append(f"{self.missing} replies not received within {REPLY_WAIT:.0f} s")
        if self.doubled:
            found.append(f"{self.doubled} replies delivered more than once")
        if self.too_many_requests:
            found.append(f"{self.too_many_requests} × 429 from the emulator")
        return found


def progress(doing: str) -> None:
    print(f"  … {doing}", file=sys.stderr, flush=True)


def token(bot: int) -> str:
    return f"{FIRST_BOT + bot}:AAE{'s' * 32}"


def updates(
    telegram: FakeTelegram, shape: Shape, webs: list[Process], first: int, count: int, tag: str
) -> list[tuple[str, dict[str, Any]]]:
    """``count`` updates; update n from chat n mod ``chats``, to bot chat mod ``bots``, posted
    to web process n mod ``webs``: all chats' first messages, then their second ones. Chat and
    update ids start from ``first``."""
    jobs = []
    for n in range(count):
        chat = n % shape.chats
        bot = chat % shape.bots
        user = TgUser(first + chat, f"Customer {chat}")
        update = {"update_id": first + n, **telegram.text_message(token(bot), user, f"{tag}{n}")}
        jobs.append((f"{webs[n % len(webs)].url}/webhooks/telegram/bot{bot}", update))
    return jobs


async def replies_to(telegram: FakeTelegram, texts: set[str]) -> dict[str, float]:
    """When the emulator first received the reply to each of ``texts`` (as many as came
    within REPLY_WAIT)."""
    got: dict[str, float] = {}
    seen = 0
    deadline = time.monotonic() + REPLY_WAIT
    while len(got) < len(texts) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        calls, seen = telegram.calls[seen:], len(telegram.calls)
        for call in calls:
            text = _reply_text(call)
            if text in texts and text not in got:
                got[text] = call.at
    return got


def _reply_text(call: ApiCall) -> str | None:
    if call.method != "sendMessage":
        return None
    said = str(call.params.get("text", ""))
    return said.removeprefix("got ") if said.startswith("got ") else None


def busiest_second(sends: list[ApiCall]) -> int:
    """The most sendMessage calls one bot received within any one second."""
    by_bot: dict[str, list[float]] = defaultdict(list)
    for call in sends:
        by_bot[call.token].append(call.at)
    most = 0
    for ats in by_bot.values():
        ats.sort()
        start = 0
        for end, at in enumerate(ats):
            while at - ats[start] >= 1.0:
                start += 1
            most = max(most, end - start + 1)
    return most


def close_chats(sends: list[ApiCall]) -> int:
    by_chat: dict[Any, list[float]] = defaultdict(list)
    for call in sends:
        by_chat[call.params["chat_id"]].append(call.at)
    return sum(
        1
        for ats in by_chat.values()
        if any(b - a < CLOSE_REPLIES for a, b in zip(sorted(ats), sorted(ats)[1:], strict=False))
    )


async def measure(
    shape: Shape, client: Executor, tmp: Path, *, outbound: bool = False
) -> list[Measured]:
    """One set of processes on a fresh database, Redis prefix and emulator: a warm-up, then
    the burst and the paced pass, or for ``outbound`` the burst posted while the workers are
    stopped, its rule runs fired here, and the workers started again together."""
    prefix = f"bench{secrets.token_hex(4)}"
    tokens = [token(b) for b in range(shape.bots)]
    loop = asyncio.get_running_loop()
    processes: list[Process] = []
    async with (
        postgres_database(tmp) as url,
        FakeTelegram(*tokens, enforce_limits=True) as telegram,
    ):
        if url is None:
            raise SystemExit(1)

        async def start_workers() -> None:
            ports = [free_port() for _ in range(shape.workers)]
            started = await asyncio.gather(
                *(start("worker", port, config, tmp) for port in ports), return_exceptions=True
            )
            processes.extend(p for p in started if isinstance(p, Process))
            for failed in (p for p in started if isinstance(p, BaseException)):
                raise failed

        async def load(
            first: int, count: int, tag: str, per_second: float | None, *, backlog: bool = False
        ) -> Measured:
            jobs = updates(telegram, shape, processes[: shape.webs], first, count, tag)
            calls, refused = len(telegram.calls), telegram.too_many_requests
            pace = f" at {per_second:.0f}/s" if per_second else ""
            progress(f"posting {count} updates{pace}, {shape.workers} worker(s)")
            started_load = os.getloadavg()[0]
            posting = Posting(jobs, shape.concurrency, per_second)
            if backlog:  # the workers stop, and start again once the outbox is full
                for worker in processes[shape.webs :]:
                    worker.stop()
            posted = await loop.run_in_executor(client, post, posting)
            if backlog:
                progress(f"firing {await fire_rules(url, tmp / 'rules')} rule runs")
                await start_workers()
            replies = await replies_to(telegram, set(posted.sent_at))
            sends = [c for c in telegram.calls[calls:] if _reply_text(c) in replies]
            delivered = Counter(m["text"] for m in telegram.sent_messages())
            return Measured(
                shape,
                per_second,
                posted,
                replies,
                doubled=sum(1 for t, n in delivered.items() if n > 1 and t in replies),
                too_many_requests=telegram.too_many_requests - refused,
                busiest_second=busiest_second(sends),
                close_chats=close_chats(sends),
                load=started_load,
            )

        try:
            web_ports = [free_port() for _ in range(shape.webs)]
            inboxes = [
                {
                    "name": f"bot{b}",
                    "channel": "telegram",
                    "token": tokens[b],
                    "mode": "webhook",
                    "webhook_secret": SECRET,
                    "api_server": telegram.base_url,
                }
                for b in range(shape.bots)
            ]
            config = write_config(
                tmp,
                database=url,
                redis=REDIS_URL,
                prefix=prefix,
                public_url=f"http://127.0.0.1:{web_ports[0]}",
                rules=RULES,
                inboxes=inboxes,
            )
            progress(f"starting {shape.webs} web and {shape.workers} worker processes")
            for port in web_ports:  # one by one: on 2 busy CPUs, many at once time out
                processes.append(await start("web", port, config, tmp))
            await start_workers()
            warm = await load(WARMUP_FIRST, WARMUP, "w", None)
            if warm.missing:
                raise RuntimeError(f"the warm-up lacks {warm.missing} of {WARMUP} replies")
            if outbound:
                return [await load(FIRST, shape.updates, "m", None, backlog=True)]
            burst = await load(FIRST, shape.updates, "m", None)
            rate = PACE * burst.outcome.rate
            return [burst, await load(PACED_FIRST, shape.updates // 2, "p", rate)]
        except BaseException:
            for process in processes:
                print(f"--- {process.role} on {process.port} ---\n{process.tail()}")
            raise
        finally:
            for process in processes:
                process.stop()
            await delete_keys(REDIS_URL, prefix)


async def fire_rules(url: str, rules_dir: Path) -> int:
    """Fire every rule run that is due, as a worker's engine does, without sending: the
    replies wait in the outbox. How many fired."""
    db = Database(url)
    try:
        rules = LiveRules(rules_dir)
        if not rules.reload():
            raise RuntimeError(f"bench rules rejected: {rules.problems}")
        return await Engine(Desk(db, LocalBus()), rules, Performer("en")).fire_due()
    finally:
        await db.close()


# -- report --------------------------------------------------------------------------------------


def report_scale(runs: list[Measured]) -> None:
    shape = runs[0].shape
    print(
        f"(1) Scale: {shape.updates} updates from {shape.chats} chats to {shape.bots} bots, "
        f"{shape.concurrency} at a time, to {shape.webs} web processes; then half as many at "
        f"{PACE:.0%} of the replies/s the burst reached"
    )
    print(
        f"  {'workers':<8}{'posted':<12}{'in upd/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'replies/s':>10}{'busiest':>8}{'close':>6}{'429':>5}{'load':>6}"
    )
    for m in runs:
        o = m.outcome
        posted = "burst" if m.per_second is None else f"at {m.per_second:.0f}/s"
        print(
            f"  {m.shape.workers:<8}{posted:<12}{m.inbound_rate:>9.1f}{o.percentile_ms(50):>8.0f}"
            f"{o.percentile_ms(95):>8.0f}{o.percentile_ms(99):>8.0f}{o.percentile_ms(100):>8.0f}"
            f"{o.rate:>10.1f}{m.busiest_second:>8}{m.close_chats:>6}{m.too_many_requests:>5}"
            f"{m.load:>6.1f}"
        )
        for problem in m.problems:
            print(f"    FAILED {problem}")
        if m.posted.refused:
            print(f"    {len(m.posted.refused)} POSTs refused and posted again")
    print(
        "  in upd/s: updates the webhooks took per second; p50…max: webhook POST → reply at the "
        "API;\n  replies/s: over first POST → last reply; busiest: most replies one bot got in "
        f"any 1 s (limit {TELEGRAM_PER_SECOND});\n  close: chats whose two replies went out "
        f"< {CLOSE_REPLIES} s apart; load: 1-minute load average at the start"
    )
    print()


def report_outbound(m: Measured) -> None:
    share = m.send_rate / TELEGRAM_PER_SECOND
    print(
        f"(2) Outbound: {m.shape.workers} worker processes sending {m.shape.updates} replies "
        "for one bot, its limits shared through Redis"
    )
    print(
        f"  {m.send_rate:.1f} msg/s ({len(m.replies)} replies): {share:.0%} of Telegram's "
        f"{TELEGRAM_PER_SECOND}/s per bot, {meets(share >= TARGET_SHARE)} ≥ {TARGET_SHARE:.0%}"
    )
    print(
        f"  busiest second {m.busiest_second} messages; 429 answers: {m.too_many_requests}, "
        f"{meets(not m.too_many_requests)} 0; inbound {m.inbound_rate:.1f} upd/s"
    )
    for problem in m.problems:
        print(f"  FAILED {problem}")
    print()


async def main(args: argparse.Namespace, client: Executor) -> int:
    if problem := await redis_unreachable(REDIS_URL):
        print(problem)
        return 1
    print(
        f"Scale-out benchmark on {os.cpu_count()} CPUs: otklik serve processes, PostgreSQL, "
        f"Redis at {REDIS_URL}, the Bot API emulator (this process) and the client (another) "
        "all on 127.0.0.1.\n"
    )
    chats = max(1, args.updates // MESSAGES_PER_CHAT)
    runs: list[Measured] = []
    for workers in (1, 2):
        shape = Shape(args.webs, workers, SCALE_BOTS, chats, args.updates, args.concurrency)
        with tempfile.TemporaryDirectory(prefix="otklik-bench-") as tmp:
            runs += await measure(shape, client, Path(tmp))
    report_scale(runs)
    shape = Shape(args.webs, 2, 1, args.outbound, args.outbound, args.concurrency)
    with tempfile.TemporaryDirectory(prefix="otklik-bench-") as tmp:
        [outbound] = await measure(shape, client, Path(tmp), outbound=True)
    report_outbound(outbound)
    return 1 if any(m.problems for m in [*runs, outbound]) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--updates", type=positive, default=2000, help="default: 2000")
    parser.add_argument("--concurrency", type=positive, default=16, help="default: 16")
    parser.add_argument("--webs", type=positive, default=2, help="web processes; default: 2")
    parser.add_argument(
        "--outbound", type=positive, default=600, help="replies for one bot; default: 600"
    )
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        code = asyncio.run(main(args, pool))
    sys.exit(code)
