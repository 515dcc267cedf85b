"""The survey form in headless Chromium, on a phone: every question answered by tapping and
typing, sent once, thanked with the answers; the choices are big enough to tap and the NPS
scale sits on two lines without sticking out sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import chromium
from tests.service import Running
from tests.surveys import answers, asked

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def test_a_customer_answers_the_survey_on_a_phone(browser: Browser, service: Running):
    _, token = await asked(service)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{service.url}/survey/{token}")
    await expect(page.locator("#survey-title")).to_have_text("How did we do?")
    assert await answers(service.state.db) == [], "opening the link records nothing"

    await page.locator("#q-solved .choice", has_text="Yes").click()
    await page.locator("#q-quality .choice", has_text="5").click()
    await page.locator("#q-recommend .choice").nth(8).click()
    await page.fill("textarea[name='a.improve']", "Nothing, thank you")
    await page.click("#survey-send")

    await expect(page.locator("#survey-sent .thanks")).to_have_text("Thank you!")
    await expect(page.locator("dd[data-question='recommend']")).to_have_text("8")
    await expect(page.locator("dd[data-question='other']")).to_have_text("no answer")
    stored = await answers(service.state.db)
    assert [(a.question_id, a.value, a.text) for a in stored] == [
        ("solved", 1, None),
        ("quality", 5, None),
        ("recommend", 8, None),
        ("improve", None, "Nothing, thank you"),
    ]
    await context.close()


async def test_the_browser_asks_for_required_answers_before_sending(
    browser: Browser, service: Running
):
    _, token = await asked(service)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{service.url}/survey/{token}")
    await page.click("#survey-send")
    await page.wait_for_timeout(300)
    await expect(page.locator("#survey-form")).to_be_visible()  # required radios stop it
    assert await answers(service.state.db) == []
    await context.close()


async def test_the_choices_fit_a_phone_and_are_big_enough_to_tap(
    browser: Browser, service: Running
):
    _, token = await asked(service)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{service.url}/survey/{token}")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    choices = page.locator(".choice span")
    await expect(choices).to_have_count(2 + 5 + 11)
    for i in range(18):
        box = await choices.nth(i).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, i
    nps = page.locator("#q-recommend .choice span")
    tops = [(await nps.nth(i).bounding_box() or {})["y"] for i in range(11)]
    assert len(set(tops[:6])) == 1 and len(set(tops[6:])) == 1 and tops[6] > tops[0]
    await context.close()
