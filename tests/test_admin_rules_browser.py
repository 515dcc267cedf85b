"""In headless Chromium: an admin edits a rule file, is shown the error, fixes it, saves it."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from core.models import Role
from tests.browser import chromium
from tests.people import make_agent
from tests.service import PASSWORD, Running

THANKS = '[[rule]]\nid = "thanks"\non = "ticket.closed"\nthen = [{ action = "stop" }]\n'
LATER = '[[rule]]\nid = "ask-later"\non = "{event}"\ndelay = "2h"\nthen = [{{ action = "stop" }}]\n'


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def content(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_an_admin_fixes_a_broken_edit_and_sees_it_live(browser: Browser, service: Running):
    await make_agent(service.state.db, "root", Role.ADMIN)
    base = service.state.rules.directory / "base.toml"
    write(base, THANKS)
    assert service.state.rules.reload()
    ctx = await browser.new_context()
    page = await ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    await page.goto(f"{service.url}/admin/rules")
    await expect(page).to_have_url(f"{service.url}/inbox/login?next=/admin/rules")
    await page.fill("input[name=login]", "root")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{service.url}/admin/rules")
    await expect(page.locator("#rules tr[data-rule=thanks]")).to_contain_text("base.toml:1")

    await page.locator("#files a", has_text="Edit").first.click()
    await expect(page).to_have_url(f"{service.url}/admin/rules/edit/base.toml")
    broken = THANKS + "\n" + LATER.format(event="ticket.closd")
    await page.fill("#rule-form textarea", broken)
    await page.click("#rule-form button[type=submit]")
    await expect(page.locator("#problems")).to_contain_text(
        'base.toml:8: rule "ask-later": on: unknown event "ticket.closd"'
    )
    await expect(page.locator("#rule-form textarea")).to_have_value(broken)
    assert content(base) == THANKS

    await page.fill("#rule-form textarea", THANKS + "\n" + LATER.format(event="ticket.closed"))
    await page.click("#rule-form button[type=submit]")
    await expect(page.locator("#saved")).to_contain_text("Saved base.toml")
    row = page.locator("#rules tr[data-rule=ask-later]")
    await expect(row).to_contain_text("base.toml:6")
    await expect(row).to_contain_text("2h")
    assert "ask-later" in content(base)

    await page.click("a[href='/admin/rules/history']")
    change = page.locator("#changes tbody tr").first
    await expect(change).to_contain_text("base.toml")
    await expect(change).to_contain_text("Root")
    await change.locator("a").click()
    await expect(page.locator("#diff .add", has_text='+id = "ask-later"')).to_have_count(1)
    await expect(page.locator("#diff .del")).to_have_count(0)
    assert dialogs == []
    await ctx.close()
