"""Ratings in Viber: an NPS request as a keyboard whose two rows (0–5, 6–10) each fill the
6-column grid, the press (a silent reply) stored and answered by rules, the comment from the
next message; expiry, foreign and second presses answered with a short message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core import queries
from core.db import Database
from core.models import Message, TicketStatus
from tests.engine import rows
from tests.fakes.viber import FakeViber, ViberUser
from tests.fakes.viber.layout import lines
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
from tests.test_viber import ALICE, MALLORY, _service, hook, opened, viber
from tests.waiting import eventually

__all__ = ["viber"]  # the fake's fixture, used here


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(
    db: Database, database_url: str, tmp_path: Path, viber: FakeViber, clock: Clock
) -> AsyncIterator[Running]:
    write_rules(tmp_path, "nps")
    async for svc in _service(database_url, tmp_path, viber, clock=clock):
        yield svc


async def asked(bot: Running, viber: FakeViber, clock: Clock) -> dict[str, Any]:
    """Alice's ticket #1, closed; the rating request Viber accepted for her."""
    await opened(bot, viber, text="parcel lost")
    await close_and_ask(bot, clock, 1)
    return await eventually(lambda: _request(viber))


def _request(viber: FakeViber) -> dict[str, Any] | None:
    found = [m for m in viber.sent(ALICE.id) if m["text"].startswith("How did we do")]
    return found[0] if found else None


async def press(
    bot: Running, viber: FakeViber, request: dict[str, Any], label: str, who: ViberUser = ALICE
) -> None:
    [body] = [b["ActionBody"] for b in request["keyboard"]["Buttons"] if b["Text"] == label]
    status_, _ = await viber.deliver(hook(bot), viber.text_message(who, body))
    assert status_ == 200


def texts(viber: FakeViber, user: ViberUser = ALICE) -> list[str]:
    return [m["text"] for m in viber.sent(user.id)]


async def pressed_messages(db: Database) -> list[Message]:
    return await rows(db, Message, Message.pressed_button_id.is_not(None))


async def test_rate_thank_and_comment_in_viber(bot: Running, viber: FakeViber, clock: Clock):
    db = bot.state.db
    request = await asked(bot, viber, clock)
    keyboard = request["keyboard"]
    assert lines(keyboard) == [[str(v) for v in range(6)], [str(v) for v in range(6, 11)]]
    assert [b["Columns"] for b in keyboard["Buttons"]] == [1] * 6 + [2, 1, 1, 1, 1]
    assert all(b["Silent"] and b["ActionType"] == "reply" for b in keyboard["Buttons"])

    await press(bot, viber, request, "3")
    await eventually(lambda: WHY in texts(viber))
    assert [t for t in texts(viber) if t.startswith(THANKS)] == ["Thank you for your 3!"]
    [rating] = await ratings(db)
    ticket = await queries.ticket(db, 1)
    assert (rating.value, rating.via) == (3, "viber")
    assert rating.agent_id == ticket.assignee_id and ticket.assignee_id is not None

    status_, _ = await viber.deliver(hook(bot), viber.text_message(ALICE, "courier never came"))
    assert status_ == 200
    [rating] = await ratings(db)
    assert rating.comment == "courier never came"
    assert await status(db, 1) == TicketStatus.CLOSED and await ticket_count(db) == 1

    await press(bot, viber, request, "10")  # a second press
    assert texts(viber)[-1] == "You have already chosen this."
    [rating] = await ratings(db)
    assert rating.value == 3


async def test_a_press_after_expiry_is_told_so_and_stores_nothing(
    bot: Running, viber: FakeViber, clock: Clock
):
    request = await asked(bot, viber, clock)
    clock.advance(days=8)
    await press(bot, viber, request, "10")
    assert texts(viber)[-1] == EXPIRED and "keyboard" not in viber.sent(ALICE.id)[-1]
    assert await ratings(bot.state.db) == [] and await pressed_messages(bot.state.db) == []


async def test_a_foreign_press_is_refused(bot: Running, viber: FakeViber, clock: Clock):
    request = await asked(bot, viber, clock)
    await press(bot, viber, request, "10", who=MALLORY)
    assert texts(viber, MALLORY) == ["This button no longer works."]
    assert await ratings(bot.state.db) == [] and await pressed_messages(bot.state.db) == []
