"""Ratings in VK: an NPS request has 11 buttons, more than an inline keyboard holds (10), so
it comes as callback buttons under the input field, in lines of at most 5; the press answered
and shown, stored and answered by rules (whose reply takes the keyboard away), the comment
from the next message; expiry, foreign and second presses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.vk.delivery import CAPABILITIES
from bots.vk.keyboards import keyboard
from core import adapt, queries
from core.db import Database
from core.messages import Outbound, OutButton
from core.models import Message, TicketStatus
from tests.engine import rows
from tests.fakes.vk import FakeVk, StoredMessage, VkError
from tests.fakes.vk.methods import check_keyboard
from tests.ratings_chats import (
    EXPIRED,
    THANKS,
    WHY,
    Clock,
    close_and_ask,
    ratings,
    status,
    ticket_count,
    write_rules,
)
from tests.service import Running
from tests.vk_service import ALICE, MALLORY, _service, alice_ticket, delivered, vk
from tests.waiting import eventually

__all__ = ["vk"]  # the fake's fixture, used here


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def svc(
    db: Database, database_url: str, tmp_path: Path, vk: FakeVk, clock: Clock
) -> AsyncIterator[Running]:
    write_rules(tmp_path, "nps")
    async for running_service in _service(db, database_url, tmp_path, vk, "callback", clock):
        yield running_service


async def asked(svc: Running, vk: FakeVk, clock: Clock) -> StoredMessage:
    """Alice's ticket #1, closed; the rating request in her dialog."""
    await alice_ticket(vk, svc, "parcel lost")
    await close_and_ask(svc, clock, 1)
    return await eventually(lambda: _request(vk))


def _request(vk: FakeVk) -> StoredMessage | None:
    found = [m for m in vk.sent_to(ALICE.id) if m.text.startswith("How did we do")]
    return found[0] if found else None


def labels(board: dict[str, Any]) -> list[list[str]]:
    return [[b["action"]["label"] for b in line] for line in board["buttons"]]


def press(vk: FakeVk, request: StoredMessage, board: Any, label: str) -> dict[str, Any]:
    """Alice presses ``label`` on the keyboard ``board`` the request came with."""
    [payload] = [
        b["action"]["payload"]
        for line in board["buttons"]
        for b in line
        if b["action"]["label"] == label
    ]
    return vk.message_event(ALICE, request, json.loads(payload))


def snackbars(vk: FakeVk) -> list[str | None]:
    return [a.get("event_data", {}).get("text") for a in vk.event_answers]


async def pressed_messages(db: Database) -> list[Message]:
    return await rows(db, Message, Message.pressed_button_id.is_not(None))


async def test_rate_thank_and_comment_in_vk(svc: Running, vk: FakeVk, clock: Clock):
    db = svc.state.db
    request = await asked(svc, vk, clock)
    board = request.keyboard
    assert board is not None and not board["inline"]
    assert labels(board) == [["0", "1", "2"], ["3", "4", "5"], ["6", "7", "8", "9", "10"]]
    assert all(b["action"]["type"] == "callback" for line in board["buttons"] for b in line)
    assert vk.under_input[ALICE.id] == board

    choice = press(vk, request, board, "3")
    await delivered(vk, svc, choice)
    assert snackbars(vk) == [None]
    assert request.text.endswith("\n\n✅ 3")
    await eventually(lambda: any(m.text == WHY for m in vk.sent_to(ALICE.id)))
    thanks = [m.text for m in vk.sent_to(ALICE.id) if m.text.startswith(THANKS)]
    assert thanks == ["Thank you for your 3!"]
    assert ALICE.id not in vk.under_input, "our next message took the keyboard away"
    [rating] = await ratings(db)
    ticket = await queries.ticket(db, 1)
    assert (rating.value, rating.via) == (3, "vk")
    assert rating.agent_id == ticket.assignee_id and ticket.assignee_id is not None

    await delivered(vk, svc, vk.message_new(ALICE, "the courier never came"))
    [rating] = await ratings(db)
    assert rating.comment == "the courier never came"
    assert await status(db, 1) == TicketStatus.CLOSED and await ticket_count(db) == 1

    await delivered(vk, svc, press(vk, request, board, "10"))  # a second press
    assert snackbars(vk)[-1] == "Your choice is already recorded."
    [rating] = await ratings(db)
    assert rating.value == 3 and len(vk.params_of("messages.edit")) == 1


async def test_a_press_after_expiry_is_told_so_and_stores_nothing(
    svc: Running, vk: FakeVk, clock: Clock
):
    request = await asked(svc, vk, clock)
    clock.advance(days=8)
    await delivered(vk, svc, press(vk, request, request.keyboard, "10"))
    assert snackbars(vk) == [EXPIRED]
    assert vk.params_of("messages.edit") == []
    assert await ratings(svc.state.db) == [] and await pressed_messages(svc.state.db) == []


async def test_a_foreign_press_is_refused(svc: Running, vk: FakeVk, clock: Clock):
    request = await asked(svc, vk, clock)
    stolen = press(vk, request, request.keyboard, "10")
    stolen["object"] |= {"user_id": MALLORY.id, "peer_id": MALLORY.id}
    vk.issued_events[stolen["object"]["event_id"]] = (MALLORY.id, MALLORY.id)
    await delivered(vk, svc, stolen)
    assert snackbars(vk) == ["This button no longer works."]
    assert await ratings(svc.state.db) == [] and await pressed_messages(svc.state.db) == []


def _lines(buttons: list[OutButton]) -> tuple[bool, list[int]]:
    out = Outbound(1, 1, "vk", "1", "Choose", 1, buttons=tuple(buttons))
    [fitted] = adapt.parts(out, CAPABILITIES, "en")  # the core lays the buttons out
    built = keyboard(fitted.buttons)
    assert built is not None
    board = check_keyboard(built.json)  # what the fake VK, as VK, accepts
    assert board is not None
    return built.inline, [len(line) for line in board["buttons"]]


def test_keyboards_follow_the_rows_within_vk_limits():
    five = [OutButton(f"f{i}", str(i)) for i in range(5)]
    assert _lines(five) == (True, [5])
    nps = [OutButton(f"n{i}", str(i), row=i // 6) for i in range(11)]
    assert _lines(nps) == (False, [3, 3, 5])
    many = [OutButton(f"m{i}", str(i), row=i // 5) for i in range(45)]
    assert _lines(many) == (False, [5] * 8), "40 buttons at most, under the input field"


@pytest.mark.parametrize(
    ("inline", "lines"),
    [(True, [6]), (True, [5, 5, 1]), (True, [1] * 7), (False, [6]), (False, [1] * 11)],
)
def test_the_fake_refuses_keyboards_over_vk_limits(inline: bool, lines: list[int]):
    button = {"action": {"type": "callback", "label": "x", "payload": "{}"}}
    board = {"inline": inline, "buttons": [[button] * n for n in lines]}
    with pytest.raises(VkError) as refused:
        check_keyboard(json.dumps(board))
    assert refused.value.code == 911
