"""Which platform updates were handled already, so one delivered again is skipped.

An adapter asks ``seen`` before handling an update and calls ``mark`` only once it was handled:
an update whose handling failed, or was cut short by a crash, comes through when the platform
delivers it again. This only spares work: the core stores a message once by its platform id
whatever is remembered here.

``RecentUpdates`` remembers the latest ones in this process. ``RedisUpdates`` remembers them
for a day in Redis, for every process serving the inbox; when Redis does not answer it asks
this process's memory instead (which it always keeps too), so an update is never refused or
lost because Redis went away.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as redis

from core.redis_faults import ANSWER_SECONDS, UNREACHABLE, Outage

log = logging.getLogger("otklik.seen")

REMEMBERED = 10_000  # in one process's memory
REMEMBERED_SECONDS = 24 * 3600  # in Redis


class Seen(Protocol):
    async def seen(self, update: str) -> bool: ...

    async def mark(self, update: str) -> None: ...


class RecentUpdates:
    """The latest ``size`` updates handled in this process."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._recent: OrderedDict[str, None] = OrderedDict()

    async def seen(self, update: str) -> bool:
        return update in self._recent

    async def mark(self, update: str) -> None:
        self._recent[update] = None
        if len(self._recent) > self._size:
            self._recent.popitem(last=False)


class RedisUpdates:
    """The updates of one inbox handled by any process, for ``seconds``.

    ``namespace`` (a channel and an inbox name) goes into the keys as it is: never a secret.
    """

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        *,
        prefix: str = "otklik",
        seconds: int = REMEMBERED_SECONDS,
    ) -> None:
        self._redis = client
        self._keys = f"{prefix}:seen:{namespace}"
        self._seconds = seconds
        self._local = RecentUpdates()
        self._outage = Outage(log, self._keys, "each process remembers what it handled")

    async def seen(self, update: str) -> bool:
        if await self._local.seen(update):
            return True
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                found = bool(await self._redis.exists(f"{self._keys}:{update}"))
        except UNREACHABLE as exc:
            self._outage.failed(exc)
            return False
        self._outage.answered()
        return found

    async def mark(self, update: str) -> None:
        await self._local.mark(update)
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                await self._redis.set(f"{self._keys}:{update}", 1, ex=self._seconds)
        except UNREACHABLE as exc:
            self._outage.failed(exc)
            return
        self._outage.answered()
