"""Button presses: only by the customer they were sent to, recorded once, never reopening."""

import pytest

from core import events, queries
from core.db import Database
from core.desk import Desk
from core.errors import ButtonRefused
from core.messages import Button, Inbound, Press
from core.models import TicketStatus
from tests.conftest import Recorder
from tests.people import make_agent


@pytest.fixture
async def offered(desk: Desk, db: Database) -> tuple[int, list[str]]:
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="alice", text="hi"))
    await desk.receive(Inbound(inbox="web", external_id="mallory", text="me too"))
    anna = await make_agent(db, "anna")
    message = await desk.reply(
        got.ticket_number, anna, "Solved?", [Button("Yes", "solved:yes"), Button("No", "solved:no")]
    )
    return got.ticket_number, [b.id for b in message.buttons]


async def test_press_by_the_recipient_emits_payload(
    desk: Desk, offered: tuple[int, list[str]], recorder: Recorder
):
    number, (yes, _) = offered
    recorder.clear()
    got = await desk.press(
        Press(inbox="web", external_id="alice", button_id=yes, platform_event_id="cb1")
    )
    assert got.ticket_number == number
    [event] = recorder.events
    assert event.name == events.BUTTON_PRESSED
    assert event.data["button"]["payload"] == "solved:yes"
    assert event.data["button"]["first_press"] is True


async def test_replayed_press_is_recorded_once(
    desk: Desk, offered: tuple[int, list[str]], recorder: Recorder
):
    _, (yes, _) = offered
    press = Press(inbox="web", external_id="alice", button_id=yes, platform_event_id="cb1")
    first = await desk.press(press)
    again = await desk.press(press)
    assert again.duplicate and again.message_id == first.message_id


async def test_the_first_press_of_a_message_s_buttons_is_the_choice(
    desk: Desk, offered: tuple[int, list[str]], recorder: Recorder
):
    _, (yes, no) = offered
    chose = await desk.press(Press(inbox="web", external_id="alice", button_id=yes))
    changed = await desk.press(Press(inbox="web", external_id="alice", button_id=no))
    again = await desk.press(Press(inbox="web", external_id="alice", button_id=yes))
    assert (chose.first_press, changed.first_press, again.first_press) == (True, False, False)
    presses = [e.data["button"] for e in recorder.events if e.name == events.BUTTON_PRESSED]
    assert [(b["payload"], b["first_press"]) for b in presses] == [
        ("solved:yes", True),
        ("solved:no", False),
        ("solved:yes", False),
    ]


@pytest.mark.parametrize(
    ("who", "button", "reason"),
    [
        ("mallory", 0, "another chat"),
        ("stranger", 0, "another chat"),
        ("alice", None, "unknown"),
    ],
)
async def test_foreign_or_forged_press_is_refused_and_changes_nothing(
    desk: Desk,
    db: Database,
    offered: tuple[int, list[str]],
    recorder: Recorder,
    who: str,
    button: int | None,
    reason: str,
):
    number, ids = offered
    recorder.clear()
    button_id = ids[button] if button is not None else "forged-id-123"
    with pytest.raises(ButtonRefused, match=reason):
        await desk.press(Press(inbox="web", external_id=who, button_id=button_id))
    assert recorder.events == []
    ticket = await queries.ticket(db, number)
    assert [m.text for m in await queries.messages(db, ticket.id)] == ["hi", "Solved?"]


async def test_press_on_closed_ticket_does_not_reopen_it(
    desk: Desk, db: Database, offered: tuple[int, list[str]]
):
    number, (yes, _) = offered
    assignee = await queries.agent(db, (await queries.ticket(db, number)).assignee_id or 0)
    await desk.set_status(number, assignee, TicketStatus.CLOSED)
    await desk.press(Press(inbox="web", external_id="alice", button_id=yes))
    assert (await queries.ticket(db, number)).status == TicketStatus.CLOSED
