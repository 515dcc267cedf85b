"""Escalations: sla.*_warning and sla.*_breached fired once per deadline through the rule
engine's durable timers, across restarts and rival processes, re-armed when a deadline moves.

Office calendar of tests/sla_rig.py (UTC, Mon-Fri 09-13 and 14-18), warnings 30 minutes of
working time ahead; the clock starts on Monday 2026-11-23 at 09:00.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database
from core.models import Notification, Role, Ticket, TicketStatus
from tests.engine import Rig, rows
from tests.people import make_agent
from tests.sla_rig import at, make_engine, policy, sla_rig, targets, timers

NOTES = """
[[rule]]
id = "sla-note"
on = ["sla.reaction_warning", "sla.resolution_warning", "sla.reaction_breached",
      "sla.resolution_breached"]
[[rule.then]]
action = "note"
text.en = "{{ sla.target }} {{ sla.level }} {{ sla.time_left }} due {{ sla.due_at }}"
text.ru = "{{ sla.target }} {{ sla.level }} {{ sla.time_left }} due {{ sla.due_at }}"
"""
SHIPPED = Path(__file__).resolve().parent.parent / "dispatcher_rules" / "80-sla.toml"


@pytest.fixture
async def s(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    async with sla_rig(db, tmp_path, policy()) as built:
        built.write(NOTES)
        yield built


async def notes(s: Rig, number: int) -> list[str]:
    return await s.texts(number, internal=True)


async def test_the_reaction_warns_then_breaches_once_each(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # reaction due 11:00
    await s.desk.assign(number, ann, ann.id)
    s.clock.now = at(23, 10, 29)
    await s.engine.fire_due()
    assert await notes(s, number) == []
    s.clock.now = at(23, 10, 30)
    await s.engine.fire_due()
    await s.engine.fire_due()
    due = "2026-11-23T11:00:00+00:00"
    assert await notes(s, number) == [f"reaction Default 30m due {due}"]
    s.clock.now = at(23, 11)
    await s.engine.fire_due()
    s.clock.advance(hours=5)
    await s.engine.fire_due()
    assert await notes(s, number) == [
        f"reaction Default 30m due {due}",
        f"reaction Default 0m due {due}",
    ]
    reaction = (await targets(s.db, number))["reaction"]
    assert (reaction.breached, reaction.agent_id, reaction.met_at) == (True, ann.id, None)
    await s.desk.reply(number, ann, "Sorry for the wait")  # met late: nothing fires again
    s.clock.advance(hours=1)
    await s.engine.fire_due()
    assert len(await notes(s, number)) == 2
    reaction = (await targets(s.db, number))["reaction"]
    assert (reaction.breached, reaction.met_at) == (True, at(23, 16))


async def test_a_reaction_in_time_disarms_its_timers(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")
    s.clock.advance(minutes=15)
    await s.desk.reply(number, ann, "On it")
    s.clock.now = at(23, 12)
    await s.engine.fire_due()
    assert await notes(s, number) == []
    assert [name for name, _ in await timers(s.db, "cancelled")] == [
        "sla.reaction_warning",
        "sla.reaction_breached",
    ]


async def test_timers_fire_once_after_a_restart_and_a_late_warning_is_dropped(s: Rig, db: Database):
    number = await s.say("hello")  # reaction: warning 10:30, breach 11:00
    await s.engine.stop()  # the process goes down with both timers pending
    s.clock.now = at(23, 11, 5)
    second = make_engine(s.desk, s.rules, s.clock, policy())
    third = make_engine(s.desk, s.rules, s.clock, policy())
    await second.fire_due()
    assert await third.fire_due() == 0
    await second.stop()
    await third.stop()
    # The warning's moment passed with its deadline: only the breach is told.
    assert await notes(s, number) == ["reaction Default 0m due 2026-11-23T11:00:00+00:00"]
    assert await timers(db) == [
        ("sla.resolution_warning", at(25, 17, 30)),
        ("sla.resolution_breached", at(25, 18)),
    ]
    assert len(await timers(db, "done")) == 1


async def test_two_processes_claiming_at_once_fire_a_timer_once(s: Rig):
    number = await s.say("hello")
    s.clock.now = at(23, 10, 45)
    rival = make_engine(s.desk, s.rules, s.clock, policy())
    await asyncio.gather(s.engine.fire_due(), rival.fire_due())
    await rival.stop()
    assert len(await notes(s, number)) == 1


async def test_a_moved_deadline_re_arms_its_timers(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # resolution due Wed 18:00
    await s.desk.reply(number, ann, "Please send the invoice")
    s.clock.advance(hours=1)
    await s.desk.set_status(number, ann, TicketStatus.WAITING)  # Mon 10:00
    assert await timers(s.db) == []
    s.clock.advance(hours=2)
    await s.desk.set_status(number, ann, TicketStatus.OPEN)  # Mon 12:00: 2h waited
    assert await timers(s.db) == [
        ("sla.resolution_warning", at(26, 10, 30)),
        ("sla.resolution_breached", at(26, 11)),
    ]
    s.clock.now = at(25, 17, 45)  # the first deadline's warning time: nothing now
    await s.engine.fire_due()
    assert await notes(s, number) == []
    s.clock.now = at(26, 10, 30)
    await s.engine.fire_due()
    s.clock.now = at(26, 11)
    await s.engine.fire_due()
    due = "2026-11-26T11:00:00+00:00"
    assert await notes(s, number) == [
        f"resolution Default 30m due {due}",
        f"resolution Default 0m due {due}",
    ]
    resolution = (await targets(s.db, number))["resolution"]
    assert (resolution.breached, resolution.agent_id) == (True, ann.id)


async def test_a_pause_that_takes_no_working_time_keeps_the_deadline_and_its_timers(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")
    await s.desk.reply(number, ann, "Anything else?")
    s.clock.now = at(23, 18, 30)  # after hours
    await s.desk.set_status(number, ann, TicketStatus.WAITING)
    s.clock.now = at(24, 8)
    await s.desk.set_status(number, ann, TicketStatus.OPEN)
    assert await timers(s.db) == [
        ("sla.resolution_warning", at(25, 17, 30)),
        ("sla.resolution_breached", at(25, 18)),
    ]
    for moment in (at(25, 17, 30), at(25, 18)):
        s.clock.now = moment
        await s.engine.fire_due()
    assert len(await notes(s, number)) == 2


async def test_a_breach_already_recorded_stays_and_is_not_told_again_after_a_reopen(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("down", customer_name="ACME")  # VIP: resolution due 13:00
    await s.desk.reply(number, ann, "Looking")
    for moment in (at(23, 12, 30), at(23, 13)):
        s.clock.now = moment
        await s.engine.fire_due()
    s.clock.now = at(23, 15)
    await s.desk.set_status(number, ann, TicketStatus.CLOSED)
    s.clock.now = at(24, 9)
    await s.desk.set_status(number, ann, TicketStatus.OPEN)
    s.clock.now = at(30, 9)
    await s.engine.fire_due()
    resolution = (await targets(s.db, number))["resolution"]
    assert (resolution.breached, resolution.met_at, resolution.agent_id) == (True, None, ann.id)
    assert resolution.due_at == at(23, 17)  # moved by the 3 working hours spent closed
    assert [n.split(" due ")[0] for n in await notes(s, number)] == [
        "resolution VIP 30m",
        "resolution VIP 0m",
    ]
    assert await timers(s.db) == []


async def test_the_shipped_sla_rules_notify_and_raise_the_priority(db: Database, tmp_path: Path):
    (tmp_path / "80-sla.toml").write_text(SHIPPED.read_text("utf-8"), encoding="utf-8")
    async with sla_rig(db, tmp_path, policy()) as s:
        assert s.rules.reload(), s.rules.problems
        ann = await make_agent(db, "ann")
        sue = await make_agent(db, "sue", Role.SUPERVISOR)
        number = await s.say("hello")
        await s.desk.assign(number, ann, ann.id)
        s.clock.now = at(23, 10, 30)
        await s.engine.fire_due()
        s.clock.now = at(23, 11)
        await s.engine.fire_due()
    told = {n.agent_id: n.text for n in await rows(db, Notification)}
    assert set(told) == {ann.id, sue.id}
    assert told[ann.id] == f"#{number}: 30m of working time left for the first reply (Default)"
    assert told[sue.id] == f"#{number}: no reply by the deadline (Default); assignee: Ann"
    [ticket] = await rows(db, Ticket)
    assert ticket.priority == "urgent"


async def test_without_levels_the_shipped_sla_rules_never_run(db: Database, tmp_path: Path):
    (tmp_path / "80-sla.toml").write_text(SHIPPED.read_text("utf-8"), encoding="utf-8")
    async with sla_rig(db, tmp_path, policy({})) as s:
        assert s.rules.reload(), s.rules.problems
        ann = await make_agent(db, "ann")
        await make_agent(db, "sue", Role.SUPERVISOR)
        number = await s.say("hello")
        await s.desk.assign(number, ann, ann.id)
        s.clock.advance(days=30)
        await s.engine.fire_due()
        assert (await s.ticket(number)).priority == "normal"
    assert await rows(db, Notification) == []
