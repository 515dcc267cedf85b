"""Agents for tests, made the way an admin makes them: add, then set a password by the link."""

from core.agents import add_agent, complete_setup
from core.clock import utcnow
from core.db import Database
from core.models import Agent, Role


async def make_agent(
    db: Database, login: str, role: Role = Role.AGENT, password: str = "correct horse battery"
) -> Agent:
    new = await add_agent(db, login.capitalize(), login, role, utcnow())
    return await complete_setup(db, new.setup_token, password, utcnow())
