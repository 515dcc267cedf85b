"""Rating reports over a hand-made set of ratings and requests, figures counted by hand.

The service's zone is Europe/Berlin, which moves its clocks on 2026-03-29 (01:00 UTC): the
requests sent near midnight fall on the local day, not the UTC one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.db import Database
from core.errors import InvalidInput
from core.models import Agent, Customer, Identity, Inbox, Rating, RatingRequest, Role, Ticket
from core.reports import rated, responses, series
from core.reports.figures import Figures
from core.reports.rated import RatedFilter
from core.reports.scope import Grain, Period, Scope, scope
from core.scales import SCALES, Bucket, Scale
from tests.people import make_agent

ZONE = ZoneInfo("Europe/Berlin")
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
EVERYTHING = Period(date(2026, 2, 1), date(2026, 4, 30))

# ticket, agent, inbox, scale, value, local day, comment: each answers a request of its own,
# sent and answered at the day's local noon.
RATINGS = [
    (1, "anna", "web", "five", 5, "2026-03-02", None),
    (2, "anna", "web", "five", 4, "2026-03-02", None),
    (3, "anna", "shop", "five", 2, "2026-03-03", "rude"),
    (4, "boris", "web", "binary", 1, "2026-03-09", None),
    (5, "boris", "web", "binary", 0, "2026-03-10", None),
    (6, "boris", "shop", "five", 3, "2026-03-16", None),
    (7, "anna", "web", "nps", 10, "2026-03-16", "great"),
    (8, "anna", "web", "nps", 9, "2026-03-17", None),
    (9, "boris", "web", "nps", 7, "2026-03-17", None),
    (10, "boris", "shop", "nps", 3, "2026-03-31", "slow"),
    (11, None, "web", "five", 1, "2026-03-20", None),
    (1, "anna", "web", "five", 1, "2026-02-28", None),  # before March
    (2, "boris", "web", "nps", 10, "2026-04-01", None),  # after March
]
# Requests never answered: ticket, agent, inbox, sent at (UTC) — local day in the comment.
UNANSWERED = [
    (1, "anna", "web", datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # 03-01 00:30 CET
    (2, "anna", "web", datetime(2026, 3, 28, 23, 30, tzinfo=UTC)),  # 03-29 00:30 CET
    (6, "boris", "shop", datetime(2026, 3, 29, 22, 30, tzinfo=UTC)),  # 03-30 00:30 CEST
    (11, None, "web", datetime(2026, 3, 31, 22, 30, tzinfo=UTC)),  # 04-01 00:30 CEST
    (4, "boris", "web", datetime(2026, 3, 31, 21, 30, tzinfo=UTC)),  # 03-31 23:30 CEST
]


@dataclass
class Rated:
    """The data set's ids: agents by login, inboxes by name."""

    agents: dict[str, Agent]
    inboxes: dict[str, int]


async def rated_desk(db: Database, zone: ZoneInfo = ZONE) -> Rated:
    """Agents anna, boris (agents) and sveta (supervisor), inboxes web and shop (kept when
    they exist), tickets 1–11 and the ratings and requests above."""
    agents = {
        login: await make_agent(db, login, role)
        for login, role in (("anna", Role.AGENT), ("boris", Role.AGENT), ("sveta", Role.SUPERVISOR))
    }
    async with db.transaction() as s:
        inboxes = {}
        for name in ("web", "shop"):
            found = await s.scalar(select(Inbox).where(Inbox.name == name))
            if found is None:
                found = Inbox(name=name, channel="webchat")
                s.add(found)
                await s.flush()
            inboxes[name] = found.id
        customer = Customer(name="Ivan")
        s.add(customer)
        await s.flush()
        identity = Identity(customer_id=customer.id, inbox_id=inboxes["web"], external_id="ivan")
        s.add(identity)
        await s.flush()
        tickets = {}
        for number in range(1, 12):
            inbox = next(r[2] for r in RATINGS if r[0] == number)
            ticket = Ticket(
                number=number,
                inbox_id=inboxes[inbox],
                customer_id=customer.id,
                identity_id=identity.id,
                subject=f"Question {number}",
            )
            s.add(ticket)
            await s.flush()
            tickets[number] = ticket.id

        def request(number: int, login: str | None, inbox: str, scale: str, at: datetime):
            return RatingRequest(
                token=f"t{len(s.new)}-{number}-{at.timestamp():.0f}",
                ticket_id=tickets[number],
                customer_id=customer.id,
                identity_id=identity.id,
                inbox_id=inboxes[inbox],
                agent_id=agents[login].id if login else None,
                scale=scale,
                origin="rule:test",
                created_at=at,
                expires_at=at + timedelta(days=3),
            )

        for number, login, inbox, scale, value, day, comment in RATINGS:
            noon = datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=zone)
            asked = request(number, login, inbox, scale, noon)
            asked.answered_at = noon
            s.add(asked)
            await s.flush()
            spec = SCALES[Scale(scale)]
            s.add(
                Rating(
                    request_id=asked.id,
                    ticket_id=tickets[number],
                    customer_id=customer.id,
                    inbox_id=inboxes[inbox],
                    agent_id=asked.agent_id,
                    scale=scale,
                    value=value,
                    score=spec.score(value),
                    bucket=spec.bucket(value),
                    via="webchat",
                    day=day,
                    given_at=noon,
                    comment=comment,
                )
            )
        for number, login, inbox, at in UNANSWERED:
            s.add(request(number, login, inbox, "five", at))
    return Rated(agents, inboxes)


@pytest.fixture
async def data(db: Database) -> Rated:
    return await rated_desk(db)


def march(**narrow: int | None) -> Scope:
    return Scope(MARCH, ZONE, **narrow)


def counts(f: Figures) -> tuple[int, int, int, int]:
    return f.count, f.positive, f.neutral, f.negative


async def test_satisfaction_by_agent(db: Database, data: Rated):
    found = await series.by_agent(db, march())
    assert [(a.name, counts(a.figures)) for a in found] == [
        ("Anna", (5, 4, 0, 1)),
        ("Boris", (5, 1, 2, 2)),
        (None, (1, 0, 0, 1)),
    ]
    assert [a.figures.satisfaction for a in found] == [0.8, 0.2, 0.0]
    total = Figures.total(a.figures for a in found)
    assert counts(total) == (11, 5, 2, 4) and total.satisfaction == 5 / 11


async def test_satisfaction_narrowed_to_an_inbox_and_an_agent(db: Database, data: Rated):
    shop = await series.by_agent(db, march(inbox_id=data.inboxes["shop"]))
    assert [(a.name, counts(a.figures)) for a in shop] == [
        ("Anna", (1, 0, 0, 1)),
        ("Boris", (2, 0, 1, 1)),
    ]
    boris = await series.by_agent(db, march(agent_id=data.agents["boris"].id))
    assert [(a.name, counts(a.figures)) for a in boris] == [("Boris", (5, 1, 2, 2))]
    assert (
        await series.by_agent(db, Scope(Period(date(2025, 1, 1), date(2025, 12, 31)), ZONE)) == []
    )


async def test_average_score_by_day_week_and_month(db: Database, data: Rated):
    def shown(points: list[series.Point]) -> list[tuple[str, int, float | None]]:
        return [(p.start, p.figures.count, p.figures.average) for p in points]

    assert shown(await series.over_time(db, march(), Grain.DAY)) == [
        ("2026-03-02", 2, 87.5),
        ("2026-03-03", 1, 25.0),
        ("2026-03-09", 1, 100.0),
        ("2026-03-10", 1, 0.0),
        ("2026-03-16", 2, 75.0),
        ("2026-03-17", 2, 80.0),
        ("2026-03-20", 1, 0.0),
        ("2026-03-31", 1, 30.0),
    ]
    assert shown(await series.over_time(db, march(), Grain.WEEK)) == [
        ("2026-03-02", 3, 200 / 3),
        ("2026-03-09", 2, 50.0),
        ("2026-03-16", 5, 62.0),
        ("2026-03-30", 1, 30.0),
    ]
    assert shown(await series.over_time(db, Scope(EVERYTHING, ZONE), Grain.MONTH)) == [
        ("2026-02-01", 1, 0.0),
        ("2026-03-01", 11, 640 / 11),
        ("2026-04-01", 1, 100.0),
    ]
    # A week that starts before the period counts only the period's days.
    second_week = Scope(Period(date(2026, 3, 3), date(2026, 3, 9)), ZONE)
    assert shown(await series.over_time(db, second_week, Grain.WEEK)) == [
        ("2026-03-02", 1, 25.0),
        ("2026-03-09", 1, 100.0),
    ]


async def test_nps_over_the_period_and_by_week(db: Database, data: Rated):
    weeks = await series.over_time(db, march(), Grain.WEEK, Scale.NPS)
    assert [(p.start, counts(p.figures)) for p in weeks] == [
        ("2026-03-16", (3, 2, 1, 0)),
        ("2026-03-30", (1, 0, 0, 1)),
    ]
    assert [p.figures.nps for p in weeks] == [pytest.approx(200 / 3), -100.0]
    assert Figures.total(p.figures for p in weeks).nps == 25.0  # (2 − 1) / 4
    anna = await series.over_time(
        db, march(agent_id=data.agents["anna"].id), Grain.MONTH, Scale.NPS
    )
    assert [(p.start, p.figures.nps) for p in anna] == [("2026-03-01", 100.0)]


async def test_rated_tickets_newest_first_with_filters(db: Database, data: Rated):
    everything = await rated.page(db, RatedFilter(march()))
    assert everything.total == 11 and everything.pages == 1
    assert [(r.ticket_number, r.day) for r in everything.rows][:3] == [
        (10, "2026-03-31"),
        (11, "2026-03-20"),
        (9, "2026-03-17"),
    ]
    first = everything.rows[0]
    assert (first.inbox, first.agent, first.scale, first.value, first.bucket, first.comment) == (
        "shop",
        "Boris",
        "nps",
        3,
        "negative",
        "slow",
    )
    negative = await rated.page(db, RatedFilter(march(), bucket=Bucket.NEGATIVE))
    assert [r.ticket_number for r in negative.rows] == [10, 11, 5, 3]
    fives = await rated.page(db, RatedFilter(march(), scale=Scale.FIVE, value=5))
    assert [(r.ticket_number, r.score) for r in fives.rows] == [(1, 100)]
    narrowed = RatedFilter(march(agent_id=data.agents["boris"].id, inbox_id=data.inboxes["shop"]))
    assert [r.ticket_number for r in (await rated.page(db, narrowed)).rows] == [10, 6]
    commented = await rated.page(db, RatedFilter(march(), commented=True))
    assert [r.comment for r in commented.rows] == ["slow", "great", "rude"]


async def test_rated_tickets_by_pages(db: Database, data: Rated):
    pages = [await rated.page(db, RatedFilter(march()), n, size=3) for n in (1, 2, 3, 4)]
    assert [len(p.rows) for p in pages] == [3, 3, 3, 2] and pages[0].pages == 4
    numbers = [r.ticket_number for p in pages for r in p.rows]
    assert sorted(numbers) == list(range(1, 12))
    with pytest.raises(InvalidInput, match="page 5 does not exist: there are 4"):
        await rated.page(db, RatedFilter(march()), 5, size=3)
    empty = await rated.page(
        db, RatedFilter(Scope(Period(date(2025, 1, 1), date(2025, 1, 2)), ZONE))
    )
    assert (empty.rows, empty.total, empty.pages) == ([], 0, 1)


async def test_rated_export_streams_every_rating(db: Database, data: Rated):
    chunks = [chunk async for chunk in rated.every(db, RatedFilter(Scope(EVERYTHING, ZONE)))]
    assert sum(len(c) for c in chunks) == 13


async def test_response_rate_by_agent_and_by_local_day(db: Database, data: Rated):
    agents = await responses.by_agent(db, march())
    assert [(a.name, a.responses.sent, a.responses.answered) for a in agents] == [
        ("Anna", 7, 5),
        ("Boris", 7, 5),
        (None, 1, 1),
    ]
    assert agents[0].responses.rate == 5 / 7
    days = await responses.over_time(db, march(), Grain.DAY)
    assert [(p.start, p.responses.sent, p.responses.answered) for p in days] == [
        ("2026-03-01", 1, 0),
        ("2026-03-02", 2, 2),
        ("2026-03-03", 1, 1),
        ("2026-03-09", 1, 1),
        ("2026-03-10", 1, 1),
        ("2026-03-16", 2, 2),
        ("2026-03-17", 2, 2),
        ("2026-03-20", 1, 1),
        ("2026-03-29", 1, 0),
        ("2026-03-30", 1, 0),
        ("2026-03-31", 2, 1),
    ]
    months = await responses.over_time(db, Scope(EVERYTHING, ZONE), Grain.MONTH)
    assert [(p.start, p.responses.sent, p.responses.answered) for p in months] == [
        ("2026-02-01", 1, 1),
        ("2026-03-01", 15, 11),
        ("2026-04-01", 2, 1),
    ]
    shop = await responses.by_agent(db, march(inbox_id=data.inboxes["shop"]))
    assert [(a.name, a.responses.sent, a.responses.answered) for a in shop] == [
        ("Anna", 1, 1),
        ("Boris", 3, 2),
    ]


async def test_the_scope_refuses_unknown_agents_inboxes_and_backward_periods(
    db: Database, data: Rated
):
    found = await scope(db, MARCH, ZONE, data.agents["anna"].id, "shop")
    assert (found.agent_id, found.inbox_id) == (data.agents["anna"].id, data.inboxes["shop"])
    with pytest.raises(InvalidInput, match="there is no agent 999"):
        await scope(db, MARCH, ZONE, 999)
    with pytest.raises(InvalidInput, match="there is no inbox 'mail'"):
        await scope(db, MARCH, ZONE, inbox="mail")
    with pytest.raises(InvalidInput, match=r"starts \(2026-03-02\) after it ends \(2026-03-01\)"):
        Period(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(InvalidInput, match="7 is not on the five scale"):
        RatedFilter(march(), scale=Scale.FIVE, value=7)


async def test_response_rate_in_a_zone_off_the_whole_hour(db: Database, data: Rated):
    """India is UTC+5:30: on SQLite requests are then given local days one by one, not by the
    UTC hour."""
    india = ZoneInfo("Asia/Kolkata")
    months = await responses.over_time(db, Scope(MARCH, india), Grain.MONTH)
    # The unanswered requests of 03-31 21:30 and 22:30 UTC are on 04-01 in India.
    assert [(p.start, p.responses.sent, p.responses.answered) for p in months] == [
        ("2026-03-01", 14, 11)
    ]
    days = await responses.over_time(db, Scope(MARCH, india), Grain.DAY)
    assert [(p.start, p.responses.sent) for p in days][-3:] == [
        ("2026-03-29", 1),
        ("2026-03-30", 1),
        ("2026-03-31", 1),
    ]
