"""Agents work tickets: lifecycle, rights, replies through the outbox, notes, audit trail."""

import pytest

from core import events, queries
from core.db import Database
from core.desk import Desk
from core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from core.messages import Button, Inbound
from core.models import Agent, Delivery, Role, TicketStatus
from tests.conftest import Recorder
from tests.people import make_agent


@pytest.fixture
async def number(desk: Desk) -> int:
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="Where is my order?"))
    return got.ticket_number


async def test_reply_opens_assigns_and_queues_delivery(
    desk: Desk, db: Database, number: int, recorder: Recorder
):
    anna = await make_agent(db, "anna")
    recorder.clear()
    message = await desk.reply(number, anna, "It ships today")
    ticket = await queries.ticket(db, number)
    assert ticket.status == TicketStatus.OPEN
    assert ticket.assignee_id == anna.id and ticket.first_reply_at is not None
    [_, stored] = await queries.messages(db, ticket.id)
    assert stored.id == message.id and stored.author_agent_id == anna.id
    assert stored.delivery is not None and stored.delivery.status == Delivery.QUEUED
    assert recorder.names() == [
        events.TICKET_ASSIGNED,
        events.TICKET_STATUS_CHANGED,
        events.MESSAGE_SENT,
    ]


async def test_status_lifecycle_and_audit_trail(
    desk: Desk, db: Database, number: int, recorder: Recorder
):
    anna = await make_agent(db, "anna")
    for status in (
        TicketStatus.OPEN,
        TicketStatus.WAITING,
        TicketStatus.OPEN,
        TicketStatus.CLOSED,
        TicketStatus.OPEN,
    ):
        await desk.set_status(number, anna, status)
    ticket = await queries.ticket(db, number)
    trail = [
        (e.actor, e.agent_id, e.old_value, e.new_value) for e in await queries.audit(db, ticket.id)
    ]
    assert trail == [
        ("customer", None, None, "new"),
        ("agent", anna.id, "new", "open"),
        ("agent", anna.id, "open", "waiting"),
        ("agent", anna.id, "waiting", "open"),
        ("agent", anna.id, "open", "closed"),
        ("agent", anna.id, "closed", "open"),
    ]
    assert events.TICKET_CLOSED in recorder.names()
    assert recorder.names()[-1] == events.TICKET_REOPENED
    assert ticket.closed_at is None


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((TicketStatus.CLOSED,), TicketStatus.WAITING),
        ((TicketStatus.CLOSED,), TicketStatus.CLOSED),
        ((TicketStatus.OPEN,), TicketStatus.OPEN),
        ((), TicketStatus.NEW),
    ],
)
async def test_invalid_transitions_are_refused_and_change_nothing(
    desk: Desk, db: Database, number: int, path: tuple[TicketStatus, ...], refused: TicketStatus
):
    anna = await make_agent(db, "anna")
    for status in path:
        await desk.set_status(number, anna, status)
    before = await queries.audit(db, (await queries.ticket(db, number)).id)
    with pytest.raises(InvalidTransition, match=f"not {refused}"):
        await desk.set_status(number, anna, refused)
    after = await queries.audit(db, (await queries.ticket(db, number)).id)
    assert len(after) == len(before)


async def test_reply_to_closed_ticket_is_refused(desk: Desk, db: Database, number: int):
    anna = await make_agent(db, "anna")
    await desk.set_status(number, anna, TicketStatus.CLOSED)
    with pytest.raises(InvalidTransition, match="reopen"):
        await desk.reply(number, anna, "late answer")


async def test_agent_cannot_work_another_agents_ticket(desk: Desk, db: Database, number: int):
    anna = await make_agent(db, "anna")
    boris = await make_agent(db, "boris")
    await desk.assign(number, anna, anna.id)
    with pytest.raises(Forbidden, match="assigned to Anna"):
        await desk.reply(number, boris, "mine now")
    with pytest.raises(Forbidden):
        await desk.set_status(number, boris, TicketStatus.CLOSED)
    with pytest.raises(Forbidden):
        await desk.assign(number, boris, boris.id)
    ticket = await queries.ticket(db, number)
    assert ticket.assignee_id == anna.id and ticket.status == TicketStatus.NEW
    assert len(await queries.messages(db, ticket.id)) == 1


async def test_agent_assigns_only_to_themselves_supervisor_to_anyone(
    desk: Desk, db: Database, number: int
):
    anna = await make_agent(db, "anna")
    boris = await make_agent(db, "boris")
    sveta = await make_agent(db, "sveta", Role.SUPERVISOR)
    with pytest.raises(Forbidden, match="only to themselves"):
        await desk.assign(number, anna, boris.id)
    await desk.assign(number, sveta, boris.id)
    assert (await queries.ticket(db, number)).assignee_id == boris.id
    await desk.reply(number, sveta, "Supervisor here")
    assert (await queries.ticket(db, number)).assignee_id == boris.id
    with pytest.raises(InvalidInput, match="agent 999"):
        await desk.assign(number, sveta, 999)


async def test_notes_are_internal_and_never_queued(desk: Desk, db: Database, number: int):
    boris = await make_agent(db, "boris")
    await desk.note(number, boris, "VIP customer")
    ticket = await queries.ticket(db, number)
    note = (await queries.messages(db, ticket.id))[-1]
    assert note.internal and note.delivery is None
    assert ticket.status == TicketStatus.NEW
    shown = await queries.messages(db, ticket.id, include_internal=False)
    assert note.id not in [m.id for m in shown]


async def test_unknown_ticket_is_not_found(desk: Desk, db: Database, number: int):
    anna = await make_agent(db, "anna")
    with pytest.raises(NotFound, match="#404"):
        await desk.reply(404, anna, "hello")


async def test_bad_buttons_fail_when_built():
    with pytest.raises(InvalidInput, match="payload"):
        Button("Yes", "has spaces")
    with pytest.raises(InvalidInput, match="payload"):
        Button("Yes", "x" * 65)
    with pytest.raises(InvalidInput, match="label"):
        Button("", "ok")


async def test_agent_works_a_ticket_assigned_to_themselves(desk: Desk, db: Database, number: int):
    # The agent object comes from another session (as a signed-in web session's does).
    anna = await make_agent(db, "anna")
    await desk.assign(number, anna, anna.id)
    await desk.reply(number, anna, "On it")
    await desk.note(number, anna, "Checked the warehouse")
    await desk.set_status(number, anna, TicketStatus.WAITING)
    await desk.assign(number, anna, None)
    ticket = await queries.ticket(db, number)
    assert ticket.status == TicketStatus.WAITING and ticket.assignee_id is None
    assert [m.author_agent_id for m in await queries.messages(db, ticket.id)] == [
        None,
        anna.id,
        anna.id,
    ]


async def test_deactivated_agent_can_no_longer_act(desk: Desk, db: Database, number: int):
    anna = await make_agent(db, "anna")
    async with db.transaction() as s:
        (await s.get(Agent, anna.id)).active = False
    with pytest.raises(Forbidden, match="not active"):
        await desk.reply(number, anna, "still here?")
