"""The rule engine: immediate and delayed runs, stop, cancellation, re-checks, restarts."""

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core import delays
from core.db import Database
from core.desk import Unit
from core.engine.perform import Later, Performer, Run
from core.engine.runner import Engine
from core.events import NOTE_ADDED, Event
from core.messages import Inbound
from core.models import DelayedRun, Message, Role, RuleStat, TicketStatus
from tests.engine import Rig, make_engine, next_due
from tests.people import make_agent
from tests.waiting import eventually

ACK = """
[[rule]]
id = "ack"
on = "ticket.created"
[[rule.then]]
action = "reply"
text.en = "Request #{{ ticket.number }} registered"
text.ru = "Заявка #{{ ticket.number }} зарегистрирована"
"""

RATE_LATER = """
[[rule]]
id = "ask-later"
on = "ticket.closed"
delay = "2h"
cancel_on = ["ticket.reopened"]
then = [{ action = "reply", text = "How did we do on #{{ ticket.number }}?" }]
"""


async def close(r: Rig, number: int) -> None:
    admin = await make_agent(r.db, "boss", Role.ADMIN)
    await r.desk.set_status(number, admin, TicketStatus.CLOSED)


async def test_an_immediate_rule_answers_in_the_ticket_s_channel(r: Rig):
    r.write(ACK)
    number = await r.say("hello")
    assert await r.texts(number) == [f"Request #{number} registered"]
    await r.say("more")  # not a new ticket: no second acknowledgement
    assert len(await r.texts(number)) == 1
    async with r.db.reading() as s:
        stat = await s.get(RuleStat, "ack")
    assert stat is not None and stat.fired == 1 and stat.last_fired_at == r.clock()


async def test_rules_run_in_file_order_and_stop_ends_the_event(r: Rig):
    r.write(
        """
[[rule]]
id = "first"
on = "message.received"
then = [{ action = "note", text = "one" }]

[[rule]]
id = "urgent"
on = "message.received"
if = { field = "message.text", contains = "urgent" }
then = [{ action = "note", text = "two" }, { action = "stop" }, { action = "note", text = "never" }]

[[rule]]
id = "last"
on = "message.received"
then = [{ action = "note", text = "three" }]
"""
    )
    number = await r.say("this is URGENT")
    assert await r.texts(number, internal=True) == ["one", "two"]
    await r.say("calm now")
    assert await r.texts(number, internal=True) == ["one", "two", "one", "three"]


async def test_a_delayed_run_fires_on_time_and_only_then(r: Rig):
    r.write(RATE_LATER)
    number = await r.say("hello")
    await close(r, number)
    await r.engine.fire_due()
    r.clock.advance(hours=1, minutes=59, seconds=59)
    assert await r.engine.fire_due() == 0
    r.clock.advance(seconds=1)
    assert await r.engine.fire_due() == 1
    assert await r.texts(number) == [f"How did we do on #{number}?"]
    r.clock.advance(days=1)
    assert await r.engine.fire_due() == 0


async def test_a_cancel_on_event_cancels_the_pending_run(r: Rig):
    r.write(RATE_LATER)
    number = await r.say("hello")
    await close(r, number)
    admin = await make_agent(r.db, "ann", Role.ADMIN)
    await r.desk.set_status(number, admin, TicketStatus.OPEN)  # reopened before the 2 h
    r.clock.advance(hours=3)
    assert await r.engine.fire_due() == 0
    assert await r.texts(number) == []
    async with r.db.reading() as s:
        assert (await s.scalars(select(DelayedRun.state))).all() == [delays.CANCELLED]


async def test_a_delayed_rule_is_checked_again_against_the_ticket_as_it_is_then(r: Rig):
    r.write(
        """
[[rule]]
id = "nudge"
on = "message.received"
delay = "1h"
if = { field = "ticket.status", eq = "new" }
then = [{ action = "note", text = "nobody answered in an hour" }]
"""
    )
    quiet = await r.say("hello?", who="quiet")
    answered = await r.say("help", who="busy")
    agent = await make_agent(r.db, "anna")
    await r.desk.reply(answered, agent, "On it")  # the ticket is open now
    r.clock.advance(hours=1)
    assert await r.engine.fire_due() == 2
    assert await r.texts(quiet, internal=True) == ["nobody answered in an hour"]
    assert await r.texts(answered, internal=True) == []
    async with r.db.reading() as s:
        states = sorted((await s.scalars(select(DelayedRun.state))).all())
    assert states == [delays.DONE, delays.SKIPPED]


async def test_a_run_due_while_the_process_was_down_fires_once_after_restart(r: Rig, db: Database):
    r.write(RATE_LATER)
    number = await r.say("hello")
    await close(r, number)
    await r.engine.stop()  # the process goes down with the run pending
    r.clock.advance(hours=5)
    second = make_engine(r.desk, r.rules, r.clock)  # a new process over the same database
    assert await second.fire_due() == 1
    assert await second.fire_due() == 0
    third = make_engine(r.desk, r.rules, r.clock)
    assert await third.fire_due() == 0
    await second.stop()
    await third.stop()
    assert await r.texts(number) == [f"How did we do on #{number}?"]


async def test_rules_that_trigger_each_other_stop_at_the_depth_limit(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    r.write(
        """
[[rule]]
id = "ping"
on = "note.added"
then = [{ action = "note", text = "again" }]
"""
    )
    number = await r.say("hi")
    agent = await make_agent(r.db, "anna")
    await r.desk.note(number, agent, "start")
    for _ in range(10):
        await r.engine.fire_due()
    notes = await r.texts(number, internal=True)
    assert notes == ["start"] + ["again"] * 6  # depth 0 (the agent's) … 5, then it stops
    assert "rule runs deep" in caplog.text


async def test_a_failing_action_is_logged_and_the_rest_still_runs(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    r.write(
        """
[[rule]]
id = "broken"
on = "ticket.created"
then = [{ action = "assign", agent = "ghost" }, { action = "note", text = "after" }]

[[rule]]
id = "next"
on = "ticket.created"
then = [{ action = "note", text = "next rule" }]
"""
    )
    number = await r.say("hi")
    assert await r.texts(number, internal=True) == ["after", "next rule"]
    assert f'rule "broken" action 1 (assign) failed on ticket.created of ticket {number}' in (
        caplog.text
    )


async def test_runs_of_many_tickets_fire_together_and_a_failing_action_fails_alone(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    r.write(
        """
[[rule]]
id = "seen"
on = "ticket.created"
then = [{ action = "note", text = "seen #{{ ticket.number }}" }]

[[rule]]
id = "broken"
on = "ticket.created"
if = { field = "ticket.number", eq = 3 }
then = [{ action = "assign", agent = "ghost" }, { action = "note", text = "after" }]
"""
    )
    for who in ("a", "b", "c", "d", "e"):  # their runs are claimed, and fired, together
        await r.desk.receive(Inbound(inbox="web", external_id=who, text="hi"))
    assert await r.engine.fire_due() == 5
    for number in range(1, 6):
        after = ["after"] if number == 3 else []
        assert await r.texts(number, internal=True) == [f"seen #{number}", *after]
    assert caplog.text.count('rule "broken" action 1 (assign) failed') == 1
    async with r.db.reading() as s:
        assert (await s.scalars(select(DelayedRun.state))).all() == [delays.DONE] * 5
        stats = {row.rule_id: row.fired for row in await s.scalars(select(RuleStat))}
    assert stats == {"seen": 5, "broken": 1}


async def test_notes_of_runs_fired_together_are_written_at_once_and_keep_their_ids(r: Rig):
    r.write(
        """
[[rule]]
id = "seen"
on = "ticket.created"
then = [
  { action = "note", text = "seen #{{ ticket.number }}" },
  { action = "tag", tags = ["seen"] },
  { action = "note", text = "tagged #{{ ticket.number }}" },
]

[[rule]]
id = "echo"
on = "note.added"
if = { field = "message.text", matches = "^seen" }
then = [{ action = "note", text = "echo of {{ message.id }}" }]
"""
    )
    noted: list[Event] = []

    async def record(event: Event) -> None:
        noted.append(event)

    r.desk.bus.subscribe(record, [NOTE_ADDED])
    for who in ("a", "b", "c", "d", "e"):  # their runs are claimed, and fired, together
        await r.desk.receive(Inbound(inbox="web", external_id=who, text="hi"))
    assert await r.engine.fire_due() == 10  # five "seen" runs, then five "echo" runs
    async with r.db.reading() as s:
        stored = dict((await s.execute(select(Message.text, Message.id))).all())
    assert {e.data["message"]["text"]: e.data["message"]["id"] for e in noted} == {
        text: id for text, id in stored.items() if text != "hi"
    }
    for number in range(1, 6):
        seen_id = stored[f"seen #{number}"]
        assert await r.texts(number, internal=True) == [
            f"seen #{number}",
            f"tagged #{number}",
            f"echo of {seen_id}",  # the rule on note.added saw the note's id
        ]
        assert (await r.ticket(number)).tags == ["seen"]


async def test_a_run_whose_rule_was_removed_is_skipped(r: Rig):
    r.write(RATE_LATER)
    number = await r.say("hello")
    await close(r, number)
    r.write('[[rule]]\nid = "other"\non = "ticket.created"\nthen = [{ action = "stop" }]\n')
    r.clock.advance(hours=3)
    assert await r.engine.fire_due() == 1
    assert await r.texts(number) == []
    async with r.db.reading() as s:
        assert (await s.scalars(select(DelayedRun.state))).all() == [delays.SKIPPED]


async def test_runs_due_later_are_not_fired_early(r: Rig):
    r.write(RATE_LATER)
    number = await r.say("hello")
    await close(r, number)
    assert await next_due(r.db) == r.clock() + timedelta(hours=2)


class Stuck(Performer):
    """Actions that never end: a run caught by a stop."""

    def __init__(self) -> None:
        super().__init__("en")
        self.entered = asyncio.Event()

    async def perform(self, run: Run, unit: Unit, later: list[Later]) -> bool:
        self.entered.set()
        await asyncio.sleep(3600)
        return False


async def test_a_run_cut_short_by_a_stop_goes_back_and_fires_once_later(r: Rig):
    r.write(ACK)
    await r.desk.receive(Inbound(inbox="web", external_id="alice", text="hello"))
    stuck = Stuck()
    engine = Engine(r.desk, r.rules, stuck, clock=r.clock)
    running = asyncio.create_task(engine.run())
    await asyncio.wait_for(stuck.entered.wait(), 10)
    await engine.stop(grace=0.1)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    async with r.db.reading() as s:
        assert (await s.scalars(select(DelayedRun.state))).all() == [delays.PENDING]
    assert await r.engine.fire_due() == 1
    assert await r.texts(1) == ["Request #1 registered"]


async def test_a_failing_database_pauses_the_runner_and_it_fires_once_it_is_back(
    r: Rig, monkeypatch: pytest.MonkeyPatch
):
    r.write(ACK)
    failures = 2
    real_claim = delays.claim

    async def claim(*args: object, **kwargs: object) -> list[delays.Due]:
        nonlocal failures
        if failures:
            failures -= 1
            raise OperationalError("claim", {}, ConnectionRefusedError("the server is gone"))
        return await real_claim(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delays, "claim", claim)
    engine = Engine(r.desk, r.rules, Performer("en"), clock=r.clock, poll=0.05)
    running = asyncio.create_task(engine.run())
    try:
        got = await r.desk.receive(Inbound(inbox="web", external_id="alice", text="hello"))
        await eventually(lambda: failures == 0)
        assert not running.done(), "the runner's loop ended on a database error"
        number = got.ticket_number
        assert await eventually(lambda: r.texts(number)) == [f"Request #{number} registered"]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
