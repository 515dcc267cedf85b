"""/healthz: the database, Redis when configured, and this process's scheduler."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.db import Database
from tests.redis_server import CLOSED_URL, redis_url, unique
from tests.service import Running, running, service_config
from tests.waiting import eventually
from web import health

__all__ = ["redis_url", "unique"]  # fixtures


async def healthz(svc: Running) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{svc.url}/healthz")
        return response.status, await response.json()


async def test_a_healthy_process_without_redis(service: Running):
    assert await healthz(service) == (
        200,
        {"status": "ok", "database": "ok", "scheduler": "running", "leader": "leader"},
    )


async def test_redis_is_pinged_when_configured(
    db: Database, database_url: str, tmp_path: Path, redis_url: str, unique: str
):
    config = service_config(database_url, tmp_path, redis={"url": redis_url, "prefix": unique})
    async with running(config) as svc:
        await eventually(lambda: svc.state.leadership.leading)
        assert await healthz(svc) == (
            200,
            {
                "status": "ok",
                "database": "ok",
                "redis": "ok",
                "scheduler": "running",
                "leader": "leader",
            },
        )


async def test_unreachable_redis_answers_503_naming_it(
    db: Database, database_url: str, tmp_path: Path, unique: str
):
    config = service_config(database_url, tmp_path, redis={"url": CLOSED_URL, "prefix": unique})
    async with running(config) as svc:
        status, body = await healthz(svc)
    assert status == 503
    assert body["status"] == "unavailable" and body["redis"].startswith("unreachable: ")
    assert (body["database"], body["scheduler"], body["leader"]) == ("ok", "running", "follower")


async def test_unreachable_database_answers_503_naming_it(service: Running):
    state = service.state
    reachable = state.db
    state.db = Database("postgresql+asyncpg://otklik@127.0.0.1:1/gone")
    try:
        status, body = await healthz(service)
    finally:
        await state.db.close()
        state.db = reachable
    assert status == 503 and body["database"].startswith("unreachable: ")
    assert body["status"] == "unavailable"


async def test_a_scheduler_loop_that_ended_answers_503(service: Running):
    [loop] = [t for t in asyncio.all_tasks() if t.get_name() == "otklik-rules"]
    loop.cancel()
    await asyncio.wait([loop])
    status, body = await healthz(service)
    assert status == 503 and body["scheduler"] == "stopped"


async def test_a_scheduler_loop_that_stopped_going_round_is_stalled(
    service: Running, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(health, "STALLED_AFTER", -1.0)
    status, body = await healthz(service)
    assert status == 503 and body["scheduler"].startswith("stalled: no round for ")
