"""The database handle: one async engine, transactions as context managers.

On SQLite every transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers wait for the
lock (busy timeout) instead of failing half-way; WAL lets readers go on meanwhile. Within one
process, writers also queue on an asyncio lock first: they then take turns in order instead of
polling SQLite's lock with growing sleeps (which made the slowest writes wait seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_READING = "otklik_reading"
# PostgreSQL's answers that mean "try the same transaction again": a deadlock it broke by
# failing this side, a serialization failure.
_TRY_AGAIN = {"40P01", "40001"}


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` failed a transaction that may succeed as it is when run again."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in _TRY_AGAIN


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 20, max_overflow: int = 10, **engine_args: Any
    ) -> None:
        """``pool_size`` and ``max_overflow``: PostgreSQL's connection pool (SQLite has none
        to size)."""
        self.url = url
        self.engine: AsyncEngine = _engine(url, pool_size, max_overflow, **engine_args)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writers = asyncio.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on exit, rolled back on error."""
        async with self._writers, self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads: on SQLite a plain (deferred) BEGIN, which waits for no writer."""
        async with self._sessions() as session:
            await session.connection(execution_options={_READING: True})
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING on both databases."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


def _engine(url: str, pool_size: int, max_overflow: int, **engine_args: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A pool as large as the concurrency we expect: overflow connections are opened and
        # closed per request, which costs more than the request itself.
        return create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            **engine_args,
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **engine_args)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's own lower() knows only ASCII; searches must match "Иван" with "иван".
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        reading = conn.get_execution_options().get(_READING, False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value
