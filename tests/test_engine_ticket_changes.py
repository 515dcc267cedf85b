"""Rule actions that change the ticket: assign (one agent, round robin), set_status,
set_priority, tag."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import queries
from core.models import (
    AuditEntry,
    Role,
    TicketStatus,
)
from tests.engine import Rig, deactivate
from tests.people import make_agent

# assign


async def test_assign_gives_the_ticket_to_the_agent_as_the_rules(r: Rig):
    anna = await make_agent(r.db, "anna")
    r.write(
        """
[[rule]]
id = "to-anna"
on = "ticket.created"
then = [{ action = "assign", agent = "anna" }]

[[rule]]
id = "told"
on = "ticket.assigned"
then = [{ action = "note", text = "now {{ agent.name }}, by [{{ by.name }}]" }]
"""
    )
    number = await r.say("hello")
    found = await r.ticket(number)
    assert found.assignee_id == anna.id
    assert await r.texts(number, internal=True) == ["now Anna, by []"]
    *_, entry = await queries.audit(r.db, found.id)  # after the customer's "new"
    assert (entry.action, entry.actor, entry.agent_id) == ("assign", "rule", None)
    assert entry.new_value == "Anna"


async def test_round_robin_cycles_across_tickets_and_skips_an_inactive_agent(r: Rig):
    team = {login: (await make_agent(r.db, login)).id for login in ("ann", "bob", "cat")}
    r.write(
        """
[[rule]]
id = "spread"
on = "ticket.created"
then = [{ action = "assign", round_robin = ["ann", "bob", "cat"] }]
"""
    )

    async def next_assignee(who: str) -> str:
        number = await r.say("hello", who=who)
        assignee_id = (await r.ticket(number)).assignee_id
        return next(login for login, id_ in team.items() if id_ == assignee_id)

    assert [await next_assignee(f"c{i}") for i in range(4)] == ["ann", "bob", "cat", "ann"]
    await deactivate(r.db, "bob")  # bob was next in turn: cat is, then the turn goes on
    assert [await next_assignee(f"d{i}") for i in range(3)] == ["cat", "ann", "cat"]


async def test_assigning_an_unknown_agent_fails_that_action_only(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    await make_agent(r.db, "anna")
    await make_agent(r.db, "gone")
    await deactivate(r.db, "gone")
    r.write(
        """
[[rule]]
id = "bad"
on = "ticket.created"
then = [
  { action = "assign", agent = "ghost" },
  { action = "assign", round_robin = ["gone", "ghost"] },
  { action = "note", text = "still here" },
]
"""
    )
    number = await r.say("hello")
    assert (await r.ticket(number)).assignee_id is None
    assert await r.texts(number, internal=True) == ["still here"]
    assert f'rule "bad" action 1 (assign) failed on ticket.created of ticket {number}' in (
        caplog.text
    )
    assert 'rule "bad" action 2 (assign) failed' in caplog.text
    assert "none of the agents gone, ghost exists and is active" in caplog.text


# set_status, set_priority


async def test_set_status_makes_an_allowed_move_as_the_rules(r: Rig):
    r.write(
        """
[[rule]]
id = "park"
on = "ticket.created"
then = [{ action = "set_status", status = "waiting" }]

[[rule]]
id = "moved"
on = "ticket.status_changed"
then = [{ action = "note", text = "{{ status.old }} -> {{ status.new }}" }]
"""
    )
    number = await r.say("hello")
    found = await r.ticket(number)
    assert found.status == TicketStatus.WAITING
    assert await r.texts(number, internal=True) == ["new -> waiting"]
    *_, entry = await queries.audit(r.db, found.id)
    assert (entry.action, entry.old_value, entry.new_value, entry.actor) == (
        "status",
        "new",
        "waiting",
        "rule",
    )


async def test_set_status_closed_closes_the_ticket_and_fires_ticket_closed(r: Rig):
    r.write(
        """
[[rule]]
id = "bye"
on = "message.received"
if = { field = "message.text", contains = "bye" }
then = [{ action = "set_status", status = "closed" }]

[[rule]]
id = "closed"
on = "ticket.closed"
then = [{ action = "reply", text = "Ticket #{{ ticket.number }} is {{ ticket.status }}" }]
"""
    )
    number = await r.say("thanks, bye")
    found = await r.ticket(number)
    assert found.status == TicketStatus.CLOSED and found.closed_at == r.clock()
    assert await r.texts(number) == [f"Ticket #{number} is closed"]


async def test_a_move_the_lifecycle_refuses_is_logged_and_the_rest_runs(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    r.write(
        """
[[rule]]
id = "park"
on = "ticket.closed"
then = [{ action = "set_status", status = "waiting" }, { action = "note", text = "after" }]
"""
    )
    number = await r.say("hello")
    admin = await make_agent(r.db, "boss", Role.ADMIN)
    await r.desk.set_status(number, admin, TicketStatus.CLOSED)
    await r.engine.fire_due()
    assert (await r.ticket(number)).status == TicketStatus.CLOSED
    assert await r.texts(number, internal=True) == ["after"]
    assert 'rule "park" action 1 (set_status) failed on ticket.closed' in caplog.text
    assert f"ticket #{number} is closed; it cannot become waiting" in caplog.text


async def test_set_priority_changes_it_and_later_rules_see_it(r: Rig):
    r.write(
        """
[[rule]]
id = "hurry"
on = "message.received"
if = { field = "message.text", contains = "urgent" }
then = [{ action = "set_priority", priority = "urgent" }]

[[rule]]
id = "seen"
on = "message.received"
if = { field = "ticket.priority", eq = "urgent" }
then = [{ action = "note", text = "{{ ticket.priority }} ticket wrote again" }]
"""
    )
    number = await r.say("URGENT: site is down")
    found = await r.ticket(number)
    assert found.priority == "urgent"
    assert await r.texts(number, internal=True) == []  # the event's own data said "normal"
    await r.say("still down")
    assert await r.texts(number, internal=True) == ["urgent ticket wrote again"]
    entries = [e for e in await queries.audit(r.db, found.id) if e.action == "priority"]
    assert [(e.old_value, e.new_value, e.actor) for e in entries] == [("normal", "urgent", "rule")]


# tag


async def test_tags_accumulate_once_each_and_later_conditions_see_them(r: Rig):
    r.write(
        """
[[rule]]
id = "first"
on = "ticket.created"
then = [{ action = "tag", tags = ["vip", "billing"] }]

[[rule]]
id = "again"
on = "message.received"
then = [{ action = "tag", tags = ["billing", "eu", "vip"] }]

[[rule]]
id = "vip"
on = "message.received"
if = { field = "ticket.tags", contains = "vip" }
then = [{ action = "note", text = "VIP: {{ ticket.tags | join(',') }}" }]
"""
    )
    number = await r.say("hello")
    assert (await r.ticket(number)).tags == ["vip", "billing", "eu"]
    await r.say("me again")
    assert (await r.ticket(number)).tags == ["vip", "billing", "eu"]
    # the first message.received was stored with the ticket before any tag; the second saw them
    assert await r.texts(number, internal=True) == ["VIP: vip,billing,eu"]
    async with r.db.reading() as s:
        tagged = (
            await s.scalars(select(AuditEntry.new_value).where(AuditEntry.action == "tags"))
        ).all()
    assert tagged == ["vip, billing", "eu"]
