"""In headless Chromium: an agent sorts the inbox by nearest deadline, sees the overdue one in
red first and the paused one as paused, and opens a ticket's deadlines. The data set and clock
of tests/test_sla_view.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import chromium
from tests.service import Running
from tests.test_e2e_browser import sign_in
from tests.test_sla_view import office

__all__ = ["office"]  # the service with deadlines, used here

RED = "rgb(185, 28, 28)"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def test_sorting_by_deadline_and_reading_it(browser: Browser, office: Running):
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, office.url, "anna")
    await page.select_option("select[name=status]", "")
    await page.select_option("select[name=sort]", "deadline")
    await page.click("form.filters button[type=submit]")
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(5)
    numbers = [await rows.nth(i).get_attribute("data-ticket") for i in range(5)]
    assert numbers == ["2", "1", "3", "5", "4"]

    overdue = rows.nth(0).locator(".sla.overdue")
    await expect(overdue).to_have_text("overdue by 20m")
    await expect(overdue).to_have_css("color", RED)
    await expect(rows.nth(1).locator(".sla.left")).to_have_text("30m left")
    await expect(rows.nth(2).locator(".sla.paused")).to_have_text("⏸ paused, 3h 00m left")
    await expect(rows.nth(4).locator(".sla-cell")).to_have_text("—")

    await rows.nth(0).locator("a").first.click()
    await expect(page).to_have_url(f"{office.url}/inbox/tickets/2")
    section = page.locator("#sla")
    await expect(section.locator("#sla-level")).to_have_text("Default")
    await expect(section.locator("tr[data-target=reaction] .sla")).to_have_css("color", RED)
    await expect(section.locator("tr[data-target=resolution]")).to_contain_text("15h 00m left")
    await context.close()
