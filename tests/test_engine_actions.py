"""Every rule action, done by the engine through the Desk as the rules."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bots.telegram.channel import TelegramChannel
from core import outbox, queries
from core.agents import set_supervisor
from core.db import Database
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.messages import Inbound, Press
from core.models import (
    Agent,
    AuditEntry,
    Button,
    Message,
    Notification,
    OutboxItem,
    Role,
    Task,
    Ticket,
    TicketStatus,
)
from settings.config import TelegramInbox
from tests.engine import Rig, rig
from tests.fakes.telegram import FakeTelegram
from tests.people import make_agent


@pytest.fixture
async def r(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(db, tmp_path) as built:
        yield built


@pytest.fixture
def rules_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="otklik.rules")
    return caplog


async def write_in(r: Rig, text: str, who: str = "alice", **customer: str) -> int:
    """A customer writes (with a name or email when given); every run due now fires."""
    got = await r.desk.receive(Inbound(inbox="web", external_id=who, text=text, **customer))
    await r.engine.fire_due()
    return got.ticket_number


async def ticket(r: Rig, number: int) -> Ticket:
    return await queries.ticket(r.db, number)


async def deactivate(db: Database, login: str) -> None:
    async with db.transaction() as s:
        await s.execute(update(Agent).where(Agent.login == login).values(active=False))


async def rows(db: Database, model: type, *where) -> list:
    async with db.reading() as s:
        return list((await s.scalars(select(model).where(*where).order_by(model.id))).all())


async def buttons_of(r: Rig, number: int) -> list[Button]:
    """The buttons the ticket's replies offered, in the order they were sent."""
    async with r.db.reading() as s:
        found = await s.scalars(
            select(Button)
            .join(Ticket, Ticket.id == Button.ticket_id)
            .where(Ticket.number == number)
            .order_by(Button.message_id, Button.position)
        )
        return list(found.all())


async def press(r: Rig, button: Button, who: str = "alice") -> None:
    await r.desk.press(Press(inbox="web", external_id=who, button_id=button.id))
    await r.engine.fire_due()


# reply


MENU = """
[[rule]]
id = "menu"
on = "ticket.created"
then = [{ action = "reply", text = "How can we help?", buttons = [
  { label = "Orders", payload = "menu:orders" },
] }]

[[rule]]
id = "orders"
on = "button.pressed"
if = { field = "button.payload", eq = "menu:orders" }
then = [{ action = "reply", text = "Order #{{ ticket.number }}: where or return?", buttons = [
  { label = "Where is it", payload = "orders:where" },
  { label = { en = "Return it", ru = "Вернуть" }, payload = "orders:return" },
] }]

[[rule]]
id = "return"
on = "button.pressed"
if = { field = "button.payload", eq = "orders:return" }
then = [{ action = "reply", text = "To return: {{ button.label }} ({{ button.payload }})" }]
"""


async def test_a_reply_offers_buttons_stored_with_their_payloads(r: Rig):
    r.write(MENU)
    number = await r.say("hi")
    assert await r.texts(number) == ["How can we help?"]
    [orders] = await buttons_of(r, number)
    assert (orders.label, orders.payload, orders.pressed_at) == ("Orders", "menu:orders", None)
    async with r.db.reading() as s:
        message = await s.get(Message, orders.message_id)
        assert message is not None and message.text == "How can we help?"
        assert message.delivery is not None  # queued to the customer's chat


async def test_pressed_buttons_chain_bot_replies_by_their_payloads(r: Rig):
    r.write(MENU)
    number = await r.say("hi")
    [orders] = await buttons_of(r, number)
    await press(r, orders)
    assert await r.texts(number) == ["How can we help?", f"Order #{number}: where or return?"]
    _, where, back = await buttons_of(r, number)
    assert [(b.label, b.payload) for b in (where, back)] == [
        ("Where is it", "orders:where"),
        ("Return it", "orders:return"),
    ]
    await press(r, where)  # no rule for this payload: nothing more is said
    assert len(await r.texts(number)) == 2
    await press(r, back)
    assert (await r.texts(number))[-1] == "To return: Return it (orders:return)"
    assert len(await r.texts(number)) == 3


async def test_a_reply_is_written_in_the_performer_s_locale(r: Rig):
    r.write(
        """
[[rule]]
id = "ack"
on = "ticket.created"
then = [{ action = "reply", text = { en = "Request #{{ ticket.number }} registered", ru = "Заявка #{{ ticket.number }} принята" }, buttons = [
  { label = { en = "Thanks", ru = "Спасибо" }, payload = "thanks" },
] }]
"""  # noqa: E501
    )
    english = await r.say("hello", who="en")
    assert await r.texts(english) == [f"Request #{english} registered"]
    russian_engine = Engine(r.desk, r.rules, Performer("ru"), clock=r.clock)
    try:
        got = await r.desk.receive(Inbound(inbox="web", external_id="ru", text="привет"))
        assert await russian_engine.fire_due() == 1
    finally:
        await russian_engine.stop()
    russian = got.ticket_number
    assert await r.texts(russian) == [f"Заявка #{russian} принята"]
    assert [b.label for b in await buttons_of(r, russian)] == ["Спасибо"]
    assert [b.label for b in await buttons_of(r, english)] == ["Thanks"]


async def test_a_value_missing_at_run_time_renders_empty_and_the_reply_is_sent(r: Rig):
    r.write(
        """
[[rule]]
id = "ack"
on = "ticket.created"
then = [{ action = "reply", text = "Agent: [{{ ticket.assignee }}], mail: [{{ customer.email.lower() }}]" }]
"""  # noqa: E501
    )
    number = await r.say("hello")
    assert await r.texts(number) == ["Agent: [], mail: []"]


async def test_a_template_that_fails_at_run_time_fails_only_its_action(
    r: Rig, caplog: pytest.LogCaptureFixture
):
    r.write(
        """
[[rule]]
id = "math"
on = "ticket.created"
then = [{ action = "reply", text = "{{ ticket.number / 0 }}" }, { action = "note", text = "after" }]
"""
    )
    number = await r.say("hello")
    assert await r.texts(number) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert 'rule "math" action 1 (reply) failed on ticket.created' in caplog.text
    assert "ZeroDivisionError" in caplog.text


# send_email


SEND_EMAIL = """
[[rule]]
id = "mail"
on = "ticket.created"
then = [
  { action = "send_email", subject = "Request #{{ ticket.number }}", text = "Dear {{ customer.name }}, we have it." },
  { action = "note", text = "after" },
]
"""  # noqa: E501


async def test_send_email_without_the_customer_s_address_is_skipped_and_logged(
    r: Rig, rules_log: pytest.LogCaptureFixture
):
    await r.desk.sync_inboxes([("mail", "email")])
    r.write(SEND_EMAIL)
    number = await write_in(r, "hello", customer_name="Alice")
    assert await r.texts(number) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert await rows(r.db, OutboxItem) == []
    assert 'rule "mail": send_email skipped: the customer has no email address' in rules_log.text


async def test_send_email_without_an_email_inbox_is_skipped_and_logged(
    r: Rig, rules_log: pytest.LogCaptureFixture
):
    r.write(SEND_EMAIL)
    number = await write_in(r, "hello", customer_email="alice@example.com")
    assert await r.texts(number) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert await rows(r.db, OutboxItem) == []
    assert 'rule "mail": send_email skipped: no email inbox is configured' in rules_log.text


async def test_send_email_queues_a_message_with_its_subject_through_the_email_inbox(r: Rig):
    await r.desk.sync_inboxes([("mail", "email")])
    r.write(SEND_EMAIL)
    number = await write_in(r, "hello", customer_name="Alice", customer_email="alice@example.com")
    assert await r.texts(number) == ["Dear Alice, we have it."]
    [item] = await rows(r.db, OutboxItem)
    async with r.db.reading() as s:
        queued = await outbox.load(s, item.id)
    assert queued.channel == "email"
    assert (queued.outbound.inbox, queued.outbound.external_id) == ("mail", "alice@example.com")
    assert queued.outbound.subject == f"Request #{number}"
    assert queued.outbound.ticket_number == number
    # a second email reuses the customer's email identity
    r.write(SEND_EMAIL.replace("ticket.created", "message.received"))
    await write_in(r, "and more", customer_email="alice@example.com")
    first, second = await rows(r.db, OutboxItem)
    assert first.identity_id == second.identity_id
    ticket_row = await ticket(r, number)
    assert second.identity_id != ticket_row.identity_id  # the web chat identity stays apart


async def test_send_email_with_a_text_that_renders_empty_fails_that_action_only(
    r: Rig, rules_log: pytest.LogCaptureFixture
):
    await r.desk.sync_inboxes([("mail", "email")])
    r.write(SEND_EMAIL.replace("Dear {{ customer.name }}, we have it.", "{{ ticket.assignee }}"))
    number = await write_in(r, "hello", customer_email="alice@example.com")
    assert await rows(r.db, OutboxItem) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert "(send_email) failed" in rules_log.text and "text must not be empty" in rules_log.text


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
    found = await ticket(r, number)
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
        assignee_id = (await ticket(r, number)).assignee_id
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
    assert (await ticket(r, number)).assignee_id is None
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
    found = await ticket(r, number)
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
    found = await ticket(r, number)
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
    assert (await ticket(r, number)).status == TicketStatus.CLOSED
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
    found = await ticket(r, number)
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
    assert (await ticket(r, number)).tags == ["vip", "billing", "eu"]
    await r.say("me again")
    assert (await ticket(r, number)).tags == ["vip", "billing", "eu"]
    # the first message.received was stored with the ticket before any tag; the second saw them
    assert await r.texts(number, internal=True) == ["VIP: vip,billing,eu"]
    async with r.db.reading() as s:
        tagged = (
            await s.scalars(select(AuditEntry.new_value).where(AuditEntry.action == "tags"))
        ).all()
    assert tagged == ["vip, billing", "eu"]


# note


async def test_a_note_is_internal_and_never_sent(r: Rig):
    r.write(
        """
[[rule]]
id = "hint"
on = "ticket.created"
then = [{ action = "note", text = "Customer {{ customer.name }} is new" }]
"""
    )
    number = await write_in(r, "hello", customer_name="Alice")
    assert await r.texts(number, internal=True) == ["Customer Alice is new"]
    assert await r.texts(number) == []
    assert await rows(r.db, OutboxItem) == []


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
    assert row.ticket_id == (await ticket(r, number)).id and row.read_at is None


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
    number = await write_in(r, "refund please", customer_name="Alice")
    ticket_id = (await ticket(r, number)).id
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
    assert (await ticket(r, 1)).assignee_id == anna.id


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
    assert (await ticket(r, number)).assignee is not None
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


# stop


async def test_stop_ends_the_event_s_immediate_rules_but_not_its_delayed_ones(r: Rig):
    r.write(
        """
[[rule]]
id = "one"
on = "ticket.created"
then = [{ action = "note", text = "one" }, { action = "stop" }, { action = "note", text = "never" }]

[[rule]]
id = "two"
on = "ticket.created"
then = [{ action = "note", text = "never either" }]

[[rule]]
id = "later"
on = "ticket.created"
delay = "1h"
then = [{ action = "note", text = "later" }, { action = "stop" }]
"""
    )
    number = await r.say("hello")
    assert await r.texts(number, internal=True) == ["one"]
    r.clock.advance(hours=1)
    assert await r.engine.fire_due() == 1
    assert await r.texts(number, internal=True) == ["one", "later"]
