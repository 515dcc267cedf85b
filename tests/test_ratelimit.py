"""The rate limiter in virtual time: limits are never exceeded, waits are as short as allowed."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Coroutine
from typing import Any, NamedTuple

import pytest

from core.ratelimit import RateLimiter, Rule


class VirtualTime:
    """A clock and a sleep in which time moves only when every task is waiting for it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), woken))
        await woken

    async def run(self, *coroutines: Coroutine[Any, Any, Any]) -> list[Any]:
        """Run ``coroutines`` to their end; when all are stuck, wake the soonest sleeper."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(task.done() for task in tasks):
            for _ in range(20):  # let everything that can run, run
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].cancelled():
                heapq.heappop(self._sleepers)
            if self._sleepers:
                at, _, woken = heapq.heappop(self._sleepers)
                self.now = max(self.now, at)
                woken.set_result(None)
            else:
                assert all(task.done() for task in tasks), "tasks wait for something else"
        return [task.result() for task in tasks]


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def limiter(vt: VirtualTime) -> RateLimiter:
    return RateLimiter(clock=vt.clock, sleep=vt.sleep)


class Event(NamedTuple):
    at: float  # when it wants to happen
    rules: tuple[Rule, ...]
    lasts: float = 0.0  # how long it takes: a request until its answer


async def happen(vt: VirtualTime, limiter: RateLimiter, event: Event) -> float:
    """Arrive at ``event.at``, take a slot for ``event.lasts``; when we were let in."""
    await vt.sleep(event.at)
    async with limiter.slot(*event.rules):
        began = vt.now
        await vt.sleep(event.lasts)
    return began


async def run_all(vt: VirtualTime, limiter: RateLimiter, events: list[Event]) -> list[float]:
    return await vt.run(*(happen(vt, limiter, event) for event in events))


BOT = Rule("bot", 3, 1.0)
ALICE = Rule("chat:1", 1, 1.0)
BOB = Rule("chat:2", 1, 1.0)
GROUP = Rule("chat:-5", 20, 60.0)
OTHERS = [Rule(f"chat:{n}", 1, 1.0) for n in range(10, 15)]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([Event(0, (BOT,))] * 7, [0, 0, 0, 1, 1, 1, 2], id="bursts-of-the-limit"),
        pytest.param([Event(0, (ALICE,))] * 3, [0, 1, 2], id="one-a-second"),
        pytest.param(
            [Event(0, (ALICE,)), Event(0.4, (ALICE,)), Event(2.5, (ALICE,))],
            [0, 1, 2.5],
            id="no-wait-when-free",
        ),
        pytest.param(
            [Event(at, (BOT,)) for at in (0, 0.25, 0.5, 0.75, 0.8)],
            [0, 0.25, 0.5, 1, 1.25],
            id="sliding-window",
        ),
        pytest.param(
            [Event(0, (BOT, ALICE))] * 2 + [Event(0, (BOT, BOB))] * 2,
            [0, 1, 0, 1],
            id="two-chats-side-by-side",
        ),
        pytest.param(
            [Event(0, (BOT, ALICE))] * 3 + [Event(0, (BOT, BOB))] * 3,
            [0, 1, 2, 0, 1, 2],
            id="a-busy-chat-holds-up-no-other",
        ),
        pytest.param(
            [Event(0, (BOT, ALICE))] + [Event(0, (BOT, chat)) for chat in OTHERS],
            [0, 0, 0, 1, 1, 1],
            id="bot-limit-over-chats",
        ),
        pytest.param([Event(0, (GROUP,))] * 22, [0] * 20 + [60, 60], id="twenty-a-minute"),
        pytest.param([Event(0, ())] * 3, [0, 0, 0], id="no-rules"),
        pytest.param(
            [Event(0, (ALICE,), lasts=0.5), Event(0, (ALICE,))],
            [0, 1.5],
            id="counts-from-the-answer",
        ),
        pytest.param(
            [Event(0, (Rule("bot", 2, 1.0),), lasts=3)] + [Event(0, (Rule("bot", 2, 1.0),))] * 3,
            [0, 0, 1, 2],
            id="counts-while-under-way",
        ),
        pytest.param(
            [Event(0, (ALICE,), lasts=5), Event(1, (ALICE,))], [0, 6], id="waits-for-the-answer"
        ),
    ],
)
async def test_waits_are_as_short_as_the_rules_allow(
    vt: VirtualTime, limiter: RateLimiter, events: list[Event], expected: list[float]
):
    assert await run_all(vt, limiter, events) == pytest.approx(expected)


async def test_waiters_held_by_a_shared_rule_go_in_arrival_order(
    vt: VirtualTime, limiter: RateLimiter
):
    order: list[int] = []

    async def waiter(n: int) -> None:
        await vt.sleep(n * 0.001)
        async with limiter.slot(Rule("bot", 2, 1.0)):
            order.append(n)

    await vt.run(*(waiter(n) for n in range(9)))
    assert order == list(range(9))


async def test_many_concurrent_events_never_exceed_any_limit(vt: VirtualTime, limiter: RateLimiter):
    pick = random.Random(7)
    bot = Rule("bot", 30, 1.0)
    chats = [Rule(f"chat:{n}", 1, 1.0) for n in range(1, 41)]
    groups = [Rule(f"chat:-{n}", 20, 60.0) for n in range(1, 3)]
    events = [
        Event(pick.uniform(0, 5), (bot, pick.choice(chats + groups)), pick.uniform(0, 0.3))
        for _ in range(400)
    ]
    began = await run_all(vt, limiter, events)

    # Each event reaches the platform at some moment while it lasts. So whenever one begins,
    # at most ``limit`` events may have begun by then and not ended ``per`` before: otherwise
    # the platform could see limit + 1 of them within ``per`` seconds.
    spans: dict[Rule, list[tuple[float, float]]] = defaultdict(list)
    for event, start in zip(events, began, strict=True):
        assert start >= event.at
        for rule in event.rules:
            spans[rule].append((start, start + event.lasts))
    for rule, seen in spans.items():
        for moment, _ in seen:
            alive = [1 for start, end in seen if start <= moment < end + rule.per - 1e-9]
            assert len(alive) <= rule.limit, (rule, moment)


async def test_a_cancelled_wait_takes_no_slot(vt: VirtualTime, limiter: RateLimiter):
    async with limiter.slot(ALICE):
        pass
    gave_up = asyncio.ensure_future(happen(vt, limiter, Event(0, (ALICE,))))
    await asyncio.sleep(0)
    gave_up.cancel()
    assert await run_all(vt, limiter, [Event(0.5, (ALICE,))]) == [1.0]


async def test_an_event_that_fails_still_counts(vt: VirtualTime, limiter: RateLimiter):
    with pytest.raises(ConnectionError):
        async with limiter.slot(ALICE):
            raise ConnectionError("the request may have arrived")
    assert await run_all(vt, limiter, [Event(0, (ALICE,))]) == [1.0]


async def test_idle_windows_are_forgotten(vt: VirtualTime, limiter: RateLimiter):
    chats = [Event(n * 0.01, (Rule(f"chat:{n}", 1, 1.0),)) for n in range(3000)]
    await run_all(vt, limiter, chats)
    assert len(limiter._windows) <= 1024  # memory stays bounded by the chats active lately
    assert await run_all(vt, limiter, [Event(0, chats[-1].rules)]) == [pytest.approx(30.99)]


async def test_real_time_lower_bound():
    limiter = RateLimiter()
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def once() -> None:
        async with limiter.slot(Rule("chat:1", 1, 0.05)):
            pass

    await asyncio.gather(once(), once(), once())
    assert loop.time() - started >= 0.1


def test_a_rule_needs_a_limit_and_a_period():
    with pytest.raises(ValueError):
        Rule("bot", 0, 1.0)
    with pytest.raises(ValueError):
        Rule("bot", 1, 0)
