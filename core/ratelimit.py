"""A rate limiter for asyncio: one more event only when it keeps within every given limit.

A ``Rule`` allows at most ``limit`` events per ``key`` within any ``per`` seconds: a sliding
window, the way platforms state their limits ("30 messages per second"), exact where a token
bucket would allow a burst on top of a full window.

``async with limiter.slot(*rules):`` enters once one more event fits every rule, and the
event counts while the block runs and for ``per`` seconds after it ends. A request sent inside
the block reaches the platform at some moment between entering and the answer; counting it
until the answer and from the answer on is the only way to be sure the platform never sees
``limit + 1`` of them within ``per`` seconds, however late one of them left or however long
it travelled (an event loop busy for 300 ms, a slow network). The price is the answer's
latency added to each window, against the jitter margin the other way would need.

Waiters queue in arrival order; whenever someone may go (a waiter came, an event ended, a
window moved on), the queue is walked from the front and everyone whose rules all allow an event now
goes, the others keep their place. So a waiter held back by its own narrow rule (one chat's
1/s) never holds up those behind it, and waiters held back by a shared rule (the bot's 30/s)
go first come, first served. Between those moments one timer sleeps until the soonest time a
window frees; nothing polls.

A rule's key must always come with the same ``limit`` and ``per``. ``clock`` (seconds) and
``sleep`` are injectable, so tests can run the limiter in virtual time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

_FIRST_SWEEP = 1024  # idle windows are dropped once there are this many (then twice as many)


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` events for ``key`` within any ``per`` seconds."""

    key: str
    limit: int
    per: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.per <= 0:
            raise ValueError(f"a rule needs limit >= 1 and per > 0, got {self}")


class Limiter(Protocol):
    """What adapters hold: this process's ``RateLimiter``, or one shared through Redis."""

    def slot(self, *rules: Rule) -> AbstractAsyncContextManager[None]: ...


class _Window:
    """One key's events: how many are going on, and when the recent ones ended."""

    def __init__(self, rule: Rule) -> None:
        self.limit, self.per = rule.limit, rule.per
        self.active = 0
        self.ended: deque[float] = deque()  # in order: an end is counted at the current time

    def free_at(self, now: float) -> float:
        """When one more event fits: now, later, or ``inf`` until an active one ends."""
        while self.ended and self.ended[0] + self.per <= now:
            self.ended.popleft()
        over = self.active + len(self.ended) - self.limit  # events to leave, less one
        if over < 0:
            return now
        return self.ended[over] + self.per if over < len(self.ended) else math.inf

    def idle(self, now: float) -> bool:
        return not self.active and (not self.ended or self.ended[-1] + self.per <= now)


@dataclass(frozen=True, eq=False)
class _Waiter:
    rules: tuple[Rule, ...]
    granted: asyncio.Future[None]


class RateLimiter:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._windows: dict[str, _Window] = {}
        self._sweep_at = _FIRST_SWEEP
        self._queue: list[_Waiter] = []
        self._timer: asyncio.Task[None] | None = None
        self._timer_at = math.inf

    @asynccontextmanager
    async def slot(self, *rules: Rule) -> AsyncIterator[None]:
        """Enter once one more event fits every rule; it counts until ``per`` after the exit."""
        waiter = _Waiter(rules, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        self._dispatch()
        try:
            await waiter.granted  # a cancelled wait cancels this future: the queue drops it
            yield
        finally:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._end(rules)

    def _dispatch(self) -> None:
        """Let in, in queue order, everyone allowed now; set the timer for the next one."""
        now, soonest = self._clock(), math.inf
        waiting = []
        for waiter in self._queue:
            if waiter.granted.cancelled():
                continue
            at = max((self._free_at(rule, now) for rule in waiter.rules), default=now)
            if at <= now:
                self._begin(waiter.rules, now)
                waiter.granted.set_result(None)
            else:
                waiting.append(waiter)
                soonest = min(soonest, at)
        self._queue = waiting
        self._set_timer(soonest)

    def _free_at(self, rule: Rule, now: float) -> float:
        window = self._windows.get(rule.key)
        return now if window is None else window.free_at(now)

    def _begin(self, rules: tuple[Rule, ...], now: float) -> None:
        if len(self._windows) >= self._sweep_at:
            self._windows = {k: w for k, w in self._windows.items() if not w.idle(now)}
            self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._windows))
        for rule in rules:
            if rule.key not in self._windows:
                self._windows[rule.key] = _Window(rule)
            self._windows[rule.key].active += 1

    def _end(self, rules: tuple[Rule, ...]) -> None:
        now = self._clock()
        for rule in rules:
            window = self._windows[rule.key]  # never swept while active
            window.active -= 1
            window.ended.append(now)
        self._dispatch()

    def _set_timer(self, at: float) -> None:
        """Wake at ``at`` unless the timer already wakes sooner."""
        if at >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.create_task(self._wake(at), name="rate-limiter")

    async def _wake(self, at: float) -> None:
        await self._sleep(max(0.0, at - self._clock()))
        self._timer, self._timer_at = None, math.inf
        self._dispatch()
