"""Ratings in the web chat widget: the rule's request after close with its buttons in rows,
the press stored and answered by rules, the comment from the next message, expiry, foreign
and second presses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from core import queries
from core.db import Database
from core.models import Message, TicketStatus
from core.scales import Scale
from tests.engine import rows
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
from tests.service import Running, running, service_config
from tests.test_e2e_browser import browser
from tests.test_rules_service import bot_says
from tests.test_webchat import open_chat, say

__all__ = ["browser"]  # headless Chromium's fixture, used here


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def svc(db: Database, database_url: str, tmp_path: Path, clock: Clock):
    write_rules(tmp_path, "binary")
    async with running(service_config(database_url, tmp_path), clock=clock) as running_service:
        yield running_service


@pytest.fixture
async def alice(svc: Running, clock: Clock) -> AsyncIterator[aiohttp.ClientSession]:
    """A visitor whose closed ticket #1 got the rating request."""
    async with svc.client() as http:
        await open_chat(http)
        await say(http, "my parcel is lost")
        await close_and_ask(svc, clock, 1)
        yield http


async def press(http: aiohttp.ClientSession, button: dict[str, Any], n: int) -> Any:
    return await http.post(
        "/chat/api/web/press", json={"button": button["id"], "client_id": f"press-000{n}"}
    )


async def pressed_messages(db: Database) -> list[Message]:
    return await rows(db, Message, Message.pressed_button_id.is_not(None))


async def test_rate_thank_and_comment_through_the_widget(
    svc: Running, alice: aiohttp.ClientSession
):
    db = svc.state.db
    asked = await bot_says(alice, "How did we do with your request #1?")
    assert [(b["label"], b["row"], b["pressed"]) for b in asked["buttons"]] == [
        ("👍", 0, False),
        ("👎", 0, False),
    ]
    _, down = asked["buttons"]
    assert (await press(alice, down, 1)).status == 200
    assert (await bot_says(alice, THANKS))["text"] == "Thank you for your 0!"
    await bot_says(alice, WHY)
    [rating] = await ratings(db)
    assignee = (await queries.ticket(db, 1)).assignee_id
    assert (rating.value, rating.via, rating.agent_id) == (0, "webchat", assignee)
    assert assignee is not None

    commented = await say(alice, "the courier never came", client_id="client-0002")
    assert (await commented.json())["ticket"] == 1
    [rating] = await ratings(db)
    assert rating.comment == "the courier never came"
    assert await status(db, 1) == TicketStatus.CLOSED and await ticket_count(db) == 1

    up, _ = (await bot_says(alice, "How did we do"))["buttons"]
    assert (await press(alice, up, 2)).status == 200  # a second press changes nothing
    [rating] = await ratings(db)
    assert rating.value == 0


async def test_a_press_after_expiry_is_told_so_and_stores_nothing(
    svc: Running, alice: aiohttp.ClientSession, clock: Clock
):
    up, _ = (await bot_says(alice, "How did we do"))["buttons"]
    clock.advance(days=8)
    late = await press(alice, up, 1)
    assert late.status == 403 and (await late.json())["error"]["message"] == EXPIRED
    assert await ratings(svc.state.db) == [] and await pressed_messages(svc.state.db) == []


async def test_a_foreign_press_is_refused(svc: Running, alice: aiohttp.ClientSession):
    up, _ = (await bot_says(alice, "How did we do"))["buttons"]
    async with svc.client() as mallory:
        await open_chat(mallory)
        stolen = await press(mallory, up, 1)
        assert stolen.status == 403
        assert (await stolen.json())["error"]["message"] == "This button can no longer be used."
    assert await ratings(svc.state.db) == [] and await pressed_messages(svc.state.db) == []


async def test_the_widget_shows_each_row_on_its_line_and_says_why_a_press_is_refused(
    browser: Browser, svc: Running, clock: Clock
):
    context = await browser.new_context()
    try:  # closed before the service stops, or its socket would hold the stop up
        page = await context.new_page()
        await page.goto(f"{svc.url}/chat")
        await page.fill("#text", "parcel lost")
        await page.click("#composer button[type=submit]")
        await expect(page.locator(".message.in")).to_have_text("parcel lost")
        week = timedelta(days=7)
        await svc.state.desk.request_rating(1, Scale.NPS, week, "From 0 to 10?", "agent:x")
        lines = page.locator(".message.out .chip-row")
        await expect(lines).to_have_count(2)
        await expect(lines.nth(0).locator(".chip")).to_have_text([str(v) for v in range(6)])
        await expect(lines.nth(1).locator(".chip")).to_have_text([str(v) for v in range(6, 11)])
        clock.advance(days=8)
        await lines.nth(1).locator(".chip").last.click()
        await expect(page.locator("#status")).to_have_text(EXPIRED)
        assert await ratings(svc.state.db) == []
    finally:
        await context.close()


async def test_malformed_presses_are_400_and_leave_the_request_unanswered(
    svc: Running, alice: aiohttp.ClientSession
):
    up, _ = (await bot_says(alice, "How did we do"))["buttons"]
    bodies: list[Any] = [
        {"button": up["id"]},  # no client_id
        {"button": 1, "client_id": "press-0001"},
        {"button": "", "client_id": "press-0002"},
        {"button": "x" * 33, "client_id": "press-0003"},
        {"button": up["id"], "client_id": "press-0004", "value": 1},  # a value of its own
        ["rating:1"],
    ]
    for body in bodies:
        response = await alice.post("/chat/api/web/press", json=body)
        assert response.status == 400, body
        assert (await response.json())["error"]["message"]
    broken = await alice.post(
        "/chat/api/web/press", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400
    assert await ratings(svc.state.db) == [] and await pressed_messages(svc.state.db) == []
    assert (await press(alice, up, 5)).status == 200  # the request still takes its answer
    [rating] = await ratings(svc.state.db)
    assert rating.value == 1
