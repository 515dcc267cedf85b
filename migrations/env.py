"""Alembic environment: runs migrations over the async engine named in the Alembic config."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from core.db import Database
from core.models import Base


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    db = Database(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        async with db.engine.connect() as connection:
            await connection.run_sync(_migrate)
            await connection.commit()
    finally:
        await db.close()


asyncio.run(_online())
