"""A survey of one NPS question in VK and Viber, through their fake APIs: the rule's question
with buttons 0-10 laid out within each platform's limits, a press submits the survey and
thanks the customer, a second press is told the survey is answered and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.db import Database
from tests.fakes.viber import FakeViber
from tests.fakes.viber.layout import lines
from tests.fakes.vk import FakeVk, StoredMessage
from tests.ratings_chats import (
    SURVEY_ANSWERED,
    SURVEY_ASKED,
    SURVEY_THANKS,
    Clock,
    close_and_ask,
    survey_answers,
    write_survey_rules,
)
from tests.service import Running
from tests.test_viber import ALICE as VIBER_ALICE
from tests.test_viber import _service as viber_service
from tests.test_viber import hook, opened, viber
from tests.vk_service import ALICE as VK_ALICE
from tests.vk_service import _service as vk_service
from tests.vk_service import alice_ticket, delivered, vk
from tests.waiting import eventually

__all__ = ["viber", "vk"]  # the fakes' fixtures, used here

QUESTION = "Would you recommend us to a friend?\n0 = not at all likely, 10 = extremely likely"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def on_vk(
    db: Database, database_url: str, tmp_path: Path, vk: FakeVk, clock: Clock
) -> AsyncIterator[Running]:
    write_survey_rules(tmp_path)
    async for svc in vk_service(db, database_url, tmp_path, vk, "callback", clock):
        yield svc


@pytest.fixture
async def on_viber(
    db: Database, database_url: str, tmp_path: Path, viber: FakeViber, clock: Clock
) -> AsyncIterator[Running]:
    write_survey_rules(tmp_path)
    async for svc in viber_service(database_url, tmp_path, viber, clock=clock):
        yield svc


def vk_press(vk: FakeVk, survey: StoredMessage, board: Any, label: str) -> dict[str, Any]:
    """Alice presses ``label`` on the keyboard ``board`` the survey came with."""
    [payload] = [
        b["action"]["payload"]
        for line in board["buttons"]
        for b in line
        if b["action"]["label"] == label
    ]
    return vk.message_event(VK_ALICE, survey, json.loads(payload))


async def test_vk_gets_callback_buttons_and_a_press_submits_the_survey(
    on_vk: Running, vk: FakeVk, clock: Clock
):
    await alice_ticket(vk, on_vk, "parcel lost")
    await close_and_ask(on_vk, clock, 1)

    def sent() -> StoredMessage | None:
        found = [m for m in vk.sent_to(VK_ALICE.id) if m.text.startswith(SURVEY_ASKED)]
        return found[0] if found else None

    survey = await eventually(sent)
    assert survey.text == f"{SURVEY_ASKED}\n\n{QUESTION}"
    board = survey.keyboard
    assert board is not None and not board["inline"]  # 11 buttons: under the input field
    shown = [[b["action"]["label"] for b in line] for line in board["buttons"]]
    assert shown == [["0", "1", "2"], ["3", "4", "5"], ["6", "7", "8", "9", "10"]]

    await delivered(vk, on_vk, vk_press(vk, survey, board, "8"))
    await eventually(lambda: any(m.text == SURVEY_THANKS for m in vk.sent_to(VK_ALICE.id)))
    assert survey.text.endswith("\n\n✅ 8")
    assert await survey_answers(on_vk.state.db) == [("recommend", 8)]

    await delivered(vk, on_vk, vk_press(vk, survey, board, "2"))  # a second press
    answers = [a.get("event_data", {}).get("text") for a in vk.event_answers]
    assert answers == [None, SURVEY_ANSWERED]
    assert await survey_answers(on_vk.state.db) == [("recommend", 8)]


async def test_viber_gets_a_keyboard_and_a_press_submits_the_survey(
    on_viber: Running, viber: FakeViber, clock: Clock
):
    await opened(on_viber, viber, text="parcel lost")
    await close_and_ask(on_viber, clock, 1)

    def sent() -> dict[str, Any] | None:
        found = [m for m in viber.sent(VIBER_ALICE.id) if m["text"].startswith(SURVEY_ASKED)]
        return found[0] if found else None

    survey = await eventually(sent)
    assert survey["text"] == f"{SURVEY_ASKED}\n\n{QUESTION}"
    keyboard = survey["keyboard"]
    assert lines(keyboard) == [[str(v) for v in range(6)], [str(v) for v in range(6, 11)]]

    async def press(label: str) -> None:
        [body] = [b["ActionBody"] for b in keyboard["Buttons"] if b["Text"] == label]
        status, _ = await viber.deliver(hook(on_viber), viber.text_message(VIBER_ALICE, body))
        assert status == 200

    def texts() -> list[str]:
        return [m["text"] for m in viber.sent(VIBER_ALICE.id)]

    await press("6")
    await eventually(lambda: SURVEY_THANKS in texts())
    assert await survey_answers(on_viber.state.db) == [("recommend", 6)]
    await press("10")  # a second press
    await eventually(lambda: texts()[-1] == SURVEY_ANSWERED)
    assert await survey_answers(on_viber.state.db) == [("recommend", 6)]
