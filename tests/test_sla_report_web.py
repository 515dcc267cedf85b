"""/reports/sla over HTTP: for supervisors and admins, its figures, filters and CSV, the
breached tickets linked, bad input as 400. The data set of tests/test_sla_report.py."""

from __future__ import annotations

import html
import re

import pytest

from core.db import Database
from core.models import Role
from tests.people import make_agent
from tests.service import Running
from tests.test_inbox_web import signed_in
from tests.test_reports import Rated, rated_desk
from tests.test_reports_web import MARCH, berlin, csv_rows
from tests.test_sla_report import sla_desk

__all__ = ["berlin"]  # the service in Europe/Berlin, used here


@pytest.fixture
async def data(berlin: Running, db: Database) -> Rated:
    rated = await rated_desk(db)
    await sla_desk(db, rated)
    rated.agents["root"] = await make_agent(db, "root", Role.ADMIN)
    return rated


def cells(page: str, table: str) -> list[list[str]]:
    """The text of each row of the table with that id."""
    body = page[page.index(f'id="{table}"') :]
    body = body[: body.index("</table>")]
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


async def test_agents_get_403(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "anna")
        for path in ("/reports/sla", f"/reports/sla?{MARCH}&format=csv"):
            response = await http.get(path)
            assert response.status == 403, path
            assert "this needs the role supervisor or admin" in await response.text()


async def test_the_page_per_level_and_agent_with_breaches(berlin: Running, data: Rated):
    for lead in ("sveta", "root"):
        async with berlin.client() as http:
            await signed_in(http, lead)
            index = await (await http.get("/reports")).text()
            assert '<a href="/reports/sla">SLA compliance</a>' in index
            response = await http.get(f"/reports/sla?{MARCH}")
            page = await response.text()
            assert response.status == 200, page
            assert "reports." not in page.replace("/static/reports.css", "")
    assert "7 tickets: reaction met 71.4%, resolution met 60.0%." in page
    assert 'aria-current="page">SLA compliance</a>' in page and "<svg" in page
    assert cells(page, "sla-levels")[1:] == [
        ["Default", "4", "3", "1", "75.0%", "0", "2", "0.0%", "1h 00m", "10h 00m"],
        ["VIP", "3", "2", "1", "66.7%", "3", "0", "100.0%", "26m", "2h 40m"],
        ["All", "7", "5", "2", "71.4%", "3", "2", "60.0%", "43m", "4h 30m"],
    ]
    assert cells(page, "sla-agents")[1:] == [
        ["Anna", "4", "3", "1", "75.0%", "2", "0", "100.0%", "27m", "2h 20m"],
        ["Boris", "3", "2", "0", "100.0%", "1", "2", "33.3%", "1h 15m", "6h 40m"],
        ["No agent", "2", "0", "1", "0.0%", "0", "0", "—", "—", "—"],
    ]
    breaches = cells(page, "sla-breaches")[1:]
    assert [(row[0].split()[0], row[2], row[7]) for row in breaches] == [
        ("#6", "Resolution", "2026-04-01 09:30"),
        ("#5", "Reaction", "not met"),
        ("#3", "Resolution", "not met"),
        ("#2", "Reaction", "2026-03-03 10:50"),
    ]
    assert '<a href="/inbox/tickets/6">#6</a>' in page and "4 breaches" in page


async def test_filters_level_inbox_agent(berlin: Running, data: Rated):
    anna = data.agents["anna"].id
    async with berlin.client() as http:
        await signed_in(http, "sveta")
        vip = await (await http.get(f"/reports/sla?{MARCH}&level=VIP")).text()
        assert "3 tickets: reaction met 66.7%, resolution met 100.0%." in vip
        assert "<option selected>VIP</option>" not in vip  # not configured here: no option
        shop = await (await http.get(f"/reports/sla?{MARCH}&inbox=shop")).text()
        assert [r[0] for r in cells(shop, "sla-agents")[1:]] == ["Boris"]
        mine = await (await http.get(f"/reports/sla?{MARCH}&agent={anna}")).text()
        assert [r[0].split()[0] for r in cells(mine, "sla-breaches")[1:]] == ["#2"]
        for query, says in (
            (f"{MARCH}&level=Gold", "level: there is no level 'Gold'"),
            (f"{MARCH}&page=2", "page 2 does not exist: there are 1"),
            ("from=2026-03-40", "from: expected a date as YYYY-MM-DD"),
        ):
            response = await http.get(f"/reports/sla?{query}")
            assert response.status == 400, query
            assert says in html.unescape(await response.text())


async def test_csv_has_levels_agents_and_all(berlin: Running, data: Rated):
    async with berlin.client() as http:
        await signed_in(http, "root")
        response = await http.get(f"/reports/sla?{MARCH}&format=csv")
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="sla-2026-03-01-2026-03-31.csv"'
        )
        rows = await csv_rows(response)
    assert rows[0] == [
        "Group", "Name", "Tickets", "Reaction met", "Reaction missed", "Reaction met, %",
        "Resolution met", "Resolution missed", "Resolution met, %",
        "Average reaction, working minutes", "Average resolution, working minutes",
    ]  # fmt: skip
    assert rows[1:] == [
        ["level", "Default", "4", "3", "1", "75.0", "0", "2", "0.0", "60.0", "600.0"],
        ["level", "VIP", "3", "2", "1", "66.7", "3", "0", "100.0", "26.7", "160.0"],
        ["agent", "Anna", "4", "3", "1", "75.0", "2", "0", "100.0", "27.5", "140.0"],
        ["agent", "Boris", "3", "2", "0", "100.0", "1", "2", "33.3", "75.0", "400.0"],
        ["agent", "No agent", "2", "0", "1", "0.0", "0", "0", "", "", ""],
        ["all", "All", "7", "5", "2", "71.4", "3", "2", "60.0", "43.3", "270.0"],
    ]
