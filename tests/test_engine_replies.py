"""Rule actions that write: reply (with buttons, chained by presses), send_email, note;
and stop."""

from __future__ import annotations

import pytest

from core import outbox
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.messages import Inbound
from core.models import (
    Message,
    OutboxItem,
)
from tests.engine import Rig, rows

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
    [orders] = await r.buttons(number)
    assert (orders.label, orders.payload, orders.pressed_at) == ("Orders", "menu:orders", None)
    async with r.db.reading() as s:
        message = await s.get(Message, orders.message_id)
        assert message is not None and message.text == "How can we help?"
        assert message.delivery is not None  # queued to the customer's chat


async def test_pressed_buttons_chain_bot_replies_by_their_payloads(r: Rig):
    r.write(MENU)
    number = await r.say("hi")
    [orders] = await r.buttons(number)
    await r.press(orders)
    assert await r.texts(number) == ["How can we help?", f"Order #{number}: where or return?"]
    _, where, back = await r.buttons(number)
    assert [(b.label, b.payload) for b in (where, back)] == [
        ("Where is it", "orders:where"),
        ("Return it", "orders:return"),
    ]
    await r.press(where)  # no rule for this payload: nothing more is said
    assert len(await r.texts(number)) == 2
    await r.press(back)
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
    assert [b.label for b in await r.buttons(russian)] == ["Спасибо"]
    assert [b.label for b in await r.buttons(english)] == ["Thanks"]


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
    number = await r.say("hello", customer_name="Alice")
    assert await r.texts(number) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert await rows(r.db, OutboxItem) == []
    assert 'rule "mail": send_email skipped: the customer has no email address' in rules_log.text


async def test_send_email_without_an_email_inbox_is_skipped_and_logged(
    r: Rig, rules_log: pytest.LogCaptureFixture
):
    r.write(SEND_EMAIL)
    number = await r.say("hello", customer_email="alice@example.com")
    assert await r.texts(number) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert await rows(r.db, OutboxItem) == []
    assert 'rule "mail": send_email skipped: no email inbox is configured' in rules_log.text


async def test_send_email_queues_a_message_with_its_subject_through_the_email_inbox(r: Rig):
    await r.desk.sync_inboxes([("mail", "email")])
    r.write(SEND_EMAIL)
    number = await r.say("hello", customer_name="Alice", customer_email="alice@example.com")
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
    await r.say("and more", customer_email="alice@example.com")
    first, second = await rows(r.db, OutboxItem)
    assert first.identity_id == second.identity_id
    ticket_row = await r.ticket(number)
    assert second.identity_id != ticket_row.identity_id  # the web chat identity stays apart


async def test_send_email_with_a_text_that_renders_empty_fails_that_action_only(
    r: Rig, rules_log: pytest.LogCaptureFixture
):
    await r.desk.sync_inboxes([("mail", "email")])
    r.write(SEND_EMAIL.replace("Dear {{ customer.name }}, we have it.", "{{ ticket.assignee }}"))
    number = await r.say("hello", customer_email="alice@example.com")
    assert await rows(r.db, OutboxItem) == []
    assert await r.texts(number, internal=True) == ["after"]
    assert "(send_email) failed" in rules_log.text and "text must not be empty" in rules_log.text


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
    number = await r.say("hello", customer_name="Alice")
    assert await r.texts(number, internal=True) == ["Customer Alice is new"]
    assert await r.texts(number) == []
    assert await rows(r.db, OutboxItem) == []


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
