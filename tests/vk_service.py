"""A running service with one VK inbox over the fake VK API, for the tests/test_vk*.py files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core import queries
from core.clock import utcnow
from core.db import Database
from tests.fakes.vk import FakeVk, VkUser
from tests.service import Running, running, service_config

TOKEN = "vk1." + "t" * 60
GROUP = 218_000_001
SECRET = "CallbackSecret42"
CONFIRMATION = "a1b2c3d4"
ALICE = VkUser(501, "Alice", "Smith")
MALLORY = VkUser(502, "Mallory")
RETRY_SECONDS = 0.3  # the sender's first back-off, short for tests


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk(TOKEN, GROUP, secret=SECRET) as fake:
        fake.add_user(ALICE)
        fake.add_user(MALLORY)
        yield fake


async def _service(
    db: Database,
    url: str,
    tmp: Path,
    vk: FakeVk,
    mode: str,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Running]:
    inbox: dict[str, Any] = {
        "name": "vk",
        "channel": "vk",
        "token": TOKEN,
        "group_id": GROUP,
        "mode": mode,
        "api_url": vk.base_url,
    }
    if mode == "callback":
        inbox |= {"secret": SECRET, "confirmation": CONFIRMATION}
    sender = {"first_retry_seconds": RETRY_SECONDS}
    config = service_config(url, tmp, inbox=[inbox], sender=sender)
    async with running(config, clock=clock) as svc:
        yield svc


@pytest.fixture
async def svc(db: Database, database_url: str, tmp_path: Path, vk: FakeVk):
    async for running_service in _service(db, database_url, tmp_path, vk, "callback"):
        yield running_service


def hook(svc: Running) -> str:
    return f"{svc.url}/webhooks/vk/vk"


async def delivered(vk: FakeVk, svc: Running, update: dict) -> None:
    status, body = await vk.post(hook(svc), update)
    assert (status, body) == (200, "ok")


async def tickets(db: Database) -> list:
    return list((await queries.tickets(db, queries.TicketFilter(status=None)))[0])


async def alice_ticket(vk: FakeVk, svc: Running, text: str = "Where is my order?") -> Any:
    await delivered(vk, svc, vk.message_new(ALICE, text))
    [ticket] = await tickets(svc.state.db)
    return ticket
