"""Waiting a bounded time for work that must not be cut off half-way.

A database query cancelled while its connection is being opened leaks that connection:
SQLAlchemy's pool loses count of it, and the server keeps it. /healthz and /metrics asked
every few seconds while the database was away leaked dozens per process until PostgreSQL
refused everyone ("too many clients"). So the work goes on in the background and ends by
itself (the driver's own timeouts); only the wait for it is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
_running: set[asyncio.Future[object]] = set()


async def at_most(seconds: float, work: Awaitable[T]) -> T:
    """``work``'s result, or TimeoutError after ``seconds`` (``work`` then goes on)."""
    future = asyncio.ensure_future(work)
    _running.add(future)
    future.add_done_callback(_forget)
    async with asyncio.timeout(seconds):
        return await asyncio.shield(future)


def _forget(future: asyncio.Future[object]) -> None:
    _running.discard(future)
    if not future.cancelled():
        future.exception()  # retrieved: a late failure is not "never retrieved"
