"""The rate limiter shared through Redis: processes together never exceed a limit.

An event counts from entering its slot until ``per`` after leaving it; the checks below count,
at every moment an event entered, the events counting then, from the times each process noted
(entering after Redis let it in, leaving before Redis heard of it: inside what Redis counted).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import pytest
import redis.asyncio as redis

from core import ratelimit_redis
from core.ratelimit import Rule
from core.ratelimit_redis import RedisRateLimiter
from tests.redis_server import (
    CLOSED_URL,
    RedisProxy,
    connect,
    redis_proxy,
    redis_url,
    unique,
)

__all__ = ["connect", "redis_proxy", "redis_url", "unique"]  # fixtures

Span = tuple[float, float]  # entered, left (time.monotonic: one clock for all processes)


def most_at_once(spans: list[Span], per: float) -> int:
    """The most events counting at one moment (from entering until ``per`` after leaving)."""
    return max(sum(1 for e, left in spans if e <= t < left + per) for t, _ in spans)


async def take_slots(
    limiter: RedisRateLimiter, rules: tuple[Rule, ...], events: int, seed: int
) -> list[Span]:
    """``events`` slots at once, each held for up to 10 ms."""
    rng = random.Random(seed)
    spans: list[Span] = []

    async def one() -> None:
        async with limiter.slot(*rules):
            entered = time.monotonic()
            await asyncio.sleep(rng.uniform(0, 0.01))
            spans.append((entered, time.monotonic()))

    await asyncio.gather(*(one() for _ in range(events)))
    return spans


# -- run in other processes --------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    url: str
    prefix: str
    rule: Rule
    events: int
    start_at: float  # time.time(): both processes start together
    seed: int


def sender(load: Load) -> list[Span]:
    """One process sending for the shared namespace."""

    async def run() -> list[Span]:
        client = redis.from_url(load.url)
        limiter = RedisRateLimiter(client, "bot", prefix=load.prefix)
        await asyncio.sleep(max(0.0, load.start_at - time.time()))
        try:
            return await take_slots(limiter, (load.rule,), load.events, load.seed)
        finally:
            await client.aclose()

    return asyncio.run(run())


def holder(url: str, prefix: str, rule: Rule, lease: float, entered: object) -> None:
    """Enter a slot, say so, and stay in it until killed."""

    async def run() -> None:
        limiter = RedisRateLimiter(redis.from_url(url), "bot", prefix=prefix, lease=lease)
        async with limiter.slot(rule):
            entered.set()  # type: ignore[attr-defined]
            await asyncio.sleep(3600)

    asyncio.run(run())


# -- the tests ---------------------------------------------------------------------------------


async def test_two_processes_sharing_a_rule_never_exceed_it(redis_url: str, unique: str):
    rule = Rule("bot", 10, 0.25)  # 40 a second
    start_at = time.time() + 3  # both processes are up by then
    loads = [Load(redis_url, unique, rule, 60, start_at, seed) for seed in (1, 2)]
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        first, second = await asyncio.gather(
            *(loop.run_in_executor(pool, sender, load) for load in loads)
        )
    spans = first + second
    assert len(spans) == 120
    assert most_at_once(spans, rule.per) <= rule.limit
    entered = sorted(e for e, _ in spans)
    rate = (len(entered) - rule.limit) / (entered[-1] - entered[0])
    print(f"\ntwo processes together: {rate:.1f} events/s of {rule.limit / rule.per:.0f}/s")


async def test_two_clients_in_one_process_share_narrow_and_wide_rules(
    connect: Callable[..., redis.Redis], unique: str
):
    wide, chats = Rule("bot", 6, 0.2), [Rule(f"chat:{n}", 1, 0.2) for n in range(3)]
    one, other = (RedisRateLimiter(connect(), "bot", prefix=unique) for _ in range(2))
    spans_by_chat = await asyncio.gather(
        *(
            take_slots(limiter, (wide, chat), 5, seed)
            for seed, (limiter, chat) in enumerate(
                [(one, c) for c in chats] + [(other, c) for c in chats]
            )
        )
    )
    assert most_at_once([s for spans in spans_by_chat for s in spans], wide.per) <= wide.limit
    for chat in range(3):
        both = spans_by_chat[chat] + spans_by_chat[chat + 3]
        assert most_at_once(both, 0.2) <= 1


async def test_a_slot_takes_all_its_rules_at_once_or_none(
    connect: Callable[..., redis.Redis], unique: str
):
    a, b = Rule("a", 1, 0.1), Rule("b", 1, 0.1)
    one, other = (RedisRateLimiter(connect(), "bot", prefix=unique) for _ in range(2))
    holding_b, release_b = asyncio.Event(), asyncio.Event()

    async def hold_b() -> None:
        async with one.slot(b):
            holding_b.set()
            await release_b.wait()

    async def both() -> None:
        async with other.slot(a, b):
            pass

    held = asyncio.create_task(hold_b())
    await holding_b.wait()
    waiting = asyncio.create_task(both())
    await asyncio.sleep(0.1)  # it asked Redis and was told to wait for b
    client = connect()
    assert await client.zcard(f"{unique}:ratelimit:{{bot}}:a:running") == 0  # a not taken
    async with asyncio.timeout(10), one.slot(a):  # a is free for someone else meanwhile
        pass
    assert not waiting.done()
    release_b.set()
    await held
    async with asyncio.timeout(10):
        await waiting  # then it gets both


async def test_the_slot_of_a_process_that_died_frees_when_its_lease_runs_out(
    connect: Callable[..., redis.Redis], redis_url: str, unique: str
):
    rule, lease = Rule("chat:1", 1, 0.1), 2.0
    context = get_context("spawn")
    entered = context.Event()
    process = context.Process(target=holder, args=(redis_url, unique, rule, lease, entered))
    process.start()
    try:
        assert await asyncio.to_thread(entered.wait, 30), "the holder never entered"
    finally:
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.join)
    client = connect()
    running = f"{unique}:ratelimit:{{bot}}:chat:1:running"
    [(dead, lease_ends)] = await client.zrange(running, 0, -1, withscores=True)

    limiter = RedisRateLimiter(connect(), "bot", prefix=unique)
    async with asyncio.timeout(30), limiter.slot(rule):
        now_ms = await _redis_ms(client)
    assert now_ms >= lease_ends + rule.per * 1000  # not before the lease ran out, and per
    assert await client.zscore(running, dead) is None


async def _redis_ms(client: redis.Redis) -> float:
    seconds, micros = await client.time()
    return seconds * 1000 + micros / 1000


async def test_without_redis_each_process_keeps_the_limits_on_its_own(
    connect: Callable[..., redis.Redis], caplog: pytest.LogCaptureFixture
):
    rule = Rule("bot", 5, 0.2)
    limiter = RedisRateLimiter(connect(CLOSED_URL), "bot", prefix="unused")
    with caplog.at_level(logging.WARNING, logger="otklik.ratelimit"):
        spans = await take_slots(limiter, (rule,), 30, seed=3)
    assert len(spans) == 30
    assert most_at_once(spans, rule.per) <= rule.limit
    [warning] = [r.getMessage() for r in caplog.records if r.name == "otklik.ratelimit"]
    assert "Redis does not answer" in warning


async def test_after_redis_comes_back_the_limits_are_shared_again(
    connect: Callable[..., redis.Redis],
    redis_proxy: RedisProxy,
    unique: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(ratelimit_redis, "RETRY_SECONDS", 0.0)
    rule = Rule("bot", 2, 0.05)
    limiter = RedisRateLimiter(connect(redis_proxy.url), "bot", prefix=unique)
    direct = connect()
    ended = f"{unique}:ratelimit:{{bot}}:bot:ended"
    with caplog.at_level(logging.WARNING, logger="otklik.ratelimit"):
        await take_slots(limiter, (rule,), 3, seed=4)
        assert await direct.zcard(ended) > 0  # counted in Redis
        await redis_proxy.cut()
        await direct.delete(ended)
        await take_slots(limiter, (rule,), 3, seed=5)  # counted here: Redis is gone
        assert await direct.zcard(ended) == 0
        await redis_proxy.mend()
        await take_slots(limiter, (rule,), 3, seed=6)
        await take_slots(limiter, (rule,), 3, seed=7)
    assert await direct.zcard(ended) > 0  # counted in Redis again
    said = [r.getMessage() for r in caplog.records if r.name == "otklik.ratelimit"]
    assert [m.split(";")[0].split(" (")[0] for m in said] == [
        "rate limits: Redis does not answer",
        "rate limits: Redis answers again",
    ]


async def test_a_cancelled_wait_takes_no_place(connect: Callable[..., redis.Redis], unique: str):
    rule = Rule("chat:1", 1, 0.1)
    limiter = RedisRateLimiter(connect(), "bot", prefix=unique)
    inside = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot(rule):
            inside.set()
            await asyncio.sleep(0.3)

    held = asyncio.create_task(hold())
    await inside.wait()
    given_up = asyncio.create_task(take_slots(limiter, (rule,), 1, seed=8))
    await asyncio.sleep(0.05)
    given_up.cancel()
    await held
    assert await take_slots(limiter, (rule,), 1, seed=9)
    client = connect()
    assert await client.zcard(f"{unique}:ratelimit:{{bot}}:chat:1:running") == 0
