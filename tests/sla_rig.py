"""A rule engine with SLA deadlines over the test database: the service's wiring (the SLA
hook, the rules' hook and the engine sharing one policy from a config), a clock the test
moves (tests/engine.py's, starting Monday 2026-11-23 09:00 UTC)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.engine.schedule import RuleHook
from core.models import DelayedRun, SlaTarget, Ticket
from core.sla.hook import SlaHook
from core.sla.policy import SlaPolicy
from core.sla.timers import HANDLER
from settings.config import parse_config
from tests.engine import Clock, Rig

OFFICE = {  # in UTC, so hand-computed deadlines read plainly
    "timezone": "UTC",
    **{day: ["09:00-13:00", "14:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
}
LEVELS = [
    {
        "name": "VIP",
        "calendar": "office",
        "reaction": "30m",
        "resolution": "4h",
        "if": {"field": "customer.name", "contains": "ACME"},
    },
    {"name": "Default", "calendar": "office", "reaction": "2h", "resolution": "1d"},
]
SLA = {"calendars": {"office": OFFICE}, "sla": {"level": LEVELS}}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November/December 2026 in UTC (day 23 is a Monday; 31 is December 1)."""
    month, day = (11, day) if day <= 30 else (12, day - 30)
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def policy(config: dict[str, Any] | None = None, tmp: Path = Path(".")) -> SlaPolicy:
    """The policy a config.toml of ``config`` gives (``SLA`` by default)."""
    raw = SLA if config is None else config
    inboxes = raw.get("inbox", [{"name": "web", "channel": "webchat"}])
    return parse_config({**raw, "inbox": inboxes}, source="test", base_dir=tmp).sla_policy


@asynccontextmanager
async def sla_rig(db: Database, folder: Path, sla: SlaPolicy) -> AsyncIterator[Rig]:
    clock = Clock()
    live = LiveRules(folder, clock)
    desk = Desk(db, LocalBus(), clock=clock)
    engine = make_engine(desk, live, clock, sla)
    desk.before_commit(SlaHook(sla))
    desk.before_commit(RuleHook(live, engine.wake, sla))
    await desk.sync_inboxes([("web", "webchat")])
    try:
        yield Rig(desk, engine, live, clock, folder)
    finally:
        await engine.stop()


def make_engine(desk: Desk, rules: LiveRules, clock: Clock, sla: SlaPolicy) -> Engine:
    """An engine as another process (or the same one after a restart) would run it."""
    return Engine(desk, rules, Performer("en"), clock=clock, sla=sla)


async def targets(db: Database, number: int) -> dict[str, SlaTarget]:
    """The ticket's deadline rows by target."""
    async with db.reading() as s:
        rows = await s.scalars(
            select(SlaTarget)
            .join(Ticket, Ticket.id == SlaTarget.ticket_id)
            .where(Ticket.number == number)
        )
        return {row.target: row for row in rows}


async def timers(db: Database, state: str = "pending") -> list[tuple[str, datetime]]:
    """The SLA timers in ``state``: (event, when), soonest first."""
    async with db.reading() as s:
        rows = await s.execute(
            select(DelayedRun.event_name, DelayedRun.due_at)
            .where(DelayedRun.rule_id == HANDLER, DelayedRun.state == state)
            .order_by(DelayedRun.due_at, DelayedRun.id)
        )
        return [(name, due) for name, due in rows]
