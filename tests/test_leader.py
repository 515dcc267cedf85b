"""Leader election over a real Redis: several Leaderships stand for several processes."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from core.leader import Leadership
from tests.redis_server import REDIS_URL, RedisProxy, redis_proxy, redis_url, unique
from tests.waiting import eventually

TTL = 1.0


__all__ = ["redis_proxy", "redis_url", "unique"]  # fixtures


@pytest.fixture
def key(unique: str) -> str:
    return f"{unique}:leader"


class Candidate:
    """One process: campaigns, and counts the time its duties run."""

    def __init__(self, name: str, key: str, url: str = REDIS_URL) -> None:
        self.client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.leadership = Leadership(self.client, name, key=key, ttl=TTL)
        self.on_duty = False
        self.task: asyncio.Task[None] | None = None

    async def _duties(self) -> None:
        self.on_duty = True
        try:
            await asyncio.Event().wait()
        finally:
            self.on_duty = False

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self.leadership.run(self._duties))
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def close(self) -> None:
        if self.task and not self.task.done():
            await self.stop()
        await self.client.aclose()


async def watch_duties(candidates: list[Candidate], seconds: float) -> int:
    """Sample who is on duty every 10 ms for ``seconds``; the most at once."""
    most = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        most = max(most, sum(c.on_duty for c in candidates))
        await asyncio.sleep(0.01)
    return most


async def test_one_of_several_leads(key: str):
    group = [Candidate(f"p{n}", key).start() for n in range(3)]
    try:
        await eventually(lambda: any(c.on_duty for c in group))
        assert await watch_duties(group, 2.5) == 1
        leader = next(c for c in group if c.leadership.leading)
        assert leader.on_duty and sum(c.leadership.leading for c in group) == 1
        assert await leader.client.get(key) == leader.leadership.name.encode()
    finally:
        for c in group:
            await c.close()


async def test_a_leader_that_stops_hands_over_at_once(key: str):
    first = Candidate("first", key).start()
    await eventually(lambda: first.on_duty)
    second = Candidate("second", key).start()
    try:
        await asyncio.sleep(0.5)
        assert not second.on_duty
        await first.stop()  # a clean stop deletes the key
        assert await second.client.get(key) in (None, b"second")
        await eventually(lambda: second.on_duty, seconds=TTL)
    finally:
        await first.close()
        await second.close()


async def test_a_leader_cut_off_from_redis_stops_before_another_takes_over(
    key: str, redis_proxy: RedisProxy
):
    cut_off = Candidate("cut-off", key, redis_proxy.url).start()
    await eventually(lambda: cut_off.on_duty)
    other = Candidate("other", key).start()
    try:
        await redis_proxy.cut()  # it cannot renew, nor know whether someone took over
        assert await watch_duties([cut_off, other], 3 * TTL) == 1
        assert other.on_duty and not cut_off.on_duty
        await redis_proxy.mend()
        assert await watch_duties([cut_off, other], TTL) == 1
        assert other.on_duty  # the old leader follows now
    finally:
        await cut_off.close()
        await other.close()


async def test_duties_that_end_give_the_lead_up(key: str, caplog: pytest.LogCaptureFixture):
    runs: list[str] = []

    async def fails() -> None:
        runs.append("ran")
        raise RuntimeError("a duty broke")

    client = Redis.from_url(REDIS_URL)
    leadership = Leadership(client, "p", key=key, ttl=TTL)
    task = asyncio.create_task(leadership.run(fails))
    try:
        await eventually(lambda: len(runs) >= 2, seconds=5)  # given up, then taken again
        assert "the leader's duties ended" in caplog.text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
