"""A rule engine over the test database, with rule files written by the test and a clock
the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from core import delays, queries
from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.engine.schedule import RuleHook
from core.messages import Inbound, Press
from core.models import Agent, Button, DelayedRun, Message, Ticket


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Rig:
    desk: Desk
    engine: Engine
    rules: LiveRules
    clock: Clock
    folder: Path

    @property
    def db(self) -> Database:
        return self.desk.db

    def write(self, text: str, name: str = "rules.toml") -> None:
        (self.folder / name).write_text(text, encoding="utf-8")
        assert self.rules.reload(), self.rules.problems

    async def say(self, text: str, who: str = "alice", **customer: str) -> int:
        """A customer writes (with a name or email when given); every rule run due now fires.
        Returns the ticket number."""
        got = await self.desk.receive(Inbound(inbox="web", external_id=who, text=text, **customer))
        await self.engine.fire_due()
        return got.ticket_number

    async def press(self, button: Button, who: str = "alice") -> None:
        """A customer presses ``button``; every rule run due now fires."""
        await self.desk.press(Press(inbox="web", external_id=who, button_id=button.id))
        await self.engine.fire_due()

    async def ticket(self, number: int) -> Ticket:
        return await queries.ticket(self.db, number)

    async def buttons(self, number: int) -> list[Button]:
        """The buttons the ticket's replies offered, in the order they were sent."""
        async with self.db.reading() as s:
            found = await s.scalars(
                select(Button)
                .join(Ticket, Ticket.id == Button.ticket_id)
                .where(Ticket.number == number)
                .order_by(Button.message_id, Button.position)
            )
            return list(found.all())

    async def texts(self, number: int, internal: bool | None = False) -> list[str]:
        """The ticket's outgoing texts (internal: notes; None: both), oldest first."""
        async with self.db.reading() as s:
            rows = await s.execute(
                select(Message.text, Message.internal)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Ticket.number == number, Message.direction == "out")
                .order_by(Message.id)
            )
            return [t for t, i in rows if internal is None or i == internal]


def make_engine(desk: Desk, rules: LiveRules, clock: Clock) -> Engine:
    return Engine(desk, rules, Performer("en"), clock=clock)


@asynccontextmanager
async def rig(db: Database, folder: Path, rules: str = "") -> AsyncIterator[Rig]:
    clock = Clock()
    live = LiveRules(folder, clock)
    desk = Desk(db, LocalBus(), clock=clock)
    engine = make_engine(desk, live, clock)
    desk.before_commit(RuleHook(live, engine.wake))
    await desk.sync_inboxes([("web", "webchat")])
    built = Rig(desk, engine, live, clock, folder)
    if rules:
        built.write(rules)
    try:
        yield built
    finally:
        await engine.stop()


async def rows(db: Database, model: type, *where: Any) -> list[Any]:
    """Every row of ``model`` matching ``where``, in id order."""
    async with db.reading() as s:
        return list((await s.scalars(select(model).where(*where).order_by(model.id))).all())


async def deactivate(db: Database, login: str) -> None:
    async with db.transaction() as s:
        await s.execute(update(Agent).where(Agent.login == login).values(active=False))


async def next_due(db: Database) -> datetime | None:
    """When the earliest pending rule run falls due."""
    async with db.reading() as s:
        return await s.scalar(
            select(func.min(DelayedRun.due_at)).where(DelayedRun.state == delays.PENDING)
        )
