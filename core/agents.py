"""Agents: accounts, one-time setup links, passwords (argon2) and sign-in sessions."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.errors import Forbidden, InvalidInput, NotFound
from core.models import Agent, AgentSession, Role

SETUP_VALID = timedelta(days=3)
SESSION_VALID = timedelta(days=14)
LINK_VALID = timedelta(minutes=30)
MIN_PASSWORD = 10
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")  # what an agent's login may be
_hasher = PasswordHasher()


def _digest(token: str) -> str:
    """Tokens are stored as digests: a leaked table holds no usable link or session."""
    return hashlib.sha256(token.encode()).hexdigest()


def login_from_name(name: str) -> str | None:
    login = ".".join(name.lower().split())
    return login if LOGIN.match(login) else None


@dataclass(frozen=True)
class NewAgent:
    agent: Agent
    setup_token: str


async def add_agent(
    db: Database,
    name: str,
    login: str,
    role: Role,
    now: datetime,
    telegram_id: int | None = None,
    supervisor: str | None = None,
) -> NewAgent:
    """Create an agent with no password and a one-time setup token valid for three days;
    ``supervisor`` is the login of whom the agent's tasks "for the supervisor" go to."""
    if not name.strip():
        raise InvalidInput("an agent needs a name")
    if not LOGIN.match(login):
        raise InvalidInput(f"login {login!r}: expected 2-100 of a-z 0-9 . _ -")
    token = secrets.token_urlsafe(24)
    async with db.transaction() as s:
        if await s.scalar(select(Agent.id).where(Agent.login == login)):
            raise InvalidInput(f"login {login!r} is taken")
        if telegram_id is not None and await s.scalar(
            select(Agent.id).where(Agent.telegram_id == telegram_id)
        ):
            raise InvalidInput(f"Telegram user {telegram_id} is linked to another agent")
        boss = await _supervisor(s, supervisor) if supervisor is not None else None
        agent = Agent(
            name=name.strip(),
            login=login,
            role=role,
            telegram_id=telegram_id,
            supervisor_id=boss.id if boss else None,
            setup_token_hash=_digest(token),
            setup_expires_at=now + SETUP_VALID,
            created_at=now,
        )
        s.add(agent)
    return NewAgent(agent, token)


async def set_supervisor(db: Database, login: str, supervisor: str | None) -> Agent:
    """Make the agent ``login`` report to the agent ``supervisor`` (a login), or to nobody."""
    async with db.transaction() as s:
        agent = await s.scalar(select(Agent).where(Agent.login == login.lower()).with_for_update())
        if agent is None:
            raise NotFound(f"no agent has the login {login!r}")
        boss = await _supervisor(s, supervisor) if supervisor is not None else None
        if boss is not None and boss.id == agent.id:
            raise InvalidInput(f"{agent.login} cannot be their own supervisor")
        agent.supervisor_id = boss.id if boss else None
    return agent


async def _supervisor(s: AsyncSession, login: str) -> Agent:
    boss = await s.scalar(select(Agent).where(Agent.login == login.lower()))
    if boss is None:
        raise NotFound(f"no agent has the login {login!r} (given as the supervisor)")
    if boss.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise InvalidInput(
            f"{boss.login} is an {boss.role}: a supervisor must be a supervisor or an admin"
        )
    return boss


async def renew_setup(db: Database, agent_id: int, now: datetime) -> str:
    """A fresh one-time setup token for an agent; any earlier one stops working."""
    token = secrets.token_urlsafe(24)
    async with db.transaction() as s:
        agent = await s.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        agent.setup_token_hash = _digest(token)
        agent.setup_expires_at = now + SETUP_VALID
    return token


async def agent_for_setup(db: Database, token: str, now: datetime) -> Agent | None:
    async with db.reading() as s:
        agent = await s.scalar(select(Agent).where(Agent.setup_token_hash == _digest(token)))
    if agent is None or agent.setup_expires_at is None or agent.setup_expires_at < now:
        return None
    return agent


async def complete_setup(db: Database, token: str, password: str, now: datetime) -> Agent:
    """Set the password through a setup link; the link then stops working."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    hashed = await asyncio.to_thread(_hasher.hash, password)
    async with db.transaction() as s:
        agent = await s.scalar(
            select(Agent).where(Agent.setup_token_hash == _digest(token)).with_for_update()
        )
        if agent is None or agent.setup_expires_at is None or agent.setup_expires_at < now:
            raise Forbidden("this setup link is used up or expired; ask an admin for a new one")
        agent.password_hash = hashed
        agent.setup_token_hash = None
        agent.setup_expires_at = None
    return agent


async def authenticate(db: Database, login: str, password: str) -> Agent | None:
    async with db.reading() as s:
        agent = await s.scalar(select(Agent).where(Agent.login == login.strip().lower()))
    stored = agent.password_hash if agent and agent.active else None
    try:
        # Verify against a dummy hash for unknown logins, so timing does not tell them apart.
        ok = await asyncio.to_thread(_hasher.verify, stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    return agent if ok and stored else None


@dataclass(frozen=True)
class Session:
    agent: Agent
    csrf_token: str


async def open_session(db: Database, agent: Agent, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    async with db.transaction() as s:
        s.add(
            AgentSession(
                token_hash=_digest(token),
                agent_id=agent.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_VALID,
            )
        )
        await s.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    return token


async def session_for(db: Database, token: str, now: datetime) -> Session | None:
    async with db.reading() as s:
        row = await s.scalar(select(AgentSession).where(AgentSession.token_hash == _digest(token)))
    if row is None or row.expires_at < now or not row.agent.active:
        return None
    return Session(row.agent, row.csrf_token)


async def close_session(db: Database, token: str) -> None:
    async with db.transaction() as s:
        await s.execute(delete(AgentSession).where(AgentSession.token_hash == _digest(token)))


async def count_with_password(db: Database) -> int:
    async with db.reading() as s:
        return (
            await s.scalar(
                select(func.count()).select_from(Agent).where(Agent.password_hash.is_not(None))
            )
            or 0
        )


async def link_code(db: Database, agent_id: int, now: datetime) -> str:
    """A one-time code that links the agent's Telegram account when sent to the bot."""
    code = secrets.token_urlsafe(12)
    async with db.transaction() as s:
        agent = await s.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        agent.link_code_hash = _digest(code)
        agent.link_expires_at = now + LINK_VALID
    return code


async def link_telegram(db: Database, code: str, telegram_id: int, now: datetime) -> Agent:
    """Link the Telegram account ``telegram_id`` to the agent whose code this is."""
    async with db.transaction() as s:
        agent = await s.scalar(
            select(Agent).where(Agent.link_code_hash == _digest(code)).with_for_update()
        )
        if agent is None or agent.link_expires_at is None or agent.link_expires_at < now:
            raise Forbidden("this link code is used up or expired; make a new one in the inbox")
        other = await s.scalar(
            select(Agent).where(Agent.telegram_id == telegram_id, Agent.id != agent.id)
        )
        if other is not None:
            raise InvalidInput(f"this Telegram account is linked to {other.name} already")
        agent.telegram_id = telegram_id
        agent.link_code_hash = None
        agent.link_expires_at = None
    return agent


async def unlink_telegram(db: Database, agent_id: int) -> None:
    async with db.transaction() as s:
        agent = await s.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        agent.telegram_id = None


async def by_telegram(db: Database, telegram_id: int) -> Agent | None:
    async with db.reading() as s:
        return await s.scalar(
            select(Agent).where(Agent.telegram_id == telegram_id, Agent.active.is_(True))
        )


async def by_login(db: Database, login: str) -> Agent | None:
    async with db.reading() as s:
        return await s.scalar(select(Agent).where(Agent.login == login.lower()))


async def first_admin_setup(db: Database, now: datetime) -> str | None:
    """While no agent can sign in, a fresh setup token for the first admin (made if missing)."""
    if await count_with_password(db):
        return None
    async with db.reading() as s:
        admin = await s.scalar(select(Agent).where(Agent.role == Role.ADMIN).order_by(Agent.id))
    if admin is None:
        return (await add_agent(db, "Administrator", "admin", Role.ADMIN, now)).setup_token
    return await renew_setup(db, admin.id, now)


_DUMMY = _hasher.hash(secrets.token_hex(16))
