"""A running Otklik for web tests: the real app on a loopback port over a test database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, or_, select

from core.clock import utcnow
from core.models import Delivery, OutboxItem, Role
from otklik.service import SENDER, build_app
from settings.config import Config, parse_config
from tests.people import make_agent
from web.state import STATE, State

PASSWORD = "correct horse battery"


def service_config(database_url: str, tmp: Path, **overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "locale": "en",
        "database": {"url": database_url},
        "web": {"secret_key": "s" * 40},
        "inbox": [
            {"name": "web", "channel": "webchat", "title": "Acme support"},
            {"name": "shop", "channel": "webchat"},
        ],
    }
    raw.update(overrides)
    (tmp / "dispatcher_rules").mkdir(exist_ok=True)  # the default rules_dir: no rules
    return parse_config(raw, source="test", base_dir=tmp)


@dataclass
class Running:
    server: TestServer
    app: web.Application

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def state(self) -> State:
        return self.app[STATE]

    async def drain_outbox(self) -> int:
        return await self.app[SENDER].drain()

    async def delivered(self, seconds: float = 10.0) -> None:
        """Wait until nothing due is left in the outbox (the service's own sender may hold a
        row this call cannot claim; it is waited for)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            await self.drain_outbox()
            async with self.state.db.reading() as s:
                busy = await s.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(
                        or_(
                            OutboxItem.status == Delivery.SENDING,
                            (OutboxItem.status == Delivery.QUEUED)
                            & (OutboxItem.next_attempt_at <= utcnow()),
                        )
                    )
                )
            if not busy:
                return
            assert loop.time() < deadline, "the outbox did not empty in time"
            await asyncio.sleep(0.05)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[aiohttp.ClientSession]:
        """A browser-like client: keeps cookies (also on 127.0.0.1)."""
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(self.url, cookie_jar=jar) as session:
            yield session

    async def agent_token(self, login: str, role: Role = Role.AGENT) -> str:
        """Create an agent and sign in through the API; returns the bearer token."""
        await make_agent(self.state.db, login, role, PASSWORD)
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{self.url}/api/v1/session", json={"login": login, "password": PASSWORD}
            )
            assert response.status == 201, await response.text()
            return (await response.json())["token"]


@asynccontextmanager
async def running(
    config: Config, port: int | None = None, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[Running]:
    app = await build_app(config, clock)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Running(server, app)
    finally:
        await server.close()
