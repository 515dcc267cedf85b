from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.events import Event
from tests.databases import throwaway_url, wipe
from tests.engine import Rig, rig
from tests.service import running, service_config

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("otklik")


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, session_tmp: Path) -> AsyncIterator[str]:
    """One migrated database per backend for the whole run; tests get it wiped."""
    async with throwaway_url(request.param, session_tmp) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await wipe(database)
    yield database
    await database.close()


class Recorder:
    """Collects every published event, for assertions."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def names(self) -> list[str]:
        return [e.name for e in self.events]

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def desk(db: Database, recorder: Recorder) -> Desk:
    bus = LocalBus()
    bus.subscribe(recorder)
    return Desk(db, bus)


@pytest.fixture
async def service(db: Database, database_url: str, tmp_path: Path):
    """The whole app served on 127.0.0.1 over the wiped test database."""
    async with running(service_config(database_url, tmp_path)) as svc:
        yield svc


@pytest.fixture
async def r(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    """A rule engine over the test database, rules in ``tmp_path`` (tests/engine.py)."""
    async with rig(db, tmp_path) as built:
        yield built


@pytest.fixture
def rules_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The rules' log lines, INFO and up (skipped actions are logged at INFO)."""
    caplog.set_level(logging.INFO, logger="otklik.rules")
    return caplog
