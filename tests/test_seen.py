"""Updates seen before: this process's bounded memory, and Redis shared by processes."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis.asyncio as redis

from core.seen import RecentUpdates, RedisUpdates
from tests.redis_server import CLOSED_URL, RedisProxy, connect, redis_proxy, redis_url, unique

__all__ = ["connect", "redis_proxy", "redis_url", "unique"]  # fixtures


async def test_this_process_remembers_the_latest_ones():
    recent = RecentUpdates(size=2)
    for update in ("1", "2", "3"):
        assert not await recent.seen(update)
        await recent.mark(update)
    assert [await recent.seen(u) for u in ("1", "2", "3")] == [False, True, True]


async def test_one_process_marks_the_others_see(connect: Callable[..., redis.Redis], unique: str):
    one, other = (RedisUpdates(connect(), f"telegram:{unique}") for _ in range(2))
    elsewhere = RedisUpdates(connect(), f"telegram:{unique}-other")
    assert not await other.seen("7")
    await one.mark("7")
    assert await other.seen("7")
    assert not await elsewhere.seen("7")  # another inbox
    assert 0 < await connect().ttl(f"otklik:seen:telegram:{unique}:7") <= 24 * 3600


async def test_without_redis_nothing_is_refused_and_this_process_remembers(
    connect: Callable[..., redis.Redis], caplog: pytest.LogCaptureFixture
):
    gone = RedisUpdates(connect(CLOSED_URL), "vk:any")
    with caplog.at_level(logging.WARNING, logger="otklik.seen"):
        assert not await gone.seen("e1")
        await gone.mark("e1")
        assert await gone.seen("e1")
    said = [r for r in caplog.records if r.name == "otklik.seen"]
    assert len(said) == 2  # seen, then mark: each told Redis is gone


async def test_what_was_marked_while_redis_was_gone_is_still_seen_here(
    connect: Callable[..., redis.Redis], redis_proxy: RedisProxy, unique: str
):
    seen = RedisUpdates(connect(redis_proxy.url), f"viber:{unique}")
    await redis_proxy.cut()
    await seen.mark("m1")
    await redis_proxy.mend()
    assert await seen.seen("m1")
    await seen.mark("m2")
    assert await RedisUpdates(connect(), f"viber:{unique}").seen("m2")  # in Redis again
