"""The SLA compliance report over a hand-made set of deadlines, its figures counted by hand.

Tickets 1–9 of tests/test_reports.py (inboxes web and shop; agents anna, boris), the service in
Europe/Berlin: ticket 7 registered at 00:30 on March 1st (still February in UTC) is in March,
ticket 8 at 00:30 on April 1st (still March in UTC) is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import Database
from core.errors import InvalidInput
from core.models import SlaTarget, Ticket
from core.reports import sla
from core.reports.scope import Scope
from core.reports.sla import Compliance, SlaFilter, Target
from tests.test_reports import MARCH, ZONE, Rated, rated_desk


@dataclass(frozen=True)
class Row:
    number: int
    level: str
    target: str
    started: str  # local, Europe/Berlin
    minutes: int | None  # working minutes taken; None: not met
    breached: bool
    agent: str | None


ROWS = [
    Row(1, "VIP", "reaction", "2026-03-02 10:00", 20, False, "anna"),
    Row(1, "VIP", "resolution", "2026-03-02 10:00", 180, False, "anna"),
    Row(2, "VIP", "reaction", "2026-03-03 10:00", 50, True, "anna"),  # met late
    Row(2, "VIP", "resolution", "2026-03-03 10:00", 200, False, "boris"),
    Row(3, "Default", "reaction", "2026-03-04 09:00", 60, False, "boris"),
    Row(3, "Default", "resolution", "2026-03-04 09:00", None, True, "boris"),  # passed unmet
    Row(4, "Default", "reaction", "2026-03-10 12:00", 30, False, "anna"),
    Row(4, "Default", "resolution", "2026-03-10 12:00", None, False, None),  # open
    Row(5, "Default", "reaction", "2026-03-11 10:00", None, True, None),
    Row(5, "Default", "resolution", "2026-03-11 10:00", None, False, None),
    Row(6, "Default", "reaction", "2026-03-31 23:30", 90, False, "boris"),
    Row(6, "Default", "resolution", "2026-03-31 23:30", 600, True, "boris"),
    Row(7, "VIP", "reaction", "2026-03-01 00:30", 10, False, "anna"),
    Row(7, "VIP", "resolution", "2026-03-01 00:30", 100, False, "anna"),
    Row(8, "Default", "reaction", "2026-04-01 00:30", 5, False, "anna"),  # April
    Row(8, "Default", "resolution", "2026-04-01 00:30", 50, False, "anna"),
    Row(9, "VIP", "reaction", "2026-02-20 10:00", None, True, "boris"),  # February
]
ALLOWED = {  # the deadlines met late took longer than this; the others less
    ("VIP", "reaction"): timedelta(minutes=30),
    ("VIP", "resolution"): timedelta(hours=4),
    ("Default", "reaction"): timedelta(hours=2),
    ("Default", "resolution"): timedelta(hours=8),
}


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


async def sla_desk(db: Database, rated: Rated) -> None:
    """The deadlines of ``ROWS`` for the tickets ``rated_desk`` made."""
    async with db.transaction() as s:
        tickets = {t.number: t for t in (await s.scalars(select(Ticket))).unique()}
        for row in ROWS:
            ticket = tickets[row.number]
            started = local(row.started)
            due = started + ALLOWED[row.level, row.target]
            met = None if row.minutes is None else started + timedelta(minutes=row.minutes)
            s.add(
                SlaTarget(
                    ticket_id=ticket.id,
                    inbox_id=ticket.inbox_id,
                    level=row.level,
                    calendar="office",
                    target=row.target,
                    started_at=started,
                    due_at=due,
                    met_at=met,
                    breached=row.breached,
                    worked_seconds=None if row.minutes is None else row.minutes * 60,
                    agent_id=rated.agents[row.agent].id if row.agent else None,
                )
            )


@pytest.fixture
async def data(db: Database) -> Rated:
    rated = await rated_desk(db)
    await sla_desk(db, rated)
    return rated


def march(level: str | None = None, **narrow: int | None) -> SlaFilter:
    return SlaFilter(Scope(MARCH, ZONE, **narrow), level)


Figures = tuple[int, int, float | None]  # met, missed, the average in working seconds


def figures(tickets: int, reaction: Figures, resolution: Figures) -> Compliance:
    return Compliance(tickets, Target(*reaction), Target(*resolution))


def rounded(found: Compliance) -> Compliance:
    """Averages to the microsecond: each database divides in its own precision."""

    def target(t: Target) -> Target:
        return Target(t.met, t.missed, None if t.average is None else round(t.average, 6))

    return Compliance(found.tickets, target(found.reaction), target(found.resolution))


async def test_per_level_and_in_all(db: Database, data: Rated):
    levels = await sla.by_level(db, march())
    assert [(g.key, rounded(g.figures)) for g in levels] == [
        ("Default", figures(4, (3, 1, 3600), (0, 2, 36000))),  # 60 min; 600 min (late)
        ("VIP", figures(3, (2, 1, 1600), (3, 0, 9600))),  # (20 + 50 + 10) / 3 min; 160 min
    ]
    total = rounded(await sla.total(db, march()))
    assert total == figures(7, (5, 2, 2600), (3, 2, 16200))  # 260 / 6 min; 1080 / 4 min
    assert (total.reaction.share, total.resolution.share) == (5 / 7, 0.6)


async def test_per_agent_credited(db: Database, data: Rated):
    agents = await sla.by_agent(db, march())
    assert [(g.name, rounded(g.figures)) for g in agents] == [
        ("Anna", figures(4, (3, 1, 1650), (2, 0, 8400))),  # 110 / 4 min; 280 / 2 min
        ("Boris", figures(3, (2, 0, 4500), (1, 2, 24000))),  # 150 / 2 min; 800 / 2 min
        (None, figures(2, (0, 1, None), (0, 0, None))),
    ]
    assert agents[2].figures.resolution.share is None  # nothing decided yet


async def test_filters_narrow_every_figure(db: Database, data: Rated):
    shop = await sla.total(db, march(inbox_id=data.inboxes["shop"]))
    assert rounded(shop) == figures(2, (2, 0, 4500), (0, 2, 36000))
    anna = march(agent_id=data.agents["anna"].id)
    assert [(g.key, rounded(g.figures)) for g in await sla.by_level(db, anna)] == [
        ("Default", figures(1, (1, 0, 1800), (0, 0, None))),
        ("VIP", figures(3, (2, 1, 1600), (2, 0, 8400))),
    ]
    vip = await sla.by_agent(db, march("VIP"))
    assert [(g.name, g.figures.tickets) for g in vip] == [("Anna", 3), ("Boris", 1)]
    assert await sla.total(db, march("Gold")) == Compliance()


async def test_breaches_latest_due_first(db: Database, data: Rated):
    found = await sla.breaches(db, march())
    assert [(b.ticket_number, b.target, b.met_at is None) for b in found.rows] == [
        (6, "resolution", False),
        (5, "reaction", True),
        (3, "resolution", True),
        (2, "reaction", False),
    ]
    assert (found.total, found.pages, found.rows[0].agent, found.rows[1].agent) == (
        4,
        1,
        "Boris",
        None,
    )
    assert found.rows[0].due_at == local("2026-04-01 07:30")
    with pytest.raises(InvalidInput, match="page 2 does not exist"):
        await sla.breaches(db, march(), 2)


async def test_a_level_filter_is_configured_or_given(db: Database, data: Rated):
    assert await sla.known_level(db, "Gold", ["Gold", "Default"]) == "Gold"
    assert await sla.known_level(db, "VIP", ["Default"]) == "VIP"  # on stored deadlines
    assert await sla.known_level(db, "", ["Default"]) is None
    with pytest.raises(InvalidInput, match="level: there is no level 'Silver'"):
        await sla.known_level(db, "Silver", ["Default"])
