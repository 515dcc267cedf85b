"""SLA deadlines stored with the ticket: the level chosen at registration, the reaction met by
an agent's reply only, waiting that moves the resolution deadline, close and reopen.

The calendar is tests/sla_rig.py's office (UTC, Mon-Fri 09-13 and 14-18); the clock starts on
Monday 2026-11-23 at 09:00. Every deadline below is counted by hand on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database
from core.messages import Inbound
from core.models import Role, TicketStatus
from tests.engine import Rig
from tests.people import make_agent
from tests.sla_rig import LEVELS, OFFICE, at, policy, sla_rig, targets, timers

ACK = """
[[rule]]
id = "ack"
on = "ticket.created"
then = [{ action = "reply", text = "We got it" }]
"""


@pytest.fixture
async def s(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    async with sla_rig(db, tmp_path, policy()) as built:
        yield built


async def test_a_new_ticket_gets_its_levels_deadlines_from_its_facts(s: Rig):
    plain = await s.say("where is my order")  # Mon 09:00
    s.clock.advance(hours=3, minutes=30)  # Mon 12:30
    vip = await s.say("the line is down", who="bob", customer_name="ACME Corp")
    rows = await targets(s.db, plain)
    assert {t: (r.level, r.calendar) for t, r in rows.items()} == {
        "reaction": ("Default", "office"),
        "resolution": ("Default", "office"),
    }
    assert rows["reaction"].started_at == rows["resolution"].started_at == at(23, 9)
    assert rows["reaction"].due_at == at(23, 11)  # 2h
    assert rows["resolution"].due_at == at(25, 18)  # 24 working hours: on Wednesday's close
    for row in rows.values():
        assert (row.paused_seconds, row.paused_since, row.met_at) == (0, None, None)
        assert (row.worked_seconds, row.agent_id) == (None, None)
    # The engine ran at 12:30: the reaction's breach (11:00) has fired, nobody assigned.
    assert (rows["reaction"].breached, rows["resolution"].breached) == (True, False)
    vip_rows = await targets(s.db, vip)
    assert vip_rows["reaction"].level == "VIP"
    assert vip_rows["reaction"].due_at == at(23, 13)  # 30m, to the lunch break exactly
    assert vip_rows["resolution"].due_at == at(23, 17, 30)  # 30m before lunch, 3h30m after


async def test_the_level_is_fixed_at_registration(db: Database, tmp_path: Path):
    async with sla_rig(db, tmp_path, policy()) as first:
        number = await first.say("hello")
    quicker = [{**level, "reaction": "15m"} for level in LEVELS]
    config = {"calendars": {"office": OFFICE}, "sla": {"level": quicker}}
    async with sla_rig(db, tmp_path, policy(config)) as second:
        second.clock.advance(hours=1)
        await second.say("one more thing")  # the same ticket: nothing recomputed
        newer = await second.say("another request", who="bob")
    assert (await targets(db, number))["reaction"].due_at == at(23, 11)
    assert (await targets(db, newer))["reaction"].due_at == at(23, 10, 15)


async def test_taking_a_ticket_and_telling_the_customer_meets_the_reaction(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00
    s.clock.advance(minutes=30)
    await s.desk.take(number, ann)
    ticket = await s.ticket(number)
    assert (ticket.status, ticket.assignee_id) == (TicketStatus.OPEN, ann.id)
    assert await s.texts(number) == [f"Ann has taken your request #{number} and is working on it."]
    reaction = (await targets(s.db, number))["reaction"]
    assert (reaction.met_at, reaction.agent_id, reaction.worked_seconds) == (
        at(23, 9, 30),
        ann.id,
        1800,
    )


async def test_taking_a_waiting_ticket_opens_it_and_resumes_the_resolution_clock(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00
    await s.desk.reply(number, ann, "Which order is it?")
    await s.desk.set_status(number, ann, TicketStatus.WAITING)
    s.clock.advance(hours=2)
    await s.desk.take(number, ann)
    assert (await s.ticket(number)).status == TicketStatus.OPEN
    resolution = (await targets(s.db, number))["resolution"]
    assert (resolution.paused_since, resolution.paused_seconds) == (None, 7200)


async def test_without_levels_no_deadlines_are_written(db: Database, tmp_path: Path):
    async with sla_rig(db, tmp_path, policy({})) as bare:
        number = await bare.say("hello")
    assert await targets(db, number) == {}
    assert await timers(db) == []


async def test_the_reaction_is_met_by_an_agents_reply_not_by_a_rules(s: Rig):
    s.write(ACK)
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00; the rule answers at once
    assert await s.texts(number) == ["We got it"]
    s.clock.advance(minutes=20)
    await s.desk.assign(number, ann, ann.id)  # taking it sends the customer nothing
    s.clock.advance(minutes=20)
    await s.desk.set_status(number, ann, TicketStatus.OPEN)
    await s.desk.note(number, ann, "looking into it")  # internal: the customer sees nothing
    assert (await targets(s.db, number))["reaction"].met_at is None
    s.clock.advance(minutes=20)
    await s.desk.reply(number, ann, "Your parcel left the warehouse")  # Mon 10:00
    reaction = (await targets(s.db, number))["reaction"]
    assert reaction.met_at == at(23, 10)
    assert (reaction.breached, reaction.worked_seconds, reaction.agent_id) == (False, 3600, ann.id)
    assert [name for name, _ in await timers(s.db)] == [
        "sla.resolution_warning",
        "sla.resolution_breached",
    ]


async def test_a_late_reply_is_recorded_as_breached_and_the_next_one_changes_nothing(s: Rig):
    ann = await make_agent(s.db, "ann")
    bob = await make_agent(s.db, "bob", Role.SUPERVISOR)
    number = await s.say("hello")  # Mon 09:00, reaction due 11:00
    s.clock.advance(hours=4, minutes=30)  # 13:30: the lunch break does not count
    await s.desk.reply(number, ann, "Sorry for the wait")
    s.clock.advance(hours=1)
    await s.desk.reply(number, bob, "And from me")
    reaction = (await targets(s.db, number))["reaction"]
    assert reaction.met_at == at(23, 13, 30)
    assert (reaction.breached, reaction.worked_seconds, reaction.agent_id) == (
        True,
        4 * 3600,
        ann.id,
    )


async def test_waiting_over_a_night_and_a_weekend_moves_the_resolution_deadline(s: Rig):
    ann = await make_agent(s.db, "ann")
    s.clock.now = at(27, 16)  # Friday 16:00
    number = await s.say("hello")
    # 24 working hours: Fri 16-18 (2h), Mon 8h, Tue 8h, Wed 09-13 and 14-16 (6h).
    assert (await targets(s.db, number))["resolution"].due_at == at(32, 16)
    s.clock.now = at(27, 17)
    await s.desk.set_status(number, ann, TicketStatus.WAITING)
    resolution = (await targets(s.db, number))["resolution"]
    assert (resolution.paused_since, resolution.due_at) == (at(27, 17), at(32, 16))
    assert await timers(s.db) == [
        ("sla.reaction_warning", at(27, 17, 30)),  # the reaction does not wait
        ("sla.reaction_breached", at(27, 18)),
    ]
    s.clock.now = at(30, 10, 30)  # Monday 10:30: the customer answers, the ticket is open
    await s.desk.receive(Inbound(inbox="web", external_id="alice", text="here it is"))
    resolution = (await targets(s.db, number))["resolution"]
    # Waited Fri 17-18 and Mon 09-10:30: 2h30m of working time; the night and the weekend
    # do not count. Wed 16:00 + 2h30m = Wed 16-18, Thu 09:00-09:30.
    assert resolution.paused_since is None
    assert resolution.paused_seconds == 9000
    assert resolution.due_at == at(33, 9, 30)
    assert ("sla.resolution_breached", at(33, 9, 30)) in await timers(s.db)


async def test_a_close_while_waiting_counts_the_waiting_and_meets_the_resolution(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00
    await s.desk.reply(number, ann, "Please send a photo")
    s.clock.advance(minutes=30)
    await s.desk.set_status(number, ann, TicketStatus.WAITING)
    s.clock.advance(hours=2)  # 11:30
    await s.desk.set_status(number, ann, TicketStatus.CLOSED)
    resolution = (await targets(s.db, number))["resolution"]
    assert (resolution.paused_seconds, resolution.paused_since) == (7200, None)
    assert resolution.due_at == at(26, 11)  # Wednesday 18:00 + 2h
    assert resolution.met_at == at(23, 11, 30)
    assert (resolution.breached, resolution.worked_seconds, resolution.agent_id) == (
        False,
        1800,
        ann.id,
    )
    assert await timers(s.db) == []


async def test_a_close_without_a_reply_settles_the_reaction_too(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("spam")
    s.clock.advance(minutes=5)
    await s.desk.assign(number, ann, ann.id)
    await s.desk.set_status(number, ann, TicketStatus.CLOSED)
    rows = await targets(s.db, number)
    for row in rows.values():
        assert (row.met_at, row.breached, row.agent_id) == (at(23, 9, 5), False, ann.id)
    assert await timers(s.db) == []


async def test_a_reopened_ticket_keeps_its_level_and_counts_the_closed_time_as_a_pause(s: Rig):
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00; resolution due Wed 18:00
    s.clock.advance(minutes=10)
    await s.desk.reply(number, ann, "Done, I think")
    s.clock.advance(minutes=50)
    await s.desk.set_status(number, ann, TicketStatus.CLOSED)  # Mon 10:00
    s.clock.now = at(24, 10)  # Tuesday 10:00
    await s.desk.set_status(number, ann, TicketStatus.OPEN)
    rows = await targets(s.db, number)
    resolution = rows["resolution"]
    # Closed Mon 10-13, 14-18 and Tue 09-10: 8 working hours, added to Wednesday 18:00.
    assert (resolution.met_at, resolution.worked_seconds, resolution.agent_id) == (
        None,
        None,
        None,
    )
    assert (resolution.level, resolution.paused_seconds) == ("Default", 8 * 3600)
    assert resolution.due_at == at(26, 18)
    assert rows["reaction"].met_at == at(23, 9, 10), "the reaction is not asked again"
    assert await timers(s.db) == [
        ("sla.resolution_warning", at(26, 17, 30)),
        ("sla.resolution_breached", at(26, 18)),
    ]
    s.clock.now = at(24, 11)
    await s.desk.set_status(number, ann, TicketStatus.CLOSED)
    resolution = (await targets(s.db, number))["resolution"]
    # Worked Mon 09-10 and Tue 10-11: the time closed is left out.
    assert (resolution.met_at, resolution.worked_seconds) == (at(24, 11), 7200)
