"""What the benchmarks share: throw-away databases, a loopback server, the figures of a load."""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import redis.asyncio as redis
from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy import Column, Integer, MetaData, String, Table, Text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.models import UTCDateTime
from otklik.migrate import upgrade_async

TARGET = 1 / 3  # the pipeline's throughput against the floor's
PG_ADMIN = os.environ.get("OTKLIK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

_floor_metadata = MetaData()
FLOOR_TABLE = Table(
    "bench_floor",
    _floor_metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


@dataclass
class Outcome:
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds the client process used while measuring
    server_cpu: float = 0.0  # the same for the server process (all its threads)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, p: int) -> float:
        """The nearest-rank percentile of the latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] * 1000


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def sqlite_database(tmp: Path) -> AsyncIterator[str | None]:
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await upgrade_async(url)
    yield url


@asynccontextmanager
async def postgres_database(_tmp: Path) -> AsyncIterator[str | None]:
    """A migrated throw-away database, dropped afterwards; None when unreachable."""
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL at {PG_ADMIN} is not reachable ({exc}); skipped.\n")
        yield None
        return
    name = f"otklik_bench_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{name}"
        await upgrade_async(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


BACKENDS: dict[str, Callable[[Path], AbstractAsyncContextManager[str | None]]] = {
    "SQLite": sqlite_database,
    "PostgreSQL": postgres_database,
}


async def each_backend(run: Callable[[str, str, Path], Awaitable[bool]]) -> int:
    """``run(backend, url, tmp)`` on each reachable database; 1 if any run failed."""
    failed = False
    for backend, database in BACKENDS.items():
        with tempfile.TemporaryDirectory(prefix="otklik-bench-") as tmp:
            async with database(Path(tmp)) as url:
                if url is None:
                    continue
                failed = not await run(backend, url, Path(tmp)) or failed
    return 1 if failed else 0


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("expected a whole number ≥ 1")
    return number


def meets(met: bool) -> str:
    return "meets the target" if met else "MISSES the target"


async def redis_unreachable(url: str) -> str | None:
    """Why Redis at ``url`` does not answer, or None when it does."""
    probe = redis.from_url(url)
    try:
        await probe.ping()
    except (RedisError, OSError) as exc:
        return f"Redis at {url} is not reachable ({exc}); `make services` starts it."
    finally:
        await probe.aclose()
    return None
