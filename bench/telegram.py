"""Telegram throughput: webhook updates into the core, and replies out within Telegram's limits.

Run from the repository root: ``python bench/telegram.py [--updates N] [--chats K]``.

For each backend (SQLite in a fresh file; PostgreSQL in a fresh database, skipped when
unreachable; the same setup as ``bench/inbound.py``) a Telegram Bot API emulator
(``tests/fakes/telegram/``, enforcing Telegram's flood limits) runs on 127.0.0.1 and:

(a) updates in
    A client in a separate process posts N webhook updates (text messages from N/4 users,
    16 at a time, one user never twice at once, new and existing tickets mixed) with the
    secret token header. The pipeline is the real app from ``otklik.service.build_app`` with a
    webhook Telegram inbox: secret check, aiogram ``Update`` validation, the dispatcher and its
    routers, ``Desk.receive`` in one transaction. The floor is a bare aiohttp route doing what
    any aiogram webhook handler must: check the secret, validate the ``Update`` with aiogram,
    INSERT one row through ``core.db.Database``. Each is warmed up with 200 updates first. It
    prints updates/s, p50 and p99 latency as the client saw it and the CPU of each process
    (100% = one core), and the pipeline/floor ratio against the target of 1/3.
(b) replies out
    K customers get two replies each (2K messages), queued through ``Desk.reply`` in a
    shuffled order (each customer's first before their second), while the app's own sender
    delivers them through ``TelegramChannel`` to the emulator. It prints messages/s from the
    first reply queued to the last message received, against Telegram's 30 per second per
    bot (target: 95%; the first 30 may go at once, so a perfect sender shows a little over
    30/s), and how many 429 "Too Many Requests" answers the emulator gave (target: none).

It fails (exit status 1) only when something was lost, doubled or misordered: updates not
answered 200 or not stored exactly once, replies not received exactly once and in order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from sqlalchemy import func, insert, select

from bench.common import (
    FLOOR_TABLE,
    TARGET,
    Outcome,
    each_backend,
    meets,
    positive,
    serving,
)
from core.clock import utcnow
from core.db import Database
from core.messages import Inbound
from core.models import Delivery, Message, OutboxItem, Ticket
from otklik.service import build_app
from settings.config import parse_config
from tests.fakes.telegram import FakeTelegram
from web.state import STATE

TOKEN = "123456789:AAE" + "b" * 32
SECRET = "bench-webhook-secret-" + "s" * 16
INBOX = "tg"
HOOK = f"/webhooks/telegram/{INBOX}"
WARMUP_UPDATES = 200
UPDATES_PER_USER = 4
CONCURRENCY = 16
REPLIES_PER_CHAT = 2
TELEGRAM_PER_SECOND = 30
TARGET_SHARE = 0.95


# -- (a) the client (runs in the pool's process) -----------------------------------------------


@dataclass(frozen=True)
class Load:
    base_url: str
    updates: int
    first_id: int  # update, message and user ids start here: unique per load in one database

    @property
    def users(self) -> int:
        return users_for(self.updates)


def users_for(updates: int) -> int:
    return max(1, updates // UPDATES_PER_USER)


def drive(load: Load) -> Outcome:
    """Post the load's updates and time them. Runs in the client process."""
    return asyncio.run(_drive(load))


async def _drive(load: Load) -> Outcome:
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(load.base_url, connector=connector) as http:
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(_post(http, load, plan, outcome) for plan in _plans(load)))
        outcome.seconds = time.perf_counter() - started
        outcome.client_cpu = time.process_time() - cpu
    return outcome


def _plans(load: Load) -> list[list[int]]:
    """Per worker, the numbers of its updates, shuffled; each user belongs to one worker."""
    plans: list[list[int]] = [[] for _ in range(CONCURRENCY)]
    for number in range(load.updates):
        plans[(number % load.users) % CONCURRENCY].append(number)
    for plan in plans:
        random.Random(load.first_id).shuffle(plan)
    return plans


async def _post(http: aiohttp.ClientSession, load: Load, plan: list[int], outcome: Outcome) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for number in plan:
        started = time.perf_counter()
        async with http.post(HOOK, json=update(load, number), headers=headers) as response:
            answer = await response.read()
        outcome.latencies.append(time.perf_counter() - started)
        if response.status != 200:
            outcome.failures.append(f"{response.status} {answer[:200]!r}")


def update(load: Load, number: int) -> dict[str, Any]:
    """A customer's text message, as Telegram posts it to a webhook."""
    user = {"id": load.first_id + number % load.users, "is_bot": False, "first_name": "Ivan"}
    return {
        "update_id": load.first_id + number,
        "message": {
            "message_id": load.first_id + number,
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": "Ivan"},
            "from": user,
            "text": f"Hello, order {number} has not arrived yet. Where is it?",
        },
    }


# -- (a) the servers (this process) ------------------------------------------------------------


def floor_app(db: Database, bot: Bot) -> web.Application:
    """What any aiogram webhook handler does: check the secret, validate, one INSERT."""

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            raise web.HTTPUnauthorized()
        update = Update.model_validate(await request.json(), context={"bot": bot})
        assert update.message is not None and update.message.text is not None
        async with db.transaction() as session:
            await session.execute(
                insert(FLOOR_TABLE).values(
                    client_id=str(update.update_id),
                    text=update.message.text,
                    created_at=utcnow(),
                )
            )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post(HOOK, hook)
    return app


async def measure_in(base_url: str, updates: int, first_id: int, client: Executor) -> Outcome:
    """A warm-up, then the measured load, from the client process."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(client, drive, Load(base_url, WARMUP_UPDATES, first_id))
    measured = Load(base_url, updates, first_id + 1_000_000)
    cpu = time.process_time()
    outcome = await loop.run_in_executor(client, drive, measured)
    outcome.server_cpu = time.process_time() - cpu
    return outcome


async def count(db: Database, table: Any) -> int:
    async with db.reading() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


def in_problems(name: str, outcome: Outcome, stored: int, sent: int) -> list[str]:
    problems = [f"{name}: {stored} updates stored, {sent} sent"] if stored != sent else []
    if outcome.failures:
        first = outcome.failures[0]
        problems.append(f"{name}: {len(outcome.failures)} updates refused, first: {first}")
    return problems


# -- (b) replies out ---------------------------------------------------------------------------


@dataclass
class Out:
    messages: int
    seconds: float = 0.0
    too_many_requests: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


async def measure_out(app: web.Application, telegram: FakeTelegram, chats: int) -> Out:
    """Open a ticket per chat, queue the replies, wait until Telegram has them all."""
    desk = app[STATE].desk
    ids = [10_000_000 + n for n in range(chats)]
    tickets = {}
    for chat in ids:
        got = await desk.receive(Inbound(inbox=INBOX, external_id=str(chat), text="Where?"))
        tickets[chat] = got.ticket_number
    out = Out(chats * REPLIES_PER_CHAT)
    refused, started = telegram.too_many_requests, time.perf_counter()
    for chat, text in replies(ids):
        await desk.reply(tickets[chat], None, text)
    patience = 2 * out.messages / TELEGRAM_PER_SECOND + 30
    for _ in range(int(patience / 0.01)):  # a lost message shows as a timeout, then a problem
        if len(telegram.sent_messages()) >= out.messages:
            break
        await asyncio.sleep(0.01)
    out.seconds = time.perf_counter() - started
    out.too_many_requests = telegram.too_many_requests - refused
    out.problems = await out_problems(app[STATE].db, telegram, ids)
    return out


def replies(chats: list[int]) -> Iterator[tuple[int, str]]:
    """The replies in a shuffled order, each chat's in their own order."""
    order = [chat for chat in chats for _ in range(REPLIES_PER_CHAT)]
    random.Random(len(chats)).shuffle(order)
    written: dict[int, int] = dict.fromkeys(chats, 0)
    for chat in order:
        written[chat] += 1
        yield chat, reply_text(chat, written[chat])


def reply_text(chat: int, n: int) -> str:
    return f"Reply {n} to {chat}"


async def out_problems(db: Database, telegram: FakeTelegram, chats: list[int]) -> list[str]:
    """Every chat got its replies once and in order; every outbox row is marked sent."""
    wrong = [
        chat
        for chat in chats
        if [m["text"] for m in telegram.sent_messages(chat)]
        != [reply_text(chat, n) for n in range(1, REPLIES_PER_CHAT + 1)]
    ]
    problems = [f"replies: {len(wrong)} chats did not get theirs once in order"] if wrong else []
    for _ in range(100):  # the last rows are marked sent just after Telegram took them
        async with db.reading() as session:
            unsent = await session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status != Delivery.SENT)
            )
        if not unsent:
            return problems
        await asyncio.sleep(0.05)
    return [*problems, f"replies: {unsent} outbox rows not marked sent"]


# -- one backend -------------------------------------------------------------------------------


@dataclass
class Measured:
    floor: Outcome
    pipeline: Outcome
    out: Out
    problems: list[str]


async def measure(url: str, tmp: Path, updates: int, chats: int, client: Executor) -> Measured:
    async with FakeTelegram(TOKEN, enforce_limits=True) as telegram:
        db = Database(url)
        bot = Bot(TOKEN)
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(FLOOR_TABLE.metadata.create_all)
            async with serving(floor_app(db, bot)) as base_url:
                floor = await measure_in(base_url, updates, 2_000_000, client)
            floor_rows = await count(db, FLOOR_TABLE)
        finally:
            await bot.session.close()
            await db.close()

        app = await build_app(service_config(url, tmp, telegram))
        async with serving(app) as base_url:
            pipeline = await measure_in(base_url, updates, 4_000_000, client)
            stored = await count(app[STATE].db, Message)
            opened = await count(app[STATE].db, Ticket)
            out = await measure_out(app, telegram, chats)

    sent = WARMUP_UPDATES + updates
    problems = in_problems("floor", floor, floor_rows, sent)
    problems += in_problems("pipeline", pipeline, stored, sent)
    if opened != users_for(WARMUP_UPDATES) + users_for(updates):
        problems.append(f"pipeline: {opened} tickets opened for {users_for(updates)} users")
    return Measured(floor, pipeline, out, problems + out.problems)


def service_config(url: str, tmp: Path, telegram: FakeTelegram) -> Any:
    inbox = {
        "name": INBOX,
        "channel": "telegram",
        "token": TOKEN,
        "mode": "webhook",
        "webhook_secret": SECRET,
        "api_server": telegram.base_url,
    }
    raw = {
        "database": {"url": url},
        "web": {"secret_key": secrets.token_urlsafe(32), "public_url": "http://127.0.0.1:8080"},
        "inbox": [inbox],
    }
    return parse_config(raw, source="bench", base_dir=tmp)


def report(backend: str, updates: int, chats: int, measured: Measured) -> None:
    print(f"{backend}")
    print(f"  (a) {updates} webhook updates from {users_for(updates)} users, {CONCURRENCY} at once")
    print(
        f"    {'':<10}{'upd/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'server CPU':>12}{'client CPU':>12}"
    )
    for name, o in (("pipeline", measured.pipeline), ("floor", measured.floor)):
        p50, p99 = o.percentile_ms(50), o.percentile_ms(99)
        server, client = o.server_cpu / o.seconds, o.client_cpu / o.seconds
        print(
            f"    {name:<10}{o.rate:>10.1f}{p50:>10.1f}{p99:>10.1f}{server:>12.0%}{client:>12.0%}"
        )
    ratio = measured.pipeline.rate / measured.floor.rate
    print(f"    pipeline/floor throughput {ratio:.2f}: {meets(ratio >= TARGET)} ≥ {TARGET:.2f}")
    out = measured.out
    share = out.rate / TELEGRAM_PER_SECOND
    print(f"  (b) {out.messages} replies to {chats} chats through the sender")
    print(
        f"    {out.rate:.1f} msg/s ({out.seconds:.1f} s): {share:.0%} of Telegram's "
        f"{TELEGRAM_PER_SECOND}/s per bot, {meets(share >= TARGET_SHARE)} ≥ {TARGET_SHARE:.0%}"
    )
    refused = out.too_many_requests
    print(f"    429 answers: {refused}, {meets(not refused)} 0")
    for problem in measured.problems:
        print(f"  FAILED {problem}")
    print()


async def main(updates: int, chats: int, client: Executor) -> int:
    print(
        f"Telegram benchmark on {os.cpu_count()} CPUs: servers, sender and Bot API emulator in "
        "this process, webhook load from a separate process; all on 127.0.0.1.\n"
    )

    async def run(backend: str, url: str, tmp: Path) -> bool:
        measured = await measure(url, tmp, updates, chats, client)
        report(backend, updates, chats, measured)
        return not measured.problems

    return await each_backend(run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--updates", type=positive, default=2000, help="default: 2000")
    parser.add_argument("--chats", type=positive, default=300, help="default: 300")
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        code = asyncio.run(main(args.updates, args.chats, pool))
    sys.exit(code)
