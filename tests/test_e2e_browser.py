"""End to end in headless Chromium: a customer chats, an agent answers from the inbox."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from core import queries
from core.messages import Button
from core.models import TicketStatus
from tests.browser import chromium
from tests.people import make_agent
from tests.service import PASSWORD, Running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def sign_in(page: Page, url: str, login: str) -> None:
    await page.goto(f"{url}/inbox")
    await expect(page).to_have_url(f"{url}/inbox/login?next=/inbox")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{url}/inbox")


async def test_customer_and_agent_talk_live_and_the_ticket_closes(
    browser: Browser, service: Running
):
    anna = await make_agent(service.state.db, "anna")
    agent_ctx, customer_ctx = await browser.new_context(), await browser.new_context()
    agent, customer = await agent_ctx.new_page(), await customer_ctx.new_page()
    dialogs: list[str] = []
    for page in (agent, customer):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    await sign_in(agent, service.url, "anna")
    await expect(agent.locator("#rows")).to_contain_text("No tickets match")

    await customer.goto(f"{service.url}/chat")
    await customer.fill("#name", "Ivan Petrov")
    await customer.fill("#text", "My parcel is late <script>alert(1)</script>")
    await customer.click("#composer button[type=submit]")
    await expect(customer.locator(".message.in")).to_have_text(
        "My parcel is late <script>alert(1)</script>"
    )

    # The ticket appears in the agent's list without a reload.
    row = agent.locator("#rows tr[data-ticket='1']")
    await expect(row).to_contain_text("Ivan Petrov")
    await expect(row).to_contain_text("<script>alert(1)</script>")
    await row.locator("a").first.click()
    await expect(agent.locator(".msg.in .text")).to_have_text(
        "My parcel is late <script>alert(1)</script>"
    )

    await agent.fill("#reply-form textarea", "It leaves the warehouse today.")
    await agent.click("#reply-form button[type=submit]")
    await expect(agent.locator(".msg.out .text")).to_have_text("It leaves the warehouse today.")

    # The customer sees the reply without reloading, signed by the agent.
    reply = customer.locator(".message.out")
    await expect(reply).to_contain_text("It leaves the warehouse today.")
    await expect(reply.locator(".author")).to_have_text("Anna")
    await expect(agent.locator(".msg.out .delivery")).to_have_text("sent")

    await agent.click("button[name=go][value=closed]")
    await expect(agent.locator("#ticket-status")).to_have_text("closed")

    ticket = await queries.ticket(service.state.db, 1)
    assert ticket.status == TicketStatus.CLOSED and ticket.assignee_id == anna.id
    trail = [
        (e.action, e.agent_id, e.old_value, e.new_value)
        for e in await queries.audit(service.state.db, ticket.id)
    ]
    assert trail == [
        ("status", None, None, "new"),
        ("assign", anna.id, None, "Anna"),
        ("status", anna.id, "new", "open"),
        ("status", anna.id, "open", "closed"),
    ]
    assert dialogs == []  # the customer's <script> never ran, on either side
    await agent_ctx.close()
    await customer_ctx.close()


async def test_button_chips_come_back_as_presses(browser: Browser, service: Running):
    ctx = await browser.new_context()
    customer = await ctx.new_page()
    await customer.goto(f"{service.url}/chat/shop")
    await customer.fill("#text", "Is my order paid?")
    await customer.click("#composer button[type=submit]")
    await expect(customer.locator(".message.in")).to_have_count(1)
    # A reply with no agent is the bot's, as dispatcher rules will send them.
    await service.state.desk.reply(
        1, None, "Did this help?", [Button("Yes", "helped:yes"), Button("No", "helped:no")]
    )
    chips = customer.locator(".message.out .chip")
    await expect(chips).to_have_count(2)
    await chips.filter(has_text="Yes").click()
    await expect(customer.locator(".message.in")).to_have_count(2)
    await expect(customer.locator(".message.in").last).to_have_text("Yes")
    await expect(chips.first).to_be_disabled()
    messages = await queries.messages(
        service.state.db, (await queries.ticket(service.state.db, 1)).id
    )
    assert messages[-1].pressed_button_id is not None
    await ctx.close()
