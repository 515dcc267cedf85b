"""In headless Chromium: an agent sends a rating request from the ticket page, the customer
answers from the link, and the agent's page shows the rating without a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from core.models import RatingRequest
from tests.browser import chromium
from tests.people import make_agent
from tests.rating_pages import asked
from tests.service import Running
from tests.test_e2e_browser import sign_in


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def test_a_requested_rating_shows_on_the_agents_page(browser: Browser, service: Running):
    await make_agent(service.state.db, "anna")
    number, _ = await asked(service)
    agent_ctx, customer_ctx = await browser.new_context(), await browser.new_context()
    agent, customer = await agent_ctx.new_page(), await customer_ctx.new_page()
    await sign_in(agent, service.url, "anna")
    await agent.goto(f"{service.url}/inbox/tickets/{number}")
    await expect(agent.locator("#ratings")).to_contain_text("No ratings yet.")

    await agent.click("#request-rating button")
    ask = f"How did we do with your request #{number}? One tap to rate us."
    await expect(agent.locator(".msg.out .text").last).to_have_text(ask)
    async with service.state.db.reading() as s:
        token = await s.scalar(
            select(RatingRequest.token).where(RatingRequest.origin == "agent:anna")
        )

    await customer.goto(f"{service.url}/rate/{token}?v=0")
    await expect(customer.locator("#rate-value")).to_have_text("👎")
    await customer.fill("#comment", "Too slow")
    await customer.click("#comment-send")

    row = agent.locator("#ratings tr.rating")
    await expect(row).to_contain_text("👎")
    await expect(row).to_contain_text("rating page")
    await expect(row.locator(".rating-comment")).to_have_text("Too slow")
    await agent_ctx.close()
    await customer_ctx.close()
