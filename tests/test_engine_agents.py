"""Rule actions for agents: notify (in the inbox, and in Telegram when linked) and
create_task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bots.telegram.channel import TelegramChannel
from core.agents import set_supervisor
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.messages import Inbound
from core.models import (
    Agent,
    Notification,
    Role,
    Task,
)
from settings.config import TelegramInbox
from tests.engine import Rig, deactivate, rows
from tests.fakes.telegram import FakeTelegram
from tests.people import make_agent

# notify


def notify_rule(to: str) -> str:
    return f"""
[[rule]]
id = "tell"
on = "ticket.created"
then = [{{ action = "notify", to = "{to}", text = "New: {{{{ ticket.subject }}}}" }}]
"""


async def notifications(r: Rig) -> list[tuple[int, str, str | None]]:
    return [(n.agent_id, n.text, n.rule_id) for n in await rows(r.db, Notification)]


async def test_notify_the_assignee(r: Rig):
    anna = await make_agent(r.db, "anna")
    r.write(
        """
[[rule]]
id = "give"
on = "ticket.created"
then = [{ action = "assign", agent = "anna" }]

[[rule]]
id = "tell"
on = "ticket.assigned"
then = [{ action = "notify", to = "assignee", text = "Yours: #{{ ticket.number }}" }]
"""
    )
    number = await r.say("hello")
    assert await notifications(r) == [(anna.id, f"Yours: #{number}", "tell")]
    [row] = await rows(r.db, Notification)
    assert row.ticket_id == (await r.ticket(number)).id and row.read_at is None


async def test_notify_the_assignee_of_an_unassigned_ticket_reaches_nobody(
    r: Rig, rules_log: pytest.LogCaptureFixture
):
    await make_agent(r.db, "anna")
    r.write(notify_rule("assignee"))
    await r.say("hello")
    assert await notifications(r) == []
    assert 'rule "tell": notify assignee reached nobody' in rules_log.text


async def test_notify_supervisors_reaches_every_active_supervisor(r: Rig):
    await make_agent(r.db, "anna")
    await make_agent(r.db, "boss", Role.ADMIN)
    sue = await make_agent(r.db, "sue", Role.SUPERVISOR)
    sam = await make_agent(r.db, "sam", Role.SUPERVISOR)
    await make_agent(r.db, "old", Role.SUPERVISOR)
    await deactivate(r.db, "old")
    r.write(notify_rule("supervisors"))
    await r.say("hello")
    assert await notifications(r) == [
        (sue.id, "New: hello", "tell"),
        (sam.id, "New: hello", "tell"),
    ]


async def test_notify_supervisors_falls_back_to_the_admins_when_there_is_none(r: Rig):
    await make_agent(r.db, "anna")
    root = await make_agent(r.db, "root", Role.ADMIN)
    boss = await make_agent(r.db, "boss", Role.ADMIN)
    r.write(notify_rule("supervisors"))
    await r.say("hello")
    assert await notifications(r) == [
        (root.id, "New: hello", "tell"),
        (boss.id, "New: hello", "tell"),
    ]


async def test_notify_one_agent_by_login(r: Rig, caplog: pytest.LogCaptureFixture):
    await make_agent(r.db, "anna")
    bob = await make_agent(r.db, "bob")
    r.write(notify_rule("agent:bob"))
    await r.say("hello")
    assert await notifications(r) == [(bob.id, "New: hello", "tell")]
    r.write(notify_rule("agent:ghost"))
    await r.say("hello", who="other")
    assert len(await notifications(r)) == 1
    assert "agent 'ghost' does not exist or is not active" in caplog.text


TOKEN = "123456789:AAE" + "t" * 32


async def test_notify_also_tells_an_agent_with_telegram_in_their_private_chat(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    anna = await make_agent(r.db, "anna")
    bob = await make_agent(r.db, "bob")
    async with r.db.transaction() as s:
        await s.execute(update(Agent).where(Agent.id == anna.id).values(telegram_id=5001))
        await s.execute(update(Agent).where(Agent.id == bob.id).values(telegram_id=5002))
    r.write(
        """
[[rule]]
id = "tell"
on = "ticket.created"
then = [
  { action = "notify", to = "agent:anna", text = "Look at {{ customer.name }}" },
  { action = "notify", to = "agent:bob", text = "You too" },
]
"""
    )
    async with FakeTelegram(TOKEN) as telegram:
        telegram.block(TOKEN, 5002)  # bob blocked the bot: his inbox still has the line
        inbox = TelegramInbox(
            name="tg", channel="telegram", token=TOKEN, api_server=telegram.base_url
        )
        channel = TelegramChannel(inbox, r.desk, "en", "http://127.0.0.1:8080")
        engine = Engine(r.desk, r.rules, Performer("en", channel), clock=r.clock)
        try:
            got = await r.desk.receive(
                Inbound(inbox="web", external_id="v", text="hi", customer_name="Vera")
            )
            await engine.fire_due()
        finally:
            await engine.stop()
            await channel.bot.session.close()
        assert [m["text"] for m in telegram.sent_messages(5001)] == [
            f"#{got.ticket_number}: Look at Vera"
        ]
        assert telegram.sent_messages(5002) == []
    assert [(n.agent_id, n.text) for n in await rows(r.db, Notification)] == [
        (anna.id, "Look at Vera"),
        (bob.id, "You too"),
    ]
    assert f"agent {bob.id} not told in Telegram" in caplog.text


# create_task


TASKS = """
[[rule]]
id = "work"
on = "ticket.created"
then = [
  { action = "create_task", for = "assignee", title = "Call {{ customer.name }} about #{{ ticket.number }}", due_in = "2h30m" },
  { action = "create_task", for = "supervisor", title = "Check #{{ ticket.number }}", description = "Subject: {{ ticket.subject }}" },
  { action = "create_task", for = "agent:bob", title = "Bob's part" },
]
"""  # noqa: E501


def give_tickets_to(r: Rig, login: str) -> None:
    r.write(
        f"""
[[rule]]
id = "give"
on = "ticket.created"
then = [{{ action = "assign", agent = "{login}" }}]
""",
        name="00-give.toml",
    )


async def test_create_task_for_the_assignee_their_supervisor_and_an_agent(r: Rig):
    anna = await make_agent(r.db, "anna")
    bob = await make_agent(r.db, "bob")
    sue = await make_agent(r.db, "sue", Role.SUPERVISOR)
    await set_supervisor(r.db, "anna", "sue")
    give_tickets_to(r, "anna")
    r.write(TASKS)
    number = await r.say("refund please", customer_name="Alice")
    ticket_id = (await r.ticket(number)).id
    tasks = await rows(r.db, Task)
    assert [(t.owner_id, t.title, t.description, t.due_at) for t in tasks] == [
        (anna.id, f"Call Alice about #{number}", "", r.clock() + timedelta(hours=2, minutes=30)),
        (sue.id, f"Check #{number}", "Subject: refund please", None),
        (bob.id, "Bob's part", "", None),
    ]
    assert {(t.ticket_id, t.rule_id, t.created_at, t.done_at) for t in tasks} == {
        (ticket_id, "work", r.clock(), None)
    }


async def test_a_task_for_a_supervisor_nobody_set_goes_to_the_supervisors_as_a_team(r: Rig):
    anna = await make_agent(r.db, "anna")
    await make_agent(r.db, "sue", Role.SUPERVISOR)
    give_tickets_to(r, "anna")
    r.write(
        """
[[rule]]
id = "check"
on = "ticket.created"
then = [{ action = "create_task", for = "supervisor", title = "Check it" }]
"""
    )
    await r.say("hello")
    [task] = await rows(r.db, Task)
    assert (task.owner_id, task.title) == (None, "Check it")
    assert (await r.ticket(1)).assignee_id == anna.id


async def test_a_task_for_someone_no_longer_active_goes_to_the_supervisors_as_a_team(r: Rig):
    await make_agent(r.db, "anna")
    await make_agent(r.db, "sue", Role.SUPERVISOR)
    await set_supervisor(r.db, "anna", "sue")
    give_tickets_to(r, "anna")
    r.write(
        """
[[rule]]
id = "check"
on = "message.received"
then = [
  { action = "create_task", for = "supervisor", title = "For sue" },
  { action = "create_task", for = "assignee", title = "For anna" },
]
"""
    )
    number = await r.say("hello")
    await deactivate(r.db, "sue")  # she left: anna's supervisor is nobody who could see it
    await r.say("still there?")
    await deactivate(r.db, "anna")
    await r.say("anyone?")
    assert (await r.ticket(number)).assignee is not None
    owners = [(t.title, t.owner_id is None) for t in await rows(r.db, Task)]
    assert owners == [
        ("For sue", False),
        ("For anna", False),
        ("For sue", True),
        ("For anna", False),
        ("For sue", True),
        ("For anna", True),
    ]


async def test_a_task_for_an_unknown_agent_fails_that_action_only(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    r.write(
        """
[[rule]]
id = "work"
on = "ticket.created"
then = [
  { action = "create_task", for = "agent:ghost", title = "Never" },
  { action = "create_task", for = "assignee", title = "Nobody's yet" },
]
"""
    )
    await r.say("hello")
    assert [(t.owner_id, t.title) for t in await rows(r.db, Task)] == [(None, "Nobody's yet")]
    assert 'rule "work" action 1 (create_task) failed' in caplog.text
