"""The rating page in headless Chromium: a click on an email's rating link rates in one step
(the page's script sends the confirm form); without script nothing is recorded until the
person confirms; the page fits a phone's screen."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from core.scales import Scale
from tests.browser import chromium
from tests.rating_pages import asked, stored
from tests.service import Running
from tests.waiting import eventually


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def test_a_rating_link_records_in_one_step(browser: Browser, service: Running):
    _, token = await asked(service)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{service.url}/rate/{token}?v=1")
    await expect(page).to_have_url(f"{service.url}/rate/{token}")  # the form was sent
    await expect(page.locator(".thanks")).to_have_text("Thank you for your rating!")
    await expect(page.locator("#rate-value")).to_have_text("👍")
    [rating] = await stored(service.state.db, token)
    assert rating.value == 1 and rating.via == "page"

    await page.fill("#comment", "Quick and kind.")
    await page.click("#comment-send")
    await expect(page.locator("#rate-comment blockquote")).to_have_text("Quick and kind.")
    [rating] = await stored(service.state.db, token)
    assert rating.comment == "Quick and kind."
    await context.close()


async def test_without_script_nothing_is_recorded_until_the_person_confirms(
    browser: Browser, service: Running
):
    _, token = await asked(service, Scale.FIVE)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{service.url}/rate/{token}?v=2")
    await expect(page.locator("input[name=value][value='2']")).to_be_checked()
    await page.wait_for_timeout(300)  # time a script would have had to send the form
    assert await stored(service.state.db) == []
    await page.click("#rate-confirm")
    await expect(page.locator(".thanks")).to_have_text("Thank you for your rating!")
    [rating] = await stored(service.state.db, token)
    assert rating.value == 2 and rating.via == "page"
    await context.close()


async def test_the_choices_are_big_enough_to_tap_on_a_phone(browser: Browser, service: Running):
    _, token = await asked(service, Scale.NPS)
    context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = await context.new_page()
    await page.goto(f"{service.url}/rate/{token}")
    choices = page.locator(".choice span")
    await expect(choices).to_have_count(11)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # nothing sticks out sideways
    for i in range(11):
        box = await choices.nth(i).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44
    await choices.nth(10).click()
    await page.click("#rate-confirm")
    await expect(page.locator("#rate-value")).to_have_text("10")
    await eventually(lambda: stored(service.state.db, token))
    await context.close()
