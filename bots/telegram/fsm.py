"""aiogram's FSM states in Redis for every process serving a bot, and in memory while it is gone.

aiogram reads the state of the sender of every update before any handler runs, so a bare
``RedisStorage`` would fail every update while Redis is away and Telegram would get 500s until
it came back. ``SharedStorage`` hands each call to a ``RedisStorage`` keyed by the bot id
(``DefaultKeyBuilder(with_bot_id=True)``) and, when Redis does not answer, to this process's
``MemoryStorage`` with a warning. It leaves the Redis client open: it is the service's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
from redis.asyncio import Redis

from core.redis_faults import ANSWER_SECONDS, UNREACHABLE, Outage

log = logging.getLogger("otklik.telegram")
T = TypeVar("T")


class SharedStorage(BaseStorage):
    def __init__(self, client: Redis, prefix: str = "otklik") -> None:
        keys = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_bot_id=True)
        self.redis = RedisStorage(client, key_builder=keys)
        self.memory = MemoryStorage()
        self._outage = Outage(log, "FSM states", "kept in this process's memory")

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        await self._either(lambda s: s.set_state(key, state))

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._either(lambda s: s.get_state(key))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._either(lambda s: s.set_data(key, data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._either(lambda s: s.get_data(key))

    async def close(self) -> None:
        await self.memory.close()

    async def _either(self, call: Callable[[BaseStorage], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                answer = await call(self.redis)
        except UNREACHABLE as exc:
            self._outage.failed(exc)
            return await call(self.memory)
        self._outage.answered()
        return answer
