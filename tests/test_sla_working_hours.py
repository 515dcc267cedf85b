"""The rules' condition ``within_working_hours``: checked at load, asked at the moment a rule
is checked, by the inbox's calendar (its own, else the Default level's; none: always)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import Database
from core.rules.schema import RuleFlaws, read_rule
from core.sla.policy import NO_SLA
from tests.sla_rig import LEVELS, OFFICE, at, policy, sla_rig, targets

EVENINGS = {"timezone": "UTC", **{d: ["18:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
DATA = {"inbox": {"name": "web", "channel": "webchat"}}


def rule(condition: object, **extra: object) -> object:
    raw = {"id": "r", "on": "ticket.created", "if": condition, **extra}
    return read_rule({**raw, "then": [{"action": "reply", "text": "closed"}]})


def flaws(condition: object) -> list[str]:
    with pytest.raises(RuleFlaws) as caught:
        rule(condition)
    return [str(f) for f in caught.value.flaws]


def test_the_condition_is_checked_when_rules_load():
    assert flaws({"within_working_hours": "yes"}) == [
        'if.within_working_hours: expected true or false, got "yes"'
    ]
    assert flaws({"within_working_hours": True, "field": "ticket.id"}) == [
        "if.field: unknown key; expected one of: within_working_hours"
    ]
    assert rule({"not": {"within_working_hours": True}}) is not None


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (at(23, 9), True),  # an interval's start is inside
        (at(23, 12, 59), True),
        (at(23, 13), False),  # its end is not: lunch
        (at(23, 18), False),
        (at(28, 10), False),  # Saturday
    ],
)
def test_the_inbox_works_by_the_default_levels_calendar(moment, working):
    office = policy()
    hours = office.at(moment)
    assert rule({"within_working_hours": True}).matches(DATA, hours) is working
    assert rule({"within_working_hours": False}).matches(DATA, hours) is not working
    assert rule({"not": {"within_working_hours": True}}).matches(DATA, hours) is not working


def test_an_inbox_naming_a_calendar_works_by_it(tmp_path: Path):
    config = {
        "calendars": {"office": OFFICE, "evenings": EVENINGS},
        "sla": {"level": LEVELS},
        "inbox": [
            {"name": "web", "channel": "webchat", "calendar": "evenings"},
            {"name": "chat", "channel": "webchat"},
        ],
    }
    both = policy(config, tmp_path)
    evening = both.at(at(23, 23, 59))  # "24:00" ends the day's interval
    assert evening.working("web") and not evening.working("chat")
    morning = both.at(at(23, 10))
    assert morning.working("chat") and not morning.working("web")
    assert both.at(at(24, 0)).working("web") is False


def test_without_calendars_every_moment_is_working_time():
    saturday_night = NO_SLA.at(at(28, 3))
    assert rule({"within_working_hours": True}).matches(DATA, saturday_night)
    assert policy({"calendars": {"office": OFFICE}}).at(at(28, 3)).working("web")


def test_asked_without_a_moment_it_holds_neither_way():
    assert not rule({"within_working_hours": True}).matches(DATA)
    assert not rule({"within_working_hours": False}).matches(DATA)


AFTER_HOURS = """
[[rule]]
id = "after-hours"
on = "ticket.created"
if = { within_working_hours = false }
then = [{ action = "reply", text = "We are closed now" }]

[[rule]]
id = "still-open"
on = "ticket.created"
delay = "1h"
if = { within_working_hours = true }
then = [{ action = "note", text = "an hour in, still open" }]
"""


async def test_rules_ask_at_the_event_and_delayed_ones_again_when_they_fire(
    db: Database, tmp_path: Path
):
    async with sla_rig(db, tmp_path, policy()) as s:
        s.write(AFTER_HOURS)
        morning = await s.say("hello")  # Monday 09:00
        s.clock.now = at(23, 17, 30)
        evening = await s.say("hi", who="bob")
        s.clock.now = at(28, 11)  # Saturday
        weekend = await s.say("anyone?", who="carl")
        s.clock.now = at(23, 10)
        await s.engine.fire_due()
        s.clock.now = at(23, 18, 30)
        await s.engine.fire_due()
        assert await s.texts(morning) == []
        assert await s.texts(evening) == []
        assert await s.texts(weekend) == ["We are closed now"]
        assert await s.texts(morning, internal=True) == ["an hour in, still open"]
        assert await s.texts(evening, internal=True) == [], "18:30 is after hours"


async def test_a_level_may_ask_it_at_registration(db: Database, tmp_path: Path):
    after_hours = {
        "name": "After hours",
        "calendar": "office",
        "reaction": "4h",
        "resolution": "2d",
        "if": {"within_working_hours": False},
    }
    config = {"calendars": {"office": OFFICE}, "sla": {"level": [after_hours, LEVELS[1]]}}
    async with sla_rig(db, tmp_path, policy(config, tmp_path)) as s:
        weekday = await s.say("hello")
        s.clock.now = at(28, 11)
        saturday = await s.say("hello", who="bob")
    assert (await targets(db, weekday))["reaction"].level == "Default"
    assert (await targets(db, saturday))["reaction"].level == "After hours"
    assert (await targets(db, saturday))["reaction"].due_at == at(30, 13)
