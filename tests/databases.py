"""Throw-away databases for a test run: a SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from core.db import Database
from core.models import Base
from otklik.migrate import upgrade_async

PG_ADMIN = os.environ.get("OTKLIK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_reachable() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@asynccontextmanager
async def throwaway_url(backend: str, tmp: Path) -> AsyncIterator[str]:
    """A migrated, empty database of ``backend`` that is dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / f'otklik-{uuid.uuid4().hex[:8]}.db'}"
        await upgrade_async(url)
        yield url
        return
    if not await _pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}; `make test` starts it")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}")
    name = f"otklik_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        # FORCE ends the test's own leftover connections; the timeout keeps a stuck drop
        # (another session holding a lock) from hanging the run: the database is then left.
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=60)
        except (TimeoutError, asyncpg.PostgresError) as exc:
            print(f"could not drop the test database {name}: {exc!r}")
        await admin.close(timeout=10)


async def wipe(db: Database) -> None:
    """Empty every table (the counter back to zero) between tests."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with db.transaction() as s:
        if db.dialect == "postgresql":
            await s.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            await s.execute(text("ALTER SEQUENCE ticket_numbers RESTART"))
        else:
            for table in tables:
                await s.execute(text(f"DELETE FROM {table}"))
