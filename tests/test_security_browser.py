"""In headless Chromium: what a customer writes is shown as text and never runs, in the
agent's ticket list and ticket page (on load and when it arrives live) and in the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from core.messages import Inbound
from tests.browser import chromium
from tests.people import make_agent
from tests.service import Running
from tests.test_e2e_browser import sign_in

SCRIPT = "<script>window.__ran = (window.__ran || 0) + 1</script>"
IMAGE = '<img src="x" onerror="window.__ran = (window.__ran || 0) + 1">'
SVG = '<svg onload="window.__ran = (window.__ran || 0) + 1"></svg>'
NAME = '"><img src=x onerror="window.__ran = 1">'


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def nothing_ran(page: Page) -> None:
    assert await page.evaluate("window.__ran") is None
    assert await page.locator("img[src=x], svg[onload], script:not([src])").count() == 0


async def test_customer_html_is_text_in_the_inbox_and_the_chat(browser: Browser, service: Running):
    dialogs: list[str] = []
    await make_agent(service.state.db, "anna")
    desk = service.state.desk
    got = await desk.receive(
        Inbound(inbox="web", external_id="eve", text=f"Hi {SCRIPT} {IMAGE}", customer_name=NAME)
    )
    context = await browser.new_context()
    context.on("dialog", lambda d: dialogs.append(d.message))
    agent = await context.new_page()
    await sign_in(agent, service.url, "anna")
    await expect(agent.locator("body")).to_contain_text(NAME)  # the customer's name, as text
    await expect(agent.locator("body")).to_contain_text(f"Hi {SCRIPT}")  # the subject
    await nothing_ran(agent)

    await agent.goto(f"{service.url}/inbox/tickets/{got.ticket_number}")
    await expect(agent.locator(".msg .text").first).to_have_text(f"Hi {SCRIPT} {IMAGE}")
    await nothing_ran(agent)
    # A message arriving while the page is open comes in through the live update.
    await desk.receive(Inbound(inbox="web", external_id="eve", text=f"Again {SVG} {IMAGE}"))
    await expect(agent.locator(".msg .text").last).to_have_text(f"Again {SVG} {IMAGE}")
    await nothing_ran(agent)

    chat_context = await browser.new_context()  # the customer's chat shows what they wrote
    chat_context.on("dialog", lambda d: dialogs.append(d.message))
    customer = await chat_context.new_page()
    await customer.goto(f"{service.url}/chat/web")
    await customer.fill("#name", NAME)
    await customer.fill("#text", f"Also {IMAGE}")
    await customer.click("#composer button[type=submit]")
    await expect(customer.locator("body")).to_contain_text(f"Also {IMAGE}")
    await customer.reload()  # and from its history
    await expect(customer.locator("body")).to_contain_text(f"Also {IMAGE}")
    await nothing_ran(customer)
    await agent.goto(f"{service.url}/inbox")  # two customers named so, both shown as text
    await expect(agent.locator("body")).to_contain_text(f"Also {IMAGE}")
    await nothing_ran(agent)
    assert dialogs == []
    await context.close()
    await chat_context.close()
