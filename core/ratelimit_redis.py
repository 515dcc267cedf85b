"""The rate limiter shared through Redis by every process that sends for one bot or token.

``RedisRateLimiter.slot(*rules)`` keeps the promise of ``core.ratelimit.RateLimiter`` across
processes: an event counts from entering the block until ``per`` seconds after leaving it, and
no ``limit + 1`` of them for one key ever overlap that way, whichever process they come from.

In Redis each rule key has two sorted sets: the events going on (scored by when their lease
runs out) and the events that ended (scored by when they ended). One Lua script decides for a
batch of waiters at once, in queue order and atomically over all the rules of each, on Redis's
own clock (``TIME``), so processes whose clocks disagree still agree on the windows. A process
renews the leases of its events while their blocks run; the event of a process that died
without leaving ends when its lease runs out, and counts for ``per`` seconds after that.

In one process the waiters queue as in ``RateLimiter``; one task asks Redis for all of them, then
sleeps until the soonest moment a window frees, until one of this process's events ends or a
new waiter comes. An event of another process that is still going on has no known end: then the
task asks again after a short pause that grows for as long as someone waits for such an event.

When Redis does not answer, the limiter logs a warning and lets this process's local
``RateLimiter`` count instead (each process then keeps the limits on its own), and tries Redis
again ``RETRY_SECONDS`` later: sending never stops because Redis went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
from redis.commands.core import AsyncScript

from core.ratelimit import RateLimiter, Rule
from core.redis_faults import ANSWER_SECONDS, UNREACHABLE, Outage
from core.stopping import unless_stopped

log = logging.getLogger("otklik.ratelimit")

LEASE_SECONDS = 10.0  # an event's entry outlives its process by at most this long
RETRY_SECONDS = 5.0  # after Redis failed, the local limiter counts for this long
_BATCH = 512  # waiters decided in one call
_FIRST_PAUSE, _LAST_PAUSE = 0.01, 0.25  # asking again for another process's running event

# KEYS: per rule i, its running set (2i-1) and ended set (2i). ARGV: lease ms, rule count,
# per rule its limit and per ms, then per waiter its id, rule count and rule numbers.
# Answers per waiter: 0 let in, n > 0 the ms until it may be, -1 not before a running one ends.
_ENTER = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local lease = tonumber(ARGV[1])
local rules = tonumber(ARGV[2])
local function ms(t) return string.format('%.3f', t) end
local limit, per, used, ended = {}, {}, {}, {}
for i = 1, rules do
  local running, done = KEYS[2 * i - 1], KEYS[2 * i]
  limit[i], per[i] = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local lapsed = redis.call('ZRANGEBYSCORE', running, '-inf', ms(now), 'WITHSCORES')
  for j = 1, #lapsed, 2 do
    redis.call('ZADD', done, lapsed[j + 1], lapsed[j])
    redis.call('ZREM', running, lapsed[j])
  end
  redis.call('ZREMRANGEBYSCORE', done, '-inf', ms(now - per[i]))
  ended[i] = redis.call('ZCARD', done)
  used[i] = redis.call('ZCARD', running) + ended[i]
  if #lapsed > 0 then redis.call('PEXPIRE', done, math.ceil(per[i]) + 1000) end
end
local known = {}  -- free_at(i) until the next event of rule i begins
local function free_at(i)
  if known[i] then return known[i] end
  local over = used[i] - limit[i]
  if over < 0 then return now end
  if over >= ended[i] then
    known[i] = -1
  else
    known[i] = tonumber(redis.call('ZRANGE', KEYS[2 * i], over, over, 'WITHSCORES')[2]) + per[i]
  end
  return known[i]
end
local answers = {}
local at = 3 + 2 * rules
while at <= #ARGV do
  local id, count = ARGV[at], tonumber(ARGV[at + 1])
  local free, sure = now, true
  for k = 1, count do
    local f = free_at(tonumber(ARGV[at + 1 + k]))
    if f < 0 then sure = false elseif f > free then free = f end
  end
  if not sure then
    answers[#answers + 1] = -1
  elseif free > now then
    answers[#answers + 1] = math.max(1, math.ceil(free - now))
  else
    for k = 1, count do
      local i = tonumber(ARGV[at + 1 + k])
      redis.call('ZADD', KEYS[2 * i - 1], ms(now + lease), id)
      redis.call('PEXPIRE', KEYS[2 * i - 1], math.ceil(lease) + 1000)
      used[i], known[i] = used[i] + 1, nil
    end
    answers[#answers + 1] = 0
  end
  at = at + 2 + count
end
return answers
"""

# KEYS: per rule its running and ended sets. ARGV: the event's id, then per rule its per ms.
_LEAVE = """
local clock = redis.call('TIME')
local now = string.format('%.3f', tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000)
for i = 1, #KEYS / 2 do
  if redis.call('ZREM', KEYS[2 * i - 1], ARGV[1]) == 1 then
    redis.call('ZADD', KEYS[2 * i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[2 * i], math.ceil(tonumber(ARGV[1 + i])) + 1000)
  end
end
return 0
"""

# KEYS: the running sets of the event's rules. ARGV: the event's id, the lease ms.
_RENEW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local lease = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', string.format('%.3f', now + lease), ARGV[1])
  redis.call('PEXPIRE', KEYS[i], math.ceil(lease) + 1000)
end
return 0
"""


@dataclass(frozen=True, eq=False)
class _Waiter:
    id: str
    rules: tuple[Rule, ...]
    granted: asyncio.Future[bool]  # True: counted in Redis; False: go to the local limiter


class RedisRateLimiter:
    """One namespace's limits (a bot, a token), shared by every process using ``namespace``.

    ``namespace`` goes into the keys as it is: never a secret (use a bot id or a hash).
    """

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        *,
        prefix: str = "otklik",
        lease: float = LEASE_SECONDS,
        local: RateLimiter | None = None,
    ) -> None:
        self._redis = client
        self._keys = f"{prefix}:ratelimit:{{{namespace}}}"  # one hash slot in a cluster
        self._lease_ms = lease * 1000
        self._local = local or RateLimiter()
        self._enter = client.register_script(_ENTER)
        self._leave = client.register_script(_LEAVE)
        self._renew = client.register_script(_RENEW)
        self._queue: list[_Waiter] = []
        self._wake = asyncio.Event()
        self._asking: asyncio.Task[None] | None = None
        self._local_until = -math.inf  # Redis failed: the local limiter counts until then
        self._outage = Outage(log, "rate limits", "each process keeps the limits on its own")

    @asynccontextmanager
    async def slot(self, *rules: Rule) -> AsyncIterator[None]:
        """Enter once one more event fits every rule in all processes; it counts until
        ``per`` after the exit."""
        if not rules or time.monotonic() < self._local_until:
            async with self._local.slot(*rules):
                yield
            return
        waiter = _Waiter(uuid.uuid4().hex, rules, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        self._ask()
        try:
            in_redis = await waiter.granted
        except asyncio.CancelledError:  # let in just as the wait was cancelled: leave again
            if waiter.granted.done() and not waiter.granted.cancelled() and waiter.granted.result():
                await asyncio.shield(self._end(waiter))
            raise
        if not in_redis:
            async with self._local.slot(*rules):
                yield
            return
        renewing = asyncio.create_task(self._keep(waiter), name="rate-limit-lease")
        try:
            yield
        finally:
            renewing.cancel()
            await self._end(waiter)

    def _ask(self) -> None:
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._let_in(), name="rate-limiter-redis")
        else:
            self._wake.set()

    async def _let_in(self) -> None:
        """Ask Redis for the queue until it is empty; sleep between asks as long as allowed."""
        pause = _FIRST_PAUSE
        while self._queue:
            self._wake.clear()
            batch = [w for w in self._queue if not w.granted.done()][:_BATCH]
            try:
                answers = await self._call(self._enter, *self._entering(batch))
            except UNREACHABLE as exc:
                self._go_local(exc)
                return
            self._outage.answered()
            soonest, unknown = math.inf, False
            for waiter, answer in zip(batch, answers, strict=True):
                if answer == 0:
                    if waiter.granted.cancelled():
                        await self._end(waiter)
                    else:
                        waiter.granted.set_result(True)
                elif answer > 0:
                    soonest = min(soonest, answer / 1000)
                else:
                    unknown = True
            self._queue = [w for w in self._queue if not w.granted.done()]
            if unknown:
                soonest, pause = min(soonest, pause), min(2 * pause, _LAST_PAUSE)
            else:
                pause = _FIRST_PAUSE
            if self._queue and not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(None if soonest == math.inf else soonest):
                        await self._wake.wait()

    def _entering(self, batch: list[_Waiter]) -> tuple[list[str], list[str | float]]:
        numbers: dict[str, int] = {}
        keys: list[str] = []
        rules: list[str | float] = []
        asks: list[str | float] = []
        for waiter in batch:
            asks += [waiter.id, len(waiter.rules)]
            for rule in waiter.rules:
                if rule.key not in numbers:
                    numbers[rule.key] = len(numbers) + 1
                    keys += self._sets(rule)
                    rules += [rule.limit, rule.per * 1000]
                asks.append(numbers[rule.key])
        return keys, [self._lease_ms, len(numbers), *rules, *asks]

    def _sets(self, rule: Rule) -> list[str]:
        return [f"{self._keys}:{rule.key}:running", f"{self._keys}:{rule.key}:ended"]

    async def _end(self, waiter: _Waiter) -> None:
        """The event ended; if Redis does not hear it, its lease ends it later."""
        keys = [key for rule in waiter.rules for key in self._sets(rule)]
        try:
            await self._call(self._leave, keys, [waiter.id, *(r.per * 1000 for r in waiter.rules)])
        except UNREACHABLE as exc:
            log.info("rate limits: the end of an event not told to Redis (%s)", exc)
        if self._queue:
            self._ask()

    async def _keep(self, waiter: _Waiter) -> None:
        """Renew the event's lease while its block runs."""
        keys = [self._sets(rule)[0] for rule in waiter.rules]
        while True:
            unless_stopped()
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                await self._call(self._renew, keys, [waiter.id, self._lease_ms])
            except UNREACHABLE as exc:
                unless_stopped()
                log.info("rate limits: a lease not renewed (%s)", exc)

    async def _call(self, script: AsyncScript, keys: list[str], args: list[str | float]) -> Any:
        async with asyncio.timeout(ANSWER_SECONDS):
            return await script(keys, args)

    def _go_local(self, exc: BaseException) -> None:
        self._outage.failed(exc)
        self._local_until = time.monotonic() + RETRY_SECONDS
        for waiter in self._queue:
            if not waiter.granted.done():
                waiter.granted.set_result(False)
        self._queue = []
