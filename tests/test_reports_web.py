"""The /reports pages over HTTP: who may see them, their figures and CSV, bad input as 400.

Over the data set of tests/test_reports.py, the service in Europe/Berlin."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from core.db import Database
from core.models import Role
from tests.browser import chromium
from tests.people import make_agent
from tests.service import PASSWORD, Running, running, service_config
from tests.test_inbox_web import signed_in
from tests.test_reports import Rated, rated_desk

MARCH = "from=2026-03-01&to=2026-03-31"
PAGES = ("satisfaction", "average", "ratings", "nps", "responses")


@pytest.fixture
async def berlin(db: Database, database_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with running(service_config(database_url, tmp_path, timezone="Europe/Berlin")) as svc:
        yield svc


@pytest.fixture
async def data(berlin: Running, db: Database) -> Rated:
    rated = await rated_desk(db)
    rated.agents["root"] = await make_agent(db, "root", Role.ADMIN)
    return rated


async def csv_rows(response: aiohttp.ClientResponse) -> list[list[str]]:
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = (await response.read()).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


async def test_agents_get_403_supervisors_and_admins_see_the_reports(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "anna")
        assert 'href="/reports"' not in await (await http.get("/inbox")).text()
        for path in ("/reports", *(f"/reports/{p}" for p in PAGES)):
            response = await http.get(path)
            assert response.status == 403, path
            assert "this needs the role supervisor or admin" in await response.text()
        assert (await http.get(f"/reports/ratings?{MARCH}&format=csv")).status == 403
    for lead in ("sveta", "root"):
        async with berlin.client() as http:
            await signed_in(http, lead)
            assert 'href="/reports"' in await (await http.get("/inbox")).text()
            for path in ("/reports", *(f"/reports/{p}?{MARCH}" for p in PAGES)):
                response = await http.get(path)
                page = await response.text()
                assert response.status == 200, (lead, path, page)
                # Every text found in the catalogs: a missing one would show as its key.
                assert "reports." not in page.replace("/static/reports.css", ""), path


async def test_signing_in_comes_first(berlin: Running):
    async with berlin.client() as http:
        response = await http.get("/reports/nps", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/inbox/login?next=/reports/nps"


async def test_satisfaction_page_and_csv(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        page = await (await http.get(f"/reports/satisfaction?{MARCH}")).text()
        assert "<svg" in page and "80.0%" in page and "20.0%" in page and "45.5%" in page
        response = await http.get(f"/reports/satisfaction?{MARCH}&format=csv")
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="satisfaction-2026-03-01-2026-03-31.csv"'
        )
        assert await csv_rows(response) == [
            ["Agent", "Rated", "Positive", "Neutral", "Negative", "Satisfaction"],
            ["Anna", "5", "4", "0", "1", "80.0"],
            ["Boris", "5", "1", "2", "2", "20.0"],
            ["No agent", "1", "0", "0", "1", "0.0"],
        ]
        shop = await http.get(f"/reports/satisfaction?{MARCH}&inbox=shop&format=csv")
        assert (await csv_rows(shop))[1:] == [
            ["Anna", "1", "0", "0", "1", "0.0"],
            ["Boris", "2", "0", "1", "1", "0.0"],
        ]


async def test_average_by_week_and_month(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        weeks = await http.get(f"/reports/average?{MARCH}&by=week&format=csv")
        assert await csv_rows(weeks) == [
            ["From", "Rated", "Average score"],
            ["2026-03-02", "3", "66.7"],
            ["2026-03-09", "2", "50.0"],
            ["2026-03-16", "5", "62.0"],
            ["2026-03-30", "1", "30.0"],
        ]
        page = await (await http.get(f"/reports/average?{MARCH}&by=month")).text()
        assert "Average score 58.2 over 11 ratings." in page and "<polyline" not in page
        anna = await http.get(
            f"/reports/average?{MARCH}&by=month&agent={data.agents['anna'].id}&format=csv"
        )
        assert (await csv_rows(anna))[1:] == [
            ["2026-03-01", "5", "78.0"]
        ]  # (100 + 75 + 25 + 100 + 90) / 5


async def test_nps_figures_series_and_responses(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "root")
        page = await (await http.get(f"/reports/nps?{MARCH}&by=week")).text()
        assert "NPS 25.0: 2 promoters, 1 passives, 1 detractors of 4 responses." in page
        assert 'href="/inbox/tickets/10"' in page and "slow" in page
        assert 'href="/inbox/tickets/4"' not in page  # a binary rating is no NPS response
        weeks = await http.get(f"/reports/nps?{MARCH}&by=week&format=csv")
        assert await csv_rows(weeks) == [
            ["From", "Responses", "Promoters", "Passives", "Detractors", "NPS"],
            ["2026-03-16", "3", "2", "1", "0", "66.7"],
            ["2026-03-30", "1", "0", "0", "1", "-100.0"],
        ]


async def test_response_rate_by_agent(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        page = await (await http.get(f"/reports/responses?{MARCH}&by=day")).text()
        assert "73.3% of the requests were answered: 11 of 15." in page
        assert await csv_rows(await http.get(f"/reports/responses?{MARCH}&format=csv")) == [
            ["Agent", "Sent", "Answered", "Response rate"],
            ["Anna", "7", "5", "71.4"],
            ["Boris", "7", "5", "71.4"],
            ["No agent", "1", "1", "100.0"],
        ]


async def test_response_rate_per_period_as_a_second_csv(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        page = await (await http.get(f"/reports/responses?{MARCH}&by=week")).text()
        link = "/reports/responses?from=2026-03-01&amp;to=2026-03-31&amp;by=week&amp;format=csv"
        assert f"{link}&amp;table=periods" in page
        response = await http.get(f"/reports/responses?{MARCH}&by=week&format=csv&table=periods")
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="responses-by-week-2026-03-01-2026-03-31.csv"'
        )
        assert await csv_rows(response) == [  # by the Monday of the week the request was sent
            ["From", "Sent", "Answered", "Response rate"],
            ["2026-02-23", "1", "0", "0.0"],
            ["2026-03-02", "3", "3", "100.0"],
            ["2026-03-09", "2", "2", "100.0"],
            ["2026-03-16", "5", "5", "100.0"],
            ["2026-03-23", "1", "0", "0.0"],
            ["2026-03-30", "3", "1", "33.3"],
        ]
        agents = await http.get(f"/reports/responses?{MARCH}&format=csv&table=agents")
        assert [row[0] for row in await csv_rows(agents)] == ["Agent", "Anna", "Boris", "No agent"]
        wrong = await http.get(f"/reports/responses?{MARCH}&format=csv&table=days")
        assert wrong.status == 400
        assert "table: expected agents or periods, not &#x27;days&#x27;" in await wrong.text()


async def test_rated_tickets_link_to_the_inbox_and_export_every_match(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        page = await (await http.get(f"/reports/ratings?{MARCH}&bucket=negative")).text()
        for number in (10, 11, 5, 3):
            assert f'href="/inbox/tickets/{number}"' in page
        assert 'href="/inbox/tickets/1"' not in page and "4 ratings" in page
        response = await http.get(f"/reports/ratings?{MARCH}&bucket=negative&format=csv")
        rows = await csv_rows(response)
        base = berlin.state.config.web.base_url  # links are for people: the public address
        assert rows[0][:3] == ["Ticket", "Link", "Day"]
        assert [(r[0], r[1], r[2], r[5], r[7], r[9], r[10]) for r in rows[1:]] == [
            (
                "10",
                f"{base}/inbox/tickets/10",
                "2026-03-31",
                "Boris",
                "3",
                "negative",
                "slow",
            ),
            ("11", f"{base}/inbox/tickets/11", "2026-03-20", "No agent", "1", "negative", ""),
            ("5", f"{base}/inbox/tickets/5", "2026-03-10", "Boris", "0", "negative", ""),
            ("3", f"{base}/inbox/tickets/3", "2026-03-03", "Anna", "2", "negative", "rude"),
        ]
        assert rows[1][3] == "2026-03-31 12:00"  # local time


async def test_a_comment_that_looks_like_a_formula_is_quoted_in_csv(
    berlin: Running, data: Rated, db: Database
):
    from sqlalchemy import update

    from core.models import Rating

    async with db.transaction() as s:
        await s.execute(
            update(Rating).where(Rating.comment == "slow").values(comment="=HYPERLINK(1)")
        )
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        rows = await csv_rows(await http.get(f"/reports/ratings?{MARCH}&commented=1&format=csv"))
        assert [r[10] for r in rows[1:]] == ["'=HYPERLINK(1)", "great", "rude"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "from: expected a date as YYYY-MM-DD, not &#x27;2026-13-01&#x27;"),
        ("to=yesterday", "to: expected a date as YYYY-MM-DD"),
        (
            "from=2026-03-31&to=2026-03-01",
            "the period starts (2026-03-31) after it ends (2026-03-01)",
        ),
        ("from=0001-01-01", "from: expected a year from 1970 to 2999, not 0001-01-01"),
        ("to=9999-12-31", "to: expected a year from 1970 to 2999"),
        ("from=2000-01-01&to=2026-01-01", "the period is longer than 3700 days"),
        ("agent=999", "agent: there is no agent 999"),
        ("agent=anna", "agent: expected a whole number"),
        ("inbox=mail", "inbox: there is no inbox"),
        ("by=year", "by: expected one of day, week, month"),
        ("format=pdf", "format: expected html or csv"),
        ("bucket=great", "bucket: expected one of positive, neutral, negative"),
        ("scale=five&value=9", "value: 9 is not on the five scale"),
        (f"{MARCH}&page=3", "page 3 does not exist: there are 1"),
        ("page=0", "page: expected a number from 1"),
    ],
)
async def test_bad_input_is_a_clear_400(berlin: Running, data: Rated, query: str, message: str):
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        response = await http.get(f"/reports/ratings?{query}")
        assert response.status == 400
        assert message in await response.text()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def test_a_supervisor_finds_the_reports_and_filters_a_period_in_chromium(
    browser: Browser, berlin: Running, data: Rated
):
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{berlin.url}/inbox/login")
    await page.fill("input[name=login]", "sveta")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.click("header a[href='/reports']")
    await page.click("a[href='/reports/satisfaction']")
    await page.fill("#report-filters input[name=from]", "2026-03-01")
    await page.fill("#report-filters input[name=to]", "2026-03-31")
    await page.click("#report-filters button[type=submit]")
    await expect(page.locator("table.figures tfoot")).to_contain_text("45.5%")
    await expect(page.locator("svg.chart rect")).to_have_count(9)  # 3 agents × 3 buckets
    await page.click(".report-tabs a[href^='/reports/nps']")
    await expect(page.locator("p.summary")).to_contain_text("NPS 25.0")
    await expect(page.locator("svg.chart circle")).to_have_count(
        3
    )  # days with answers: 16, 17 and 31
    await ctx.close()
