"""Two engines, as two processes over one PostgreSQL database, fire every rule run once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import delays
from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.engine.schedule import RuleHook
from core.messages import Inbound
from core.models import DelayedRun, Message, RuleStat, Ticket
from tests.engine import Clock

TICKETS = 40
RULES = """
[[rule]]
id = "ack"
on = "ticket.created"
then = [{ action = "reply", text = "Request #{{ ticket.number }} registered" }]

[[rule]]
id = "seen"
on = "message.received"
then = [{ action = "note", text = "seen: {{ message.text }}" }]

[[rule]]
id = "later"
on = "message.received"
delay = "1h"
then = [{ action = "note", text = "an hour after: {{ message.text }}" }]
"""


@asynccontextmanager
async def process(url: str, folder: Path, clock: Clock) -> AsyncIterator[tuple[Desk, Engine]]:
    """What one ``otklik serve`` process holds: its own database pool, desk, rules, engine."""
    db = Database(url)
    rules = LiveRules(folder, clock)
    assert rules.reload(), rules.problems
    desk = Desk(db, LocalBus(), clock=clock)
    # small batches: the two engines claim in turns, not one of them everything at once
    engine = Engine(desk, rules, Performer("en"), clock=clock, batch=8, parallel=8)
    desk.before_commit(RuleHook(rules, engine.wake))
    await desk.sync_inboxes([("web", "webchat")])
    try:
        yield desk, engine
    finally:
        await engine.stop()
        await db.close()


async def test_two_engines_racing_fire_each_run_exactly_once(db: Database, tmp_path: Path):
    if db.dialect != "postgresql":
        pytest.skip("rival engines are separate processes; SQLite serves one process")
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    clock = Clock()
    async with (
        process(db.url, tmp_path, clock) as (desk, one),
        process(db.url, tmp_path, clock) as (_, two),
    ):
        for i in range(TICKETS):  # per ticket: ack, seen twice, later twice
            await desk.receive(Inbound(inbox="web", external_id=f"c{i}", text="first"))
            await desk.receive(Inbound(inbox="web", external_id=f"c{i}", text="second"))
        clock.advance(hours=1)  # the delayed runs are due with the immediate ones
        fired = await asyncio.gather(one.fire_due(), two.fire_due())
        assert await one.fire_due() == await two.fire_due() == 0

    runs = 5 * TICKETS
    assert sum(fired) == runs
    assert all(fired), f"both engines should have fired some runs, got {fired}"
    async with db.reading() as s:
        states = Counter((await s.scalars(select(DelayedRun.state))).all())
        texts = Counter(
            (number, text)
            for number, text in await s.execute(
                select(Ticket.number, Message.text)
                .join(Message, Message.ticket_id == Ticket.id)
                .where(Message.direction == "out")
            )
        )
        stats = {row.rule_id: row.fired for row in await s.scalars(select(RuleStat))}
        tickets = await s.scalar(select(func.count()).select_from(Ticket))
    assert states == {delays.DONE: runs}
    assert tickets == TICKETS
    expected = Counter()
    for number in range(1, TICKETS + 1):
        for text in (
            f"Request #{number} registered",
            "seen: first",
            "seen: second",
            "an hour after: first",
            "an hour after: second",
        ):
            expected[number, text] = 1
    assert texts == expected
    assert stats == {"ack": TICKETS, "seen": 2 * TICKETS, "later": 2 * TICKETS}


async def test_a_ticket_s_later_run_waits_while_another_process_holds_an_earlier_one(
    db: Database, tmp_path: Path
):
    if db.dialect != "postgresql":
        pytest.skip("rival engines are separate processes; SQLite serves one process")
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    clock = Clock()
    async with process(db.url, tmp_path, clock) as (desk, engine):
        got = await desk.receive(Inbound(inbox="web", external_id="c", text="first"))
        await desk.receive(Inbound(inbox="web", external_id="c", text="second"))
        # another process claims the ticket's first run and is slow to fire it: it gets
        # that one only, and this engine gets none of the ticket's later runs meanwhile
        held = await delays.claim(db, clock(), timedelta(minutes=1), "rival", limit=10)
        assert [d.event_name for d in held] == ["ticket.created"]
        assert await engine.fire_due() == 0
    async with db.reading() as s:
        notes = (
            await s.scalars(
                select(Message.text)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Ticket.number == got.ticket_number, Message.internal.is_(True))
            )
        ).all()
    assert "seen: second" not in notes  # not before "seen: first", which is still held
