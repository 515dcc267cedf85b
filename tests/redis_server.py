"""The real Redis the tests use, and a fresh key prefix per test so runs never meet."""

from __future__ import annotations

import os
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

REDIS = os.environ.get("OTKLIK_TEST_REDIS", "redis://127.0.0.1:6379/0")
NO_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def prefix() -> str:
    return f"otklik-test-{uuid.uuid4().hex[:10]}"


async def reachable_redis() -> Redis:
    """A client of the test Redis; skips the test when it is down, fails it under CI."""
    client = Redis.from_url(REDIS, socket_connect_timeout=5)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS} ({exc}); `make test` starts it")
        pytest.skip(f"Redis is not reachable at {REDIS}")
    return client


async def forget(client: Redis, prefix: str) -> None:
    """Delete the keys a test made under ``prefix``."""
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
