"""Inbound throughput: customer messages through the real web chat entry point, against a floor.

Run from the repository root: ``python bench/inbound.py [--messages N] [--concurrency C]``.

For each backend (SQLite in a fresh file; PostgreSQL in a fresh database created through the
admin database ``$OTKLIK_TEST_PG``, default ``postgresql://postgres@127.0.0.1:5432/test``, and
dropped at the end, skipped when unreachable) the run measures two servers on 127.0.0.1 under
the same client load:

pipeline
    The real app from ``otklik.service.build_app`` over a migrated database, one web chat inbox.
    Every request is ``POST /chat/api/web/messages`` with ``{"text", "client_id"}`` and a visitor
    cookie from ``GET /chat/web``: cookie check, validation, ``Desk.receive`` (find or create the
    customer and the live ticket, store the message, audit, events) in one transaction.
floor
    A bare aiohttp app with the same routes whose POST handler parses the JSON body and INSERTs
    one row in one committed transaction through the same ``core.db.Database`` (so SQLite has
    the same pragmas and ``BEGIN IMMEDIATE``, PostgreSQL the same pool): what any inbound write
    costs on this stack.

The load: N messages, each with its own ``client_id``, from N/4 visitors, each visitor with the
cookie its page load set (page loads happen before the clock starts). C workers send back to
back (closed loop, keep-alive connections); each worker owns a share of the visitors and sends
their messages in a shuffled order, so first messages (new tickets) and follow-ups (existing
tickets) are mixed throughout and one visitor never has two messages in flight. Each server
gets a warm-up of 200 messages first. Afterwards the database is counted: it must hold exactly
the messages and tickets the pipeline was sent (warm-up included), and every request of either
server must have been answered 201; otherwise the run fails.

The figures: messages/s over the measured wall time; p50 and p99 of the per-request latency
seen by the client (send to response read); pipeline/floor throughput against the target 1/3;
and the CPU each process used over the measured span (100% = one core), which tells a server
that is CPU-bound from one that waits (on the SQLite write lock, on connections).

The client runs in a separate process (a spawned one-worker process pool), the servers in this
one. On 2 cores that gives the honest figures: a load generator in the server's event loop
would take its own per-request CPU from the server and so hide part of the difference between
a cheap and an expensive handler (the ratio would read too high). The client needs a fraction
of a core (see its column), so it is not what limits either server. Each server is one process
like ``otklik serve`` and shares the 2 cores with the client and, for PostgreSQL, the database
backends. INFO log lines are not written (logging is left unconfigured; ``otklik serve`` writes
them), and the pipeline's background sender polls as in service.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select

from bench.common import FLOOR_TABLE, TARGET, Outcome, each_backend, positive, serving
from core.clock import utcnow
from core.db import Database
from core.models import Message, Ticket
from otklik.service import build_app
from settings.config import parse_config

INBOX = "web"
PAGE = f"/chat/{INBOX}"
MESSAGES = f"/chat/api/{INBOX}/messages"
COOKIE = f"otklik_chat_{INBOX}"
WARMUP_MESSAGES = 200
MESSAGES_PER_VISITOR = 4


# -- the client (runs in the pool's process) ---------------------------------------------------


@dataclass(frozen=True)
class Load:
    base_url: str
    messages: int
    concurrency: int
    tag: str  # the client_id prefix: unique per load, so ids never repeat in one database

    @property
    def visitors(self) -> int:
        return visitors_for(self.messages)


def visitors_for(messages: int) -> int:
    return max(1, messages // MESSAGES_PER_VISITOR)


def visitors(load: Load) -> list[str]:
    """Load the chat page once per visitor; their cookies. Runs in the client process."""
    return asyncio.run(_visitors(load))


async def _visitors(load: Load) -> list[str]:
    gate = asyncio.Semaphore(load.concurrency)
    async with _client(load) as http:
        return await asyncio.gather(*(_visit(http, gate) for _ in range(load.visitors)))


async def _visit(http: aiohttp.ClientSession, gate: asyncio.Semaphore) -> str:
    async with gate, http.get(PAGE) as response:
        await response.read()
        response.raise_for_status()
        return f"{COOKIE}={response.cookies[COOKIE].value}"


def drive(load: Load, cookies: list[str]) -> Outcome:
    """Send ``load`` as the visitors with ``cookies`` and time it. Runs in the client process."""
    return asyncio.run(_drive(load, cookies))


async def _drive(load: Load, cookies: list[str]) -> Outcome:
    outcome = Outcome()
    plans = _plans(load)
    async with _client(load) as http:
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(_send(http, load.tag, plan, cookies, outcome) for plan in plans))
        outcome.seconds = time.perf_counter() - started
        outcome.client_cpu = time.process_time() - cpu
    return outcome


def _client(load: Load) -> aiohttp.ClientSession:
    """Keep-alive connections, one per worker; cookies are sent per request, not kept."""
    return aiohttp.ClientSession(
        load.base_url,
        connector=aiohttp.TCPConnector(limit=load.concurrency),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def _plans(load: Load) -> list[list[tuple[int, int]]]:
    """Per worker, its ``(message number, visitor)`` pairs in the order it sends them."""
    plans: list[list[tuple[int, int]]] = [[] for _ in range(load.concurrency)]
    for number in range(load.messages):
        visitor = number % load.visitors
        plans[visitor % load.concurrency].append((number, visitor))
    shuffle = random.Random(load.tag).shuffle
    for plan in plans:
        shuffle(plan)
    return plans


async def _send(
    http: aiohttp.ClientSession,
    tag: str,
    plan: list[tuple[int, int]],
    cookies: list[str],
    outcome: Outcome,
) -> None:
    for number, visitor in plan:
        body = {
            "text": f"Hello, order {number} has not arrived yet. Where is it?",
            "client_id": f"{tag}-{number:08d}",
        }
        started = time.perf_counter()
        async with http.post(MESSAGES, json=body, headers={"Cookie": cookies[visitor]}) as r:
            answer = await r.read()
        outcome.latencies.append(time.perf_counter() - started)
        if r.status != 201:
            outcome.failures.append(f"{r.status} {answer[:200]!r}")


# -- the servers (this process) ----------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    floor: Outcome
    pipeline: Outcome
    problems: list[str]


def floor_app(db: Database) -> web.Application:
    """The same routes doing the least any inbound write must: parse, INSERT, commit."""

    async def page(_request: web.Request) -> web.Response:
        response = web.Response(text="chat")
        response.set_cookie(COOKIE, secrets.token_urlsafe(16), path="/chat")
        return response

    async def message(request: web.Request) -> web.Response:
        said = await request.json()
        async with db.transaction() as session:
            row_id = await session.scalar(
                insert(FLOOR_TABLE)
                .values(client_id=said["client_id"], text=said["text"], created_at=utcnow())
                .returning(FLOOR_TABLE.c.id)
            )
        return web.json_response({"id": row_id}, status=201)

    app = web.Application()
    app.add_routes([web.get(PAGE, page), web.post(MESSAGES, message)])
    return app


async def measure(
    url: str, tmp: Path, messages: int, concurrency: int, client: Executor
) -> Measured:
    """Floor, then pipeline, on the migrated database at ``url``; each warmed up first."""
    loop = asyncio.get_running_loop()

    async def run(base_url: str, count: int, tag: str) -> Outcome:
        load = Load(base_url, count, concurrency, tag)
        cookies = await loop.run_in_executor(client, visitors, load)
        cpu = time.process_time()
        outcome = await loop.run_in_executor(client, drive, load, cookies)
        outcome.server_cpu = time.process_time() - cpu
        return outcome

    async def warm_then_measure(base_url: str, name: str) -> Outcome:
        await run(base_url, min(WARMUP_MESSAGES, messages), f"{name}-warm")
        return await run(base_url, messages, name)

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(FLOOR_TABLE.metadata.create_all)
        async with serving(floor_app(db)) as base_url:
            floor = await warm_then_measure(base_url, "floor")
    finally:
        await db.close()

    config = parse_config(
        {
            "database": {"url": url},
            "web": {"secret_key": secrets.token_urlsafe(32)},
            "inbox": [{"name": INBOX, "channel": "webchat"}],
        },
        source="bench",
        base_dir=tmp,
    )
    async with serving(await build_app(config)) as base_url:
        pipeline = await warm_then_measure(base_url, "pipeline")

    warm = min(WARMUP_MESSAGES, messages)
    problems = await _check(
        url,
        messages=warm + messages,
        tickets=visitors_for(warm) + visitors_for(messages),
        outcomes={"floor": floor, "pipeline": pipeline},
    )
    return Measured(floor, pipeline, problems)


async def _check(url: str, messages: int, tickets: int, outcomes: dict[str, Outcome]) -> list[str]:
    """What went wrong: refused requests, or stored counts other than those sent."""
    problems = [
        f"{name}: {len(o.failures)} requests refused, first: {o.failures[0]}"
        for name, o in outcomes.items()
        if o.failures
    ]
    db = Database(url)
    try:
        async with db.reading() as session:
            stored = await session.scalar(select(func.count()).select_from(Message))
            opened = await session.scalar(select(func.count()).select_from(Ticket))
    finally:
        await db.close()
    if stored != messages:
        problems.append(f"pipeline: {stored} messages stored, {messages} sent")
    if opened != tickets:
        problems.append(f"pipeline: {opened} tickets opened, {tickets} visitors wrote")
    return problems


# -- backends and report -----------------------------------------------------------------------


def report(backend: str, messages: int, concurrency: int, measured: Measured) -> None:
    print(
        f"{backend}: {messages} messages from {visitors_for(messages)} visitors, "
        f"concurrency {concurrency}"
    )
    print(
        f"  {'':<10}{'msg/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'server CPU':>12}{'client CPU':>12}"
    )
    for name, o in (("pipeline", measured.pipeline), ("floor", measured.floor)):
        p50, p99 = o.percentile_ms(50), o.percentile_ms(99)
        server, client = o.server_cpu / o.seconds, o.client_cpu / o.seconds
        print(f"  {name:<10}{o.rate:>10.1f}{p50:>10.1f}{p99:>10.1f}{server:>12.0%}{client:>12.0%}")
    ratio = measured.pipeline.rate / measured.floor.rate
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"  pipeline/floor throughput {ratio:.2f}: {verdict} the target ≥ {TARGET:.2f}")
    for problem in measured.problems:
        print(f"  FAILED {problem}")
    print()


async def main(messages: int, concurrency: int, client: Executor) -> int:
    print(
        f"Inbound benchmark on {os.cpu_count()} CPUs: servers in this process, "
        "client load in a separate process; all on 127.0.0.1.\n"
    )

    async def run(backend: str, url: str, tmp: Path) -> bool:
        measured = await measure(url, tmp, messages, concurrency, client)
        report(backend, messages, concurrency, measured)
        return not measured.problems

    return await each_backend(run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=positive, default=2000, help="default: 2000")
    parser.add_argument("--concurrency", type=positive, default=16, help="default: 16")
    args = parser.parse_args()
    # One client process for the whole run, started before any server (spawn: no forked loop).
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        code = asyncio.run(main(args.messages, args.concurrency, pool))
    sys.exit(code)
