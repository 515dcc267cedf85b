"""A ticket's level chosen again when its tags or priority change while no deadline is met:
the deadlines re-derived from the registration by the new level, pauses kept, timers re-armed
once, a note telling it; a met deadline fixes the level.

The calendar is tests/sla_rig.py's office (UTC, Mon-Fri 09-13 and 14-18); the clock starts on
Monday 2026-11-23 at 09:00; warnings 30 minutes of working time ahead. Every deadline below
is counted by hand on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database
from core.models import TicketStatus
from tests.engine import Rig
from tests.people import make_agent
from tests.sla_rig import OFFICE, at, policy, sla_rig, targets, timers

LEVELS = [
    {
        "name": "VIP",
        "calendar": "office",
        "reaction": "30m",
        "resolution": "4h",
        "if": {"field": "ticket.tags", "contains": "vip"},
    },
    {
        "name": "Urgent",
        "calendar": "office",
        "reaction": "1h30m",
        "resolution": "8h",
        "if": {"field": "ticket.priority", "eq": "urgent"},
    },
    {"name": "Default", "calendar": "office", "reaction": "4h", "resolution": "16h"},
]
CONFIG = {"calendars": {"office": OFFICE}, "sla": {"level": LEVELS}}
ESCALATIONS = """
[[rule]]
id = "sla-note"
on = ["sla.reaction_warning", "sla.resolution_warning", "sla.reaction_breached",
      "sla.resolution_breached"]
[[rule.then]]
action = "note"
text = "{{ sla.target }} {{ sla.level }} {{ sla.time_left }}"
"""
TAG_VIP = """
[[rule]]
id = "vip"
on = "ticket.created"
then = [{ action = "tag", tags = ["vip"] }, { action = "tag", tags = ["billing"] }]
"""
URGENT_LATER = """
[[rule]]
id = "urgent-later"
on = "ticket.created"
delay = "2h30m"
then = [{ action = "set_priority", priority = "urgent" }]
"""
TAG_ON_REPLY = """
[[rule]]
id = "vip-on-reply"
on = "message.sent"
then = [{ action = "tag", tags = ["vip"] }]
"""
MOVED = (
    "SLA level {old} → {new}: the ticket's tags or priority changed. Deadlines from its "
    "registration: reaction by {reaction}, resolution by {resolution} (UTC)."
)


@pytest.fixture
async def s(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    async with sla_rig(db, tmp_path, policy(CONFIG)) as built:
        yield built


async def test_a_rule_tagging_vip_on_ticket_created_moves_the_ticket_to_vip(s: Rig):
    s.write(TAG_VIP)
    s.write(ESCALATIONS, "escalations.toml")
    s.clock.now = at(23, 12, 30)
    number = await s.say("the line is down")
    assert (await s.ticket(number)).tags == ["vip", "billing"]
    rows = await targets(s.db, number)
    assert {(r.level, r.calendar, r.started_at) for r in rows.values()} == {
        ("VIP", "office", at(23, 12, 30))
    }
    assert rows["reaction"].due_at == at(23, 13)  # 30m, to the lunch break
    assert rows["resolution"].due_at == at(23, 17, 30)  # 30m before lunch, 3h30m after
    # The second tag keeps VIP: one note, and the timers armed once for VIP.
    assert await s.texts(number, internal=True) == [
        MOVED.format(
            old="Default", new="VIP", reaction="2026-11-23 13:00", resolution="2026-11-23 17:30"
        )
    ]
    assert await timers(s.db) == [  # a 30m reaction is no longer than the lead: no warning
        ("sla.reaction_breached", at(23, 13)),
        ("sla.resolution_warning", at(23, 17)),
        ("sla.resolution_breached", at(23, 17, 30)),
    ]
    assert await timers(s.db, "cancelled") == [  # Default's: 4h and 16h of working time
        ("sla.reaction_warning", at(23, 17)),
        ("sla.reaction_breached", at(23, 17, 30)),
        ("sla.resolution_warning", at(25, 12)),
        ("sla.resolution_breached", at(25, 12, 30)),
    ]
    for moment in (at(23, 13), at(23, 17), at(23, 17, 30), at(26, 9)):  # past both levels
        s.clock.now = moment
        await s.engine.fire_due()
    assert (await s.texts(number, internal=True))[1:] == [
        "reaction VIP 0m",
        "resolution VIP 30m",
        "resolution VIP 0m",
    ]


async def test_a_priority_change_re_derives_the_deadlines_with_the_pause_kept(s: Rig):
    s.write(URGENT_LATER)
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00: Default, reaction 13:00, resolution Tue 18:00
    s.clock.now = at(23, 10)
    await s.desk.set_status(number, ann, TicketStatus.WAITING)
    s.clock.now = at(23, 11)
    await s.desk.set_status(number, ann, TicketStatus.OPEN)  # an hour paused
    assert (await targets(s.db, number))["resolution"].due_at == at(25, 10)
    s.clock.now = at(23, 11, 30)
    await s.engine.fire_due()  # the rule raises the priority: Urgent
    rows = await targets(s.db, number)
    assert (await s.ticket(number)).priority == "urgent"
    assert {(r.level, r.started_at) for r in rows.values()} == {("Urgent", at(23, 9))}
    assert rows["reaction"].due_at == at(23, 10, 30)  # 1h30m from 09:00: already passed
    assert rows["resolution"].paused_seconds == 3600
    assert rows["resolution"].due_at == at(24, 10)  # 8h to Mon 18:00, then the hour paused
    assert (await s.texts(number, internal=True)) == [
        MOVED.format(
            old="Default",
            new="Urgent",
            reaction="2026-11-23 10:30",
            resolution="2026-11-24 10:00",
        )
    ]
    # The reaction's warning moment (10:00) had passed: not armed; its breach, due already,
    # fired in the same round.
    reaction = rows["reaction"]
    assert (reaction.breached, reaction.met_at, reaction.agent_id) == (True, None, None)
    assert await timers(s.db, "done") == [("sla.reaction_breached", at(23, 10, 30))]
    assert await timers(s.db) == [
        ("sla.resolution_warning", at(24, 9, 30)),
        ("sla.resolution_breached", at(24, 10)),
    ]
    assert await timers(s.db, "cancelled") == [
        ("sla.reaction_warning", at(23, 12, 30)),  # Default's, moved by nothing
        ("sla.reaction_breached", at(23, 13)),
        ("sla.resolution_warning", at(24, 17, 30)),  # Default's before the pause
        ("sla.resolution_breached", at(24, 18)),
        ("sla.resolution_warning", at(25, 9, 30)),  # Default's after it
        ("sla.resolution_breached", at(25, 10)),
    ]


async def test_once_a_deadline_is_met_the_level_stays(s: Rig):
    s.write(TAG_ON_REPLY)
    ann = await make_agent(s.db, "ann")
    number = await s.say("hello")  # Mon 09:00: Default
    before = await targets(s.db, number)
    s.clock.advance(minutes=10)
    await s.desk.reply(number, ann, "On it")  # the reaction is met, then the rule tags vip
    await s.engine.fire_due()
    assert (await s.ticket(number)).tags == ["vip"]
    rows = await targets(s.db, number)
    assert {r.level for r in rows.values()} == {"Default"}
    assert {t: r.due_at for t, r in rows.items()} == {t: r.due_at for t, r in before.items()}
    assert rows["reaction"].met_at == at(23, 9, 10)
    assert await s.texts(number, internal=True) == []
    assert await timers(s.db) == [
        ("sla.resolution_warning", at(24, 17, 30)),
        ("sla.resolution_breached", at(24, 18)),
    ]
