"""Is the database at the newest migration? ``serve`` refuses to start on an old schema."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import Database
from otklik.migrate import alembic_config


async def pending_migrations(db: Database) -> str | None:
    """None when current; else what to tell the admin."""
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    async with db.engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    if current == head:
        return None
    return (
        f"the database is at migration {current or '(empty)'}, the code needs {head}: "
        "run `otklik migrate` first"
    )
