"""What agents see of SLA deadlines in the web inbox: the level and the nearest deadline in the
list (overdue, paused), its sort by nearest deadline, and both deadlines on a ticket's page.

The service runs in Europe/Berlin on a calendar of Mon–Fri 09:00–13:00 and 14:00–18:00, its
clock stopped on Tuesday 2026-03-10 at 10:00; every time left below is counted by hand.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from core.db import Database
from core.models import SlaTarget, Ticket
from core.sla import Calendar
from core.sla.status import deadline, duration_text
from tests.people import make_agent
from tests.service import Running, running, service_config
from tests.test_inbox_web import customer_writes, signed_in

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAY = ["09:00-13:00", "14:00-18:00"]
OFFICE = {
    "timezone": "Europe/Berlin",
    **{day: WEEKDAY for day in ("mon", "tue", "wed", "thu", "fri")},
}
LEVELS = [
    {
        "name": "VIP",
        "calendar": "office",
        "reaction": "30m",
        "resolution": "4h",
        "if": {"field": "ticket.tags", "contains": "vip"},
    },
    {"name": "Default", "calendar": "office", "reaction": "2h", "resolution": "1d"},
]
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=BERLIN)  # a Tuesday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of March 2026 in Berlin."""
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


@dataclass(frozen=True)
class Target:
    target: str
    due_at: datetime
    met_at: datetime | None = None
    breached: bool = False
    paused_since: datetime | None = None


async def set_targets(db: Database, number: int, level: str, *targets: Target) -> None:
    """The ticket's deadlines are exactly ``targets`` (any rows written for it before go)."""
    async with db.transaction() as s:
        ticket = await s.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        await s.execute(delete(SlaTarget).where(SlaTarget.ticket_id == ticket.id))
        for t in targets:
            s.add(
                SlaTarget(
                    ticket_id=ticket.id,
                    inbox_id=ticket.inbox_id,
                    level=level,
                    calendar="office",
                    target=t.target,
                    started_at=at(10, 9),
                    due_at=t.due_at,
                    paused_since=t.paused_since,
                    met_at=t.met_at,
                    breached=t.breached,
                    worked_seconds=None if t.met_at is None else 600,
                )
            )


async def desk_with_deadlines(svc: Running) -> None:
    """Tickets #1–#5 (a customer each) and their deadlines; #4 has none (whatever the SLA
    gave them as they were registered is replaced)."""
    for who in range(1, 6):
        assert await customer_writes(svc, f"Question {who}", f"c{who}") == who
    db = svc.state.db
    await set_targets(
        db,
        1,
        "VIP",
        Target("reaction", at(10, 10, 30)),  # 30m left
        Target("resolution", at(10, 15)),  # 10–13 and 14–15: 4h left
    )
    await set_targets(
        db,
        2,
        "Default",
        Target("reaction", at(10, 9, 40)),  # overdue by 20m
        Target("resolution", at(12, 9)),
    )
    await set_targets(
        db,
        3,
        "Default",
        Target("reaction", at(10, 11), met_at=at(10, 9, 10)),
        # Paused on Monday at 17:00: Mon 17–18 and Tue 09–11 were left, 3h, frozen.
        Target("resolution", at(10, 11), paused_since=at(9, 17)),
    )
    await set_targets(db, 4, "Default")
    await set_targets(
        db,
        5,
        "Default",
        Target("reaction", at(9, 12), met_at=at(9, 12, 30), breached=True),
        Target("resolution", at(10, 9, 30), met_at=at(10, 9, 0)),
    )


def sla_config(database_url: str, tmp_path: Path, **more: Any) -> Any:
    return service_config(
        database_url,
        tmp_path,
        timezone="Europe/Berlin",
        calendars={"office": OFFICE},
        sla={"level": LEVELS},
        **more,
    )


@pytest.fixture
async def office(db: Database, database_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with running(sla_config(database_url, tmp_path), clock=lambda: NOW) as svc:
        await make_agent(svc.state.db, "anna")
        await desk_with_deadlines(svc)
        yield svc


def rows_of(page: str) -> dict[int, str]:
    """The list's rows by ticket number, as HTML."""
    return {
        int(number): row
        for number, row in re.findall(
            r'<tr class="status-\w+" data-ticket="(\d+)">(.*?)</tr>', page, re.S
        )
    }


def order_of(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-ticket="(\d+)"', page)]


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_time_left_is_working_time_and_frozen_while_paused():
    office = Calendar.from_config(OFFICE)

    def row(**fields: Any) -> SlaTarget:
        base: dict[str, Any] = {"target": "resolution", "met_at": None, "breached": False}
        return SlaTarget(**({"paused_since": None} | base | fields))

    evening = row(due_at=at(11, 10))  # Tue 10–13, 14–18 and Wed 09–10
    assert deadline(evening, office, NOW).left == timedelta(hours=8)
    gone = deadline(row(due_at=at(9, 17, 30)), office, NOW)  # Mon 17:30–18 and Tue 09–10
    assert (gone.left, gone.overdue, gone.paused) == (-timedelta(hours=1, minutes=30), True, False)
    held = deadline(row(due_at=at(10, 11), paused_since=at(9, 17)), office, NOW)
    assert (held.left, held.paused, held.overdue) == (timedelta(hours=3), True, False)
    late = deadline(row(due_at=at(9, 12), met_at=at(9, 12, 30), breached=True), office, NOW)
    assert (late.left, late.met, late.overdue) == (-timedelta(minutes=30), True, False)
    unknown = deadline(row(due_at=at(10, 22)), None, NOW)  # a calendar since removed
    assert unknown.left == timedelta(hours=12)
    assert duration_text("en", timedelta(hours=26, minutes=5)) == "26h 05m"
    assert duration_text("ru", -timedelta(minutes=20, seconds=59)) == "20 мин"


async def test_the_list_shows_level_and_nearest_deadline(office: Running):
    async with office.client() as http:
        await signed_in(http, "anna")
        page = await (await http.get("/inbox?status=")).text()
    assert "<th>Deadline</th>" in page and '<select name="sort">' in page
    rows = rows_of(page)
    assert "VIP" in rows[1] and "Reaction: 30m left" in plain(rows[1])
    assert '<span class="sla overdue">overdue by 20m</span>' in rows[2]
    assert "Resolution: ⏸ paused, 3h 00m left" in plain(rows[3])
    assert '<td class="sla-cell">—</td>' in rows[4]
    assert '<span class="sla late">met, some late</span>' in rows[5]
    assert order_of(page) == [5, 4, 3, 2, 1]  # by last activity, the newest first


async def test_the_list_sorts_by_nearest_deadline_without_sla_last(office: Running):
    async with office.client() as http:
        await signed_in(http, "anna")
        page = await (await http.get("/inbox?status=&sort=deadline")).text()
        assert order_of(page) == [2, 1, 3, 5, 4]  # 09:40, 10:30, 11:00 (paused), then none
        assert '<option value="deadline" selected>' in page
        partial = await (await http.get("/inbox?status=&sort=deadline&partial=1")).text()
        assert order_of(partial) == [2, 1, 3, 5, 4]
        narrowed = await (await http.get("/inbox?status=&sort=deadline&q=%233")).text()
        assert order_of(narrowed) == [3]
        wrong = await http.get("/inbox?sort=soonest")
        assert wrong.status == 400
        assert "sort: expected activity or deadline" in await wrong.text()


async def test_a_ticket_shows_its_level_and_both_deadlines(office: Running):
    async with office.client() as http:
        await signed_in(http, "anna")
        overdue = await (await http.get("/inbox/tickets/2")).text()
        paused = await (await http.get("/inbox/tickets/3")).text()
        late = await (await http.get("/inbox/tickets/5?partial=1")).text()
        none = await (await http.get("/inbox/tickets/4")).text()
    section = overdue[overdue.index('id="sla"') :]
    assert '<span class="chip level" id="sla-level" title="Level">Default</span>' in section
    assert "Reaction 2026-03-10 09:40 overdue by 20m" in plain(section)
    assert "Resolution 2026-03-12 09:00 15h 00m left" in plain(section)  # Tue 7h, Wed 8h
    section = paused[paused.index('id="sla"') :]
    assert "Reaction 2026-03-10 11:00 ✓ met 2026-03-10 09:10" in plain(section)
    assert '<span class="sla paused">⏸ paused, 3h 00m left</span>' in section
    assert '<span class="sla late">met late 2026-03-09 12:30</span>' in late
    assert 'id="sla"' not in none


async def test_texts_in_russian(db: Database, database_url: str, tmp_path: Path):
    config = sla_config(database_url, tmp_path, locale="ru")
    async with running(config, clock=lambda: NOW) as svc:
        await make_agent(db, "anna")
        await desk_with_deadlines(svc)
        async with svc.client() as http:
            await signed_in(http, "anna")
            page = await (await http.get("/inbox?status=")).text()
            ticket = await (await http.get("/inbox/tickets/3")).text()
    rows = rows_of(page)
    assert "Реакция: осталось 30 мин" in plain(rows[1])
    assert "просрочено на 20 мин" in rows[2]
    assert "<th>Срок</th>" in page and "По ближайшему сроку" in page
    assert "⏸ на паузе, осталось 3 ч 00 мин" in ticket and "✓ выполнено 2026-03-10 09:10" in ticket


async def test_without_levels_nothing_of_sla_shows(db: Database, database_url: str, tmp_path: Path):
    """Rows left from an earlier configuration show nowhere once no level is configured."""
    config = service_config(database_url, tmp_path, timezone="Europe/Berlin")
    async with running(config, clock=lambda: NOW) as svc:
        await make_agent(db, "anna")
        await desk_with_deadlines(svc)
        async with svc.client() as http:
            await signed_in(http, "anna")
            page = await (await http.get("/inbox?status=&sort=deadline")).text()
            ticket = await (await http.get("/inbox/tickets/2")).text()
    assert "Deadline" not in page and 'name="sort"' not in page and 'class="sla' not in page
    assert order_of(page) == [5, 4, 3, 2, 1]
    assert 'id="sla"' not in ticket and "overdue" not in ticket
