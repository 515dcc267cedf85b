"""VK events beyond a plain message: button presses, attachments, the Start button, a customer
forbidding messages, and bodies that are no event of ours."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from core import queries
from core.messages import Button
from core.models import Message
from tests.fakes.vk import FakeVk, StoredMessage
from tests.service import Running
from tests.vk_service import ALICE, MALLORY, alice_ticket, delivered, hook, svc, tickets, vk

__all__ = ["svc", "vk"]  # fixtures


async def _offer(svc: Running, vk: FakeVk) -> tuple[Any, Message]:
    ticket = await alice_ticket(vk, svc, "Is it paid?")
    message = await svc.state.desk.reply(
        ticket.number, None, "Did this help?", [Button("Yes", "helped:yes"), Button("No", "no")]
    )
    await svc.delivered()
    return ticket, message


def _first_payload(message: StoredMessage) -> str:
    assert message.keyboard is not None
    return message.keyboard["buttons"][0][0]["action"]["payload"]


async def test_buttons_are_callback_buttons_with_an_opaque_payload(svc: Running, vk: FakeVk):
    _, message = await _offer(svc, vk)
    board = json.loads(vk.params_of("messages.send")[-1]["keyboard"])
    assert board["inline"] is True
    [row] = board["buttons"]  # buttons of one row share a line
    actions = [button["action"] for button in row]
    assert [a["type"] for a in actions] == ["callback", "callback"]
    assert [a["label"] for a in actions] == ["Yes", "No"]
    ids = [b.id for b in message.buttons]
    assert [json.loads(a["payload"]) for a in actions] == [{"b": i} for i in ids]
    assert all("helped" not in a["payload"] for a in actions)


async def test_a_press_is_recorded_once_answered_and_shown(svc: Running, vk: FakeVk):
    ticket, _ = await _offer(svc, vk)
    [offer] = [m for m in vk.sent_to(ALICE.id) if m.keyboard]
    yes = _first_payload(offer)
    press = vk.message_event(ALICE, offer, json.loads(yes))
    await delivered(vk, svc, press)
    await delivered(vk, svc, press)  # VK sends the same event again: skipped
    await delivered(vk, svc, dict(press, event_id="resent"))  # the same press, a new envelope
    again = vk.message_event(ALICE, offer, json.loads(yes))  # a second tap on the old keyboard
    await delivered(vk, svc, again)

    answers = vk.event_answers
    assert [a["event_id"] for a in answers] == [press["object"]["event_id"]] * 2 + [
        again["object"]["event_id"]
    ]
    assert "event_data" not in answers[0]
    assert answers[1]["event_data"]["type"] == "show_snackbar"
    assert answers[2]["event_data"]["text"] == "Your choice is already recorded."
    assert offer.text == "Did this help?\n\n✅ Yes" and offer.keyboard == {
        "inline": True,
        "buttons": [],
    }
    assert len(vk.params_of("messages.edit")) == 1
    pressed = [m for m in await queries.messages(svc.state.db, ticket.id) if m.pressed_button_id]
    # The press once, whatever VK resends; the second tap is kept by the core as a repeat
    # (rules see first_press = false), and the customer is told their choice stands.
    assert [m.text for m in pressed] == ["Yes", "Yes"]


async def test_forged_and_foreign_presses_are_refused_politely(svc: Running, vk: FakeVk):
    await _offer(svc, vk)
    await delivered(vk, svc, vk.message_new(MALLORY, "me too"))
    [offer] = [m for m in vk.sent_to(ALICE.id) if m.keyboard]
    yes = json.loads(_first_payload(offer))
    forged = vk.message_event(ALICE, offer, {"b": "not-a-button"})
    garbage = vk.message_event(ALICE, offer, "not json")
    stolen = vk.message_event(MALLORY, offer, yes)
    stolen["object"]["peer_id"] = MALLORY.id
    vk.issued_events[stolen["object"]["event_id"]] = (MALLORY.id, MALLORY.id)
    for event in (forged, garbage, stolen):
        await delivered(vk, svc, event)
    texts = [a["event_data"]["text"] for a in vk.event_answers]
    assert texts == ["This button no longer works."] * 3
    assert vk.params_of("messages.edit") == []
    for ticket in await tickets(svc.state.db):
        assert not [
            m for m in await queries.messages(svc.state.db, ticket.id) if m.pressed_button_id
        ]


async def test_attachments_are_kept_as_metadata_with_links(svc: Running, vk: FakeVk):
    photo = {
        "type": "photo",
        "photo": {
            "id": 457239017,
            "owner_id": ALICE.id,
            "sizes": [
                {"type": "s", "url": "https://sun.userapi.com/s.jpg", "width": 75, "height": 56},
                {"type": "w", "url": "https://sun.userapi.com/w.jpg", "width": 1280, "height": 960},
                {"type": "m", "url": "https://sun.userapi.com/m.jpg", "width": 130, "height": 97},
            ],
        },
    }
    doc = {
        "type": "doc",
        "doc": {
            "id": 1,
            "owner_id": ALICE.id,
            "title": "receipt.pdf",
            "size": 2048,
            "url": "https://vk.com/doc501_1",
        },
    }
    voice = {
        "type": "audio_message",
        "audio_message": {
            "id": 2,
            "owner_id": ALICE.id,
            "duration": 3,
            "link_ogg": "https://psv4.userapi.com/a.ogg",
        },
    }
    wall = {"type": "wall", "wall": {"id": 3, "owner_id": -1}}
    await delivered(vk, svc, vk.message_new(ALICE, "", [photo, doc, voice, wall]))
    [ticket] = await tickets(svc.state.db)
    [message] = await queries.messages(svc.state.db, ticket.id)
    assert [(a["kind"], a.get("url")) for a in message.attachments] == [
        ("image", "https://sun.userapi.com/w.jpg"),
        ("file", "https://vk.com/doc501_1"),
        ("voice", "https://psv4.userapi.com/a.ogg"),
        ("file", None),
    ]
    assert message.attachments[1]["name"] == "receipt.pdf"
    assert message.attachments[3]["name"] == "wall-1_3"


async def test_the_start_button_greets_and_opens_no_ticket(svc: Running, vk: FakeVk):
    await delivered(vk, svc, vk.message_new(ALICE, "Начать", payload='{"command":"start"}'))
    [greeting] = vk.params_of("messages.send")
    assert greeting["message"].startswith("Hello!")
    assert await tickets(svc.state.db) == []


async def test_a_message_with_nothing_to_read_gets_a_polite_answer(svc: Running, vk: FakeVk):
    await delivered(vk, svc, vk.message_new(ALICE, "", geo={"type": "point"}))
    [answer] = vk.params_of("messages.send")
    assert "only read text" in answer["message"]
    assert await tickets(svc.state.db) == []


async def test_a_customer_who_forbids_messages_is_not_messaged(svc: Running, vk: FakeVk):
    ticket = await alice_ticket(vk, svc)
    await delivered(vk, svc, vk.envelope("message_deny", {"user_id": ALICE.id}))
    await svc.state.desk.reply(ticket.number, None, "Hello?")
    await svc.delivered()
    assert vk.params_of("messages.send") == []
    *_, reply, note = await queries.messages(svc.state.db, ticket.id)
    assert "blocked messages from the community" in reply.delivery.last_error
    assert note.internal


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{nope", 400, "malformed JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (None, 400, "message_new: object.message"),
    ],
)
async def test_bodies_that_are_no_event_get_400_and_store_nothing(
    svc: Running, vk: FakeVk, body: bytes | None, status: int, says: str
):
    if body is None:  # a message_new without its message
        event = vk.envelope("message_new", {"client_info": {}}) | {"secret": vk.secret}
        body = json.dumps(event).encode()
    async with aiohttp.ClientSession() as http, http.post(hook(svc), data=body) as response:
        assert response.status == status and says in await response.text()
    assert await tickets(svc.state.db) == []


async def test_event_types_we_do_not_use_get_ok_and_change_nothing(svc: Running, vk: FakeVk):
    await delivered(vk, svc, vk.envelope("wall_post_new", {"id": 1, "text": "news"}))
    await delivered(vk, svc, vk.envelope("message_typing_state", {"state": "typing"}))
    assert await tickets(svc.state.db) == [] and vk.calls == []


async def test_an_edited_message_is_stored_as_an_edit(svc: Running, vk: FakeVk):
    original = vk.message_new(ALICE, "helo")
    await delivered(vk, svc, original)
    changed = dict(original["object"]["message"], text="hello", update_time=1_800_000_000)
    await delivered(vk, svc, vk.envelope("message_edit", changed))
    [ticket] = await tickets(svc.state.db)
    [message] = await queries.messages(svc.state.db, ticket.id)
    assert message.text == "hello" and [e["text"] for e in message.edits] == ["helo"]
