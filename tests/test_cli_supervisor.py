"""Whom an agent reports to: `otklik agents add --supervisor`, `otklik agents supervisor`."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from core.agents import set_supervisor
from core.db import Database
from core.errors import InvalidInput
from core.models import Agent, Role
from tests.people import make_agent
from tests.test_cli import run, write_config


def supervisors(file: Path) -> dict[str, str | None]:
    async def read() -> dict[str, str | None]:
        db = Database(f"sqlite+aiosqlite:///{file}")
        try:
            async with db.reading() as s:
                agents = (await s.scalars(select(Agent))).all()
        finally:
            await db.close()
        logins = {a.id: a.login for a in agents}
        return {a.login: logins.get(a.supervisor_id) for a in agents}

    return asyncio.run(read())


def test_agents_get_and_change_their_supervisor_by_login(tmp_path: Path):
    path = write_config(tmp_path, "")
    database = tmp_path / "var" / "otklik.db"
    assert run("migrate", config=path).returncode == 0
    assert run("agents", "add", "Sveta", "--role", "supervisor", config=path).returncode == 0
    added = run("agents", "add", "Anna", "--supervisor", "sveta", config=path)
    assert added.returncode == 0, added.stderr
    assert supervisors(database) == {"sveta": None, "anna": "sveta"}

    unknown = run("agents", "add", "Boris", "--supervisor", "nobody", config=path)
    assert unknown.returncode == 2
    assert "no agent has the login 'nobody' (given as the supervisor)" in unknown.stderr
    assert "boris" not in supervisors(database)

    cleared = run("agents", "supervisor", "anna", "--none", config=path)
    assert cleared.returncode == 0, cleared.stderr
    assert supervisors(database)["anna"] is None
    ghost = run("agents", "supervisor", "ghost", "sveta", config=path)
    assert ghost.returncode == 2 and "no agent has the login 'ghost'" in ghost.stderr


async def test_a_supervisor_is_a_supervisor_or_admin_and_not_oneself(db: Database):
    await make_agent(db, "anna")
    await make_agent(db, "boris")
    await make_agent(db, "root", Role.ADMIN)
    with pytest.raises(InvalidInput, match="a supervisor must be a supervisor or an admin"):
        await set_supervisor(db, "anna", "boris")
    with pytest.raises(InvalidInput, match="cannot be their own supervisor"):
        await set_supervisor(db, "root", "root")
    assert (await set_supervisor(db, "Anna", "ROOT")).supervisor_id is not None
    assert (await set_supervisor(db, "anna", None)).supervisor_id is None
