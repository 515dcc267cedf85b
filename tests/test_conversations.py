"""Inbound messages find their ticket: de-duplication, reuse of live tickets, never of closed."""

import asyncio

import pytest

from core import events, queries
from core.db import Database
from core.desk import Desk
from core.errors import InvalidInput, NotFound
from core.messages import Attachment, Inbound
from core.models import Role, TicketStatus
from tests.conftest import Recorder
from tests.people import make_agent


@pytest.fixture
async def inbox(desk: Desk) -> str:
    await desk.sync_inboxes([("web", "webchat"), ("other", "webchat")])
    return "web"


def said(text: str, who: str = "visitor-1", pid: str | None = None, inbox: str = "web") -> Inbound:
    return Inbound(
        inbox=inbox,
        external_id=who,
        text=text,
        platform_message_id=pid,
        customer_name="Ivan Petrov",
    )


async def test_first_message_opens_a_new_ticket(desk: Desk, inbox: str, recorder: Recorder):
    got = await desk.receive(said("My order #55 never arrived", pid="m1"))
    assert got.new_ticket and not got.duplicate
    ticket = await queries.ticket(desk.db, got.ticket_number)
    assert ticket.status == TicketStatus.NEW
    assert ticket.subject == "My order #55 never arrived"
    assert ticket.customer.name == "Ivan Petrov"
    assert recorder.names() == [events.TICKET_CREATED, events.MESSAGE_RECEIVED]
    created = recorder.events[0]
    assert created.data["ticket"]["number"] == got.ticket_number
    assert created.data["inbox"] == {"name": "web", "channel": "webchat"}


async def test_replayed_update_stores_one_message(desk: Desk, inbox: str):
    first = await desk.receive(said("hello", pid="m1"))
    again = await desk.receive(said("hello", pid="m1"))
    assert again.duplicate and again.message_id == first.message_id
    assert len(await queries.messages(desk.db, (await queries.ticket(desk.db, 1)).id)) == 1


async def test_concurrent_replays_store_one_message_and_one_ticket(desk: Desk, inbox: str):
    results = await asyncio.gather(*(desk.receive(said("hi", pid="same")) for _ in range(8)))
    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    _, total = await queries.tickets(desk.db, queries.TicketFilter())
    assert total == 1


async def test_concurrent_first_messages_of_one_customer_open_one_ticket(desk: Desk, inbox: str):
    results = await asyncio.gather(*(desk.receive(said(f"m{i}", pid=f"p{i}")) for i in range(6)))
    assert len({r.ticket_number for r in results}) == 1
    assert sum(r.new_ticket for r in results) == 1


async def test_next_message_joins_the_live_ticket(desk: Desk, inbox: str):
    a = await desk.receive(said("one", pid="1"))
    b = await desk.receive(said("two", pid="2"))
    assert b.ticket_number == a.ticket_number and not b.new_ticket


async def test_same_platform_id_in_another_inbox_is_another_message(desk: Desk, inbox: str):
    a = await desk.receive(said("one", pid="1"))
    b = await desk.receive(said("one", pid="1", inbox="other"))
    assert not b.duplicate and b.ticket_number != a.ticket_number


async def test_waiting_ticket_reopens_on_customer_message(
    desk: Desk, db: Database, inbox: str, recorder: Recorder
):
    agent = await make_agent(db, "anna")
    got = await desk.receive(said("help"))
    await desk.set_status(got.ticket_number, agent, TicketStatus.WAITING)
    recorder.clear()
    again = await desk.receive(said("here is the info"))
    assert again.ticket_number == got.ticket_number
    assert (await queries.ticket(db, got.ticket_number)).status == TicketStatus.OPEN
    assert recorder.names() == [events.TICKET_STATUS_CHANGED, events.MESSAGE_RECEIVED]
    trail = await queries.audit(db, (await queries.ticket(db, got.ticket_number)).id)
    assert [(e.actor, e.old_value, e.new_value) for e in trail][-1] == (
        "customer",
        "waiting",
        "open",
    )


async def test_closed_ticket_is_never_reused(desk: Desk, db: Database, inbox: str):
    agent = await make_agent(db, "anna", Role.SUPERVISOR)
    first = await desk.receive(said("help"))
    await desk.set_status(first.ticket_number, agent, TicketStatus.CLOSED)
    second = await desk.receive(said("another question"))
    assert second.new_ticket and second.ticket_number == first.ticket_number + 1
    assert (await queries.ticket(db, first.ticket_number)).status == TicketStatus.CLOSED


async def test_attachments_are_kept_as_metadata(desk: Desk, inbox: str):
    photo = Attachment(
        kind="image", name="receipt.jpg", mime="image/jpeg", size=2048, file_id="AgAD-1"
    )
    got = await desk.receive(Inbound(inbox="web", external_id="v", attachments=(photo,)))
    ticket = await queries.ticket(desk.db, got.ticket_number)
    [message] = await queries.messages(desk.db, ticket.id)
    assert message.attachments == [photo.as_dict()]
    assert ticket.subject == "receipt.jpg"


async def test_empty_message_is_refused_and_stores_nothing(desk: Desk, inbox: str):
    with pytest.raises(InvalidInput):
        await desk.receive(said("   "))
    assert (await queries.tickets(desk.db, queries.TicketFilter()))[1] == 0


async def test_unknown_inbox_is_refused(desk: Desk, inbox: str):
    with pytest.raises(NotFound, match="inbox 'nope'"):
        await desk.receive(said("hi", inbox="nope"))


async def test_search_finds_tickets_by_message_text_customer_and_number(desk: Desk, inbox: str):
    await desk.receive(said("Refund for order 100%", who="a"))
    await desk.receive(
        Inbound(inbox="web", external_id="b", text="Delivery", customer_name="Maria Sidorova")
    )
    by_text = await queries.tickets(desk.db, queries.TicketFilter(text="100%"))
    by_name = await queries.tickets(desk.db, queries.TicketFilter(text="sidorova"))
    by_number = await queries.tickets(desk.db, queries.TicketFilter(text="#2"))
    assert [t.number for t in by_text[0]] == [1]
    assert [t.number for t in by_name[0]] == [2]
    assert [t.number for t in by_number[0]] == [2]


async def test_search_is_case_blind_in_cyrillic_and_ignores_phone_numbers(desk: Desk, inbox: str):
    await desk.receive(
        Inbound(
            inbox="web",
            external_id="a",
            text="Здравствуйте, звоните 79161234567",
            customer_name="Иван Петров",
        )
    )
    by_name = await queries.tickets(desk.db, queries.TicketFilter(text="иван"))
    by_phone = await queries.tickets(desk.db, queries.TicketFilter(text="79161234567"))
    assert by_name[1] == 1 and by_phone[1] == 1


async def test_nul_characters_are_stored_as_replacement(desk: Desk, inbox: str):
    got = await desk.receive(
        Inbound(inbox="web", external_id="a", text="bad\x00byte", customer_name="Eve\x00")
    )
    ticket = await queries.ticket(desk.db, got.ticket_number)
    [message] = await queries.messages(desk.db, ticket.id)
    assert message.text == "bad\ufffdbyte" and ticket.customer.name == "Eve\ufffd"


async def test_a_new_message_moves_its_ticket_to_the_top(desk: Desk, db: Database, inbox: str):
    await desk.receive(said("first", who="a"))
    await desk.receive(said("second", who="b"))
    order = [t.number for t in (await queries.tickets(db, queries.TicketFilter()))[0]]
    assert order == [2, 1]
    await desk.receive(said("me again", who="a"))
    order = [t.number for t in (await queries.tickets(db, queries.TicketFilter()))[0]]
    assert order == [1, 2]
    anna = await make_agent(db, "anna")
    await desk.reply(2, anna, "hello b")
    order = [t.number for t in (await queries.tickets(db, queries.TicketFilter()))[0]]
    assert order == [2, 1]
