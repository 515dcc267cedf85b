"""One leader among the worker processes, elected through Redis.

The leader does what must happen in exactly one process: polling a platform for updates (two
processes polling one Telegram bot would take each other's updates), reading the IMAP
mailboxes, and working the event bus's groups. Rule runs and outgoing messages need no leader:
every worker claims them from the database.

A process leads while it holds one Redis key: taken with ``SET NX PX ttl``, renewed every third
of ``ttl`` by a script that extends it only if it still holds this process's name, deleted the
same way at a clean stop (so a successor takes over at once). A leader that cannot renew stops
its duties before its key can have expired (it cannot know whether another took over), and a
dead leader's key expires after ``ttl``: a follower, trying every ``ttl / 5``, then leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.stopping import unless_stopped

log = logging.getLogger("otklik.leader")
KEY = "otklik:leader"
Duties = Callable[[], Awaitable[None]]

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RESIGN = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Leading(Protocol):
    leading: bool

    def state(self) -> str: ...

    async def run(self, duties: Duties) -> None: ...


class Leadership:
    def __init__(self, redis: Redis, name: str, *, key: str = KEY, ttl: float = 6.0) -> None:
        self._redis = redis
        self.name = name
        self._key = key
        self._ttl = ttl
        self._valid_until = 0.0  # monotonic: our key cannot have expired before this
        self._renew = redis.register_script(_RENEW)
        self._resign = redis.register_script(_RESIGN)
        self.leading = False

    def state(self) -> str:
        return "leader" if self.leading else "follower"

    async def run(self, duties: Duties) -> None:
        """Campaign until cancelled; run ``duties`` while leading (cancelled when no longer)."""
        working: asyncio.Task[None] | None = None
        try:
            while True:
                unless_stopped()
                held = await self._hold()
                if held and working is None:
                    log.info("%s leads now", self.name)
                    working = asyncio.create_task(duties(), name="otklik-leader-duties")
                elif not held and working is not None:
                    log.warning("%s no longer leads: its duties stop", self.name)
                    await _cancel(working)
                    working = None
                if working is not None and working.done():
                    log.error("the leader's duties ended", exc_info=working.exception())
                    working = None
                    await self._give_up()  # another process may do better
                self.leading = working is not None
                await asyncio.sleep(self._ttl / 3 if self.leading else self._ttl / 5)
        finally:
            self.leading = False
            if working is not None:
                await _cancel(working)
                await asyncio.shield(self._give_up())

    async def _hold(self) -> bool:
        """Take or renew the key; on a Redis failure, lead on only while the key surely holds."""
        asked = time.monotonic()
        ttl_ms = int(self._ttl * 1000)
        try:
            if self.leading:
                # A renewal that hangs must not outlast the key: given up well before.
                left = self._valid_until - asked - self._ttl / 6
                renewal = self._renew(keys=[self._key], args=[self.name, ttl_ms])
                held = bool(await asyncio.wait_for(renewal, timeout=max(left, 0.01)))
            else:
                held = bool(await self._redis.set(self._key, self.name, nx=True, px=ttl_ms))
        except (RedisError, OSError, TimeoutError) as exc:
            unless_stopped()
            log.warning("leader election: Redis failed (%s)", exc)
            # Stop a whole renewal early: the next try comes a third of ttl later.
            return self.leading and time.monotonic() + self._ttl / 3 < self._valid_until
        if held:
            self._valid_until = asked + self._ttl
        return held

    async def _give_up(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._resign(keys=[self._key], args=[self.name])


class Alone:
    """No Redis: the one process leads."""

    leading = True

    def state(self) -> str:
        return "leader"

    async def run(self, duties: Duties) -> None:
        await duties()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
