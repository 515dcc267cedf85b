"""The tests' Redis: a client with a key prefix of the test's own, and a proxy that can go away.

Redis must run at ``OTKLIK_TEST_REDIS`` (``make test`` starts it); when it does not, a test
using it fails under CI=true and is skipped elsewhere. Every key a test writes holds its
``unique`` marker and is deleted afterwards.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis
from redis.exceptions import RedisError

from tests.tcp_proxy import TcpProxy

REDIS_URL = os.environ.get("OTKLIK_TEST_REDIS", "redis://127.0.0.1:6379/0")
CLOSED_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
async def redis_url() -> str:
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); `make test` starts it")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        await client.aclose()
    return REDIS_URL


async def delete_keys(url: str, marker: str) -> None:
    """Delete every key holding ``marker``."""
    client = redis.from_url(url)
    async for key in client.scan_iter(match=f"*{marker}*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def unique(redis_url: str) -> AsyncIterator[str]:
    """A marker to put in every key (a prefix, an inbox name); its keys go afterwards."""
    marker = f"t{uuid.uuid4().hex[:12]}"
    yield marker
    await delete_keys(redis_url, marker)


@pytest.fixture
async def bot_token(redis_url: str) -> AsyncIterator[str]:
    """The token of a bot id no other test uses; the keys holding that id go afterwards."""
    bot_id = random.randrange(10**9, 10**10)
    yield f"{bot_id}:AAE{'x' * 32}"
    await delete_keys(redis_url, str(bot_id))


@pytest.fixture
async def connect(redis_url: str) -> AsyncIterator[Callable[..., redis.Redis]]:
    """``connect(url=REDIS_URL)``: a new client (a process of its own), closed afterwards."""
    clients: list[redis.Redis] = []

    def new(url: str = redis_url) -> redis.Redis:
        client = redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        clients.append(client)
        return client

    yield new
    for client in clients:
        await client.aclose()


class RedisProxy(TcpProxy):
    """Redis behind a ``TcpProxy``."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[RedisProxy]:
    proxy = RedisProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    await proxy.mend()
    yield proxy
    if proxy.up:
        await proxy.cut()
