"""Rating and SLA reports over a year and over two years: each under a second on PostgreSQL?

Run from the repository root: ``python bench/reports.py [--ratings N] [--agents A]``.

For each backend (as ``bench/delays.py``: SQLite in a fresh file; PostgreSQL in a fresh
database through ``$OTKLIK_TEST_PG``, skipped when unreachable) the run bulk-inserts, not
through the Desk (that would time the Desk, not the reports), N ratings (1,000,000 by default)
and what they need: N/4 tickets, each with five rating requests on five different days of the
two years before today, four of them answered by a rating (so the response rate is 80%); the
tickets are spread over A agents (200) and three inboxes, the scales half five-point, a quarter
binary and a quarter NPS, the values skewed to the good side. Each ticket also has its two SLA
deadlines (sla_targets: a fifth VIP, the rest Default; about one in ten reactions and one in
seven resolutions missed, a few left open). The service's zone is
Europe/Berlin, so the response rate's local days go through the clock changes. The indexes
are dropped for the load and built after it; then VACUUM ANALYZE (SQLite: ANALYZE), as
autovacuum would have done on a live database. The reports' totals must count every rating,
request and ticket with deadlines inserted, or the run fails.

Each report is then asked as the /reports pages ask it (core/reports), for the last year and
for the whole two years: three times, and the median is printed against the target < 1 s.
Reports on the rated tickets' list are timed for its first page and for page 100. CSV export
is not timed: it streams every matching rating and is as slow as their number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, insert, text

from bench.common import BACKENDS, positive
from core.db import Database
from core.models import Agent, Customer, Identity, Inbox, Rating, RatingRequest, SlaTarget, Ticket
from core.reports import rated, responses, series, sla
from core.reports.figures import Figures
from core.reports.rated import RatedFilter
from core.reports.scope import Grain, Period, Scope
from core.reports.sla import SlaFilter
from core.scales import SCALES, Bucket, Scale

ZONE = ZoneInfo("Europe/Berlin")
DAYS = 730
REQUESTS_PER_TICKET = 5  # the last one is never answered
TICKETS_PER_CHUNK = 2000
TARGET = 1.0  # seconds, on PostgreSQL
RUNS = 3
INBOXES = ("web", "tg", "mail")
SCALE_MIX = (Scale.FIVE, Scale.FIVE, Scale.BINARY, Scale.NPS)
# How likely each value is, best first: most customers are content.
VALUE_WEIGHTS = {
    Scale.BINARY: {1: 8, 0: 2},
    Scale.FIVE: {5: 50, 4: 20, 3: 10, 2: 8, 1: 12},
    Scale.NPS: {10: 30, 9: 20, 8: 15, 7: 10, 6: 5, 5: 5, 4: 3, 3: 3, 2: 3, 1: 2, 0: 4},
}


# -- data --------------------------------------------------------------------------------------


async def insert_base(db: Database, agents: int) -> list[int]:
    """Inboxes, one customer with an identity, the agents; returns the inboxes' ids."""
    async with db.transaction() as s:
        await s.execute(
            insert(Inbox),
            [{"id": i + 1, "name": n, "channel": "webchat"} for i, n in enumerate(INBOXES)],
        )
        await s.execute(insert(Customer), [{"id": 1, "name": "Customer"}])
        await s.execute(
            insert(Identity), [{"id": 1, "customer_id": 1, "inbox_id": 1, "external_id": "c"}]
        )
        await s.execute(
            insert(Agent),
            [
                {"id": a, "name": f"Agent {a:03d}", "login": f"agent{a:03d}", "role": "agent"}
                for a in range(1, agents + 1)
            ],
        )
    return list(range(1, len(INBOXES) + 1))


def deadlines(
    ticket: int, inbox: int, agent: int, opened: datetime, rng: random.Random
) -> list[dict[str, Any]]:
    """A ticket's two SLA deadlines: met in time, met late, passed unmet or still open."""
    level, allowed = ("VIP", (1800, 14400)) if rng.random() < 0.2 else ("Default", (7200, 28800))
    rows = []
    for k, (target, seconds, missed) in enumerate(
        zip(("reaction", "resolution"), allowed, (0.1, 0.15), strict=True)
    ):
        fate = rng.random()
        met = fate >= missed / 3 and fate < 0.98  # a third of the missed never met; 2% open
        worked = int(seconds * (rng.uniform(1.05, 3) if fate < missed else rng.uniform(0.1, 1)))
        rows.append(
            {
                "id": (ticket - 1) * 2 + k + 1,
                "ticket_id": ticket,
                "inbox_id": inbox,
                "level": level,
                "calendar": "office",
                "target": target,
                "started_at": opened,
                "due_at": opened + timedelta(seconds=seconds),
                "paused_seconds": 0,
                "met_at": opened + timedelta(seconds=worked) if met else None,
                "breached": fate < missed,
                "worked_seconds": worked if met else None,
                "agent_id": agent if met or fate < missed else None,
            }
        )
    return rows


def chunk_rows(
    first_ticket: int, count: int, agents: int, today: date, rng: random.Random
) -> dict[Any, list[dict[str, Any]]]:
    """Tickets ``first_ticket``… (``count`` of them) with their requests, ratings and SLA
    deadlines (drawn from a generator of their own: the ratings stay as they were)."""
    tickets, requests, ratings, targets = [], [], [], []
    sla_rng = random.Random(first_ticket)
    for t in range(first_ticket, first_ticket + count):
        agent = rng.randint(1, agents)
        inbox = rng.randint(1, len(INBOXES))
        scale = rng.choice(SCALE_MIX)
        spec, weights = SCALES[scale], VALUE_WEIGHTS[scale]
        offsets = sorted(rng.sample(range(DAYS), REQUESTS_PER_TICKET))
        first_day = today - timedelta(days=DAYS - 1 - offsets[0])
        opened = datetime.combine(first_day, clock_time(8), ZONE).astimezone(UTC)
        tickets.append(
            {
                "id": t,
                "number": t,
                "inbox_id": inbox,
                "customer_id": 1,
                "identity_id": 1,
                "subject": f"Question {t}",
                "assignee_id": agent,
                "status": "closed",
                "created_at": opened,
                "updated_at": opened,
                "last_activity_at": opened,
                "priority": "normal",
                "tags": [],
            }
        )
        targets += deadlines(t, inbox, agent, opened, sla_rng)
        for k, offset in enumerate(offsets):
            day = today - timedelta(days=DAYS - 1 - offset)
            sent = datetime.combine(
                day, clock_time(rng.randint(0, 21), rng.randint(0, 59)), ZONE
            ).astimezone(UTC)
            answered = (
                sent + timedelta(minutes=rng.randint(1, 120))
                if k < REQUESTS_PER_TICKET - 1
                else None
            )
            request_id = (t - 1) * REQUESTS_PER_TICKET + k + 1
            requests.append(
                {
                    "id": request_id,
                    "token": f"r{request_id}",
                    "ticket_id": t,
                    "customer_id": 1,
                    "identity_id": 1,
                    "inbox_id": inbox,
                    "agent_id": agent,
                    "scale": scale,
                    "origin": "rule:bench",
                    "created_at": sent,
                    "expires_at": sent + timedelta(days=3),
                    "answered_at": answered,
                }
            )
            if answered is None:
                continue
            value = rng.choices(list(weights), list(weights.values()))[0]
            ratings.append(
                {
                    "id": (t - 1) * (REQUESTS_PER_TICKET - 1) + k + 1,
                    "request_id": request_id,
                    "ticket_id": t,
                    "customer_id": 1,
                    "inbox_id": inbox,
                    "agent_id": agent,
                    "scale": scale,
                    "value": value,
                    "score": spec.score(value),
                    "bucket": spec.bucket(value),
                    "via": "webchat",
                    "day": answered.astimezone(ZONE).date().isoformat(),
                    "given_at": answered,
                    "comment": "Thank you" if rng.random() < 0.1 else None,
                }
            )
    return {Ticket: tickets, RatingRequest: requests, Rating: ratings, SlaTarget: targets}


async def insert_ratings(url: str, ratings: int, agents: int, today: date) -> tuple[int, float]:
    """The data set, one transaction per chunk of tickets, through the driver's own bulk path
    (COPY on PostgreSQL, executemany on SQLite); returns (ratings, seconds)."""
    rng = random.Random(20261123)
    tickets = max(1, ratings // (REQUESTS_PER_TICKET - 1))
    db = Database(url)
    began = time.perf_counter()
    written = 0
    # Indexes are dropped for the load and built again after it, as a bulk load does: one
    # sort each instead of a million scattered inserts into trees larger than the cache.
    models = (Ticket, RatingRequest, Rating, SlaTarget)
    indexes = [i for model in models for i in model.__table__.indexes]
    try:
        await insert_base(db, agents)
        async with db.transaction() as s:
            await s.run_sync(lambda sync: [i.drop(sync.connection()) for i in indexes])
        for first in range(1, tickets + 1, TICKETS_PER_CHUNK):
            rows = chunk_rows(
                first, min(TICKETS_PER_CHUNK, tickets + 1 - first), agents, today, rng
            )
            async with db.transaction() as s:
                driver = (await (await s.connection()).get_raw_connection()).driver_connection
                for model, chunk in rows.items():
                    await bulk(db.dialect, driver, model.__table__, chunk)
            written += len(rows[Rating])
        async with db.transaction() as s:
            await s.run_sync(lambda sync: [i.create(sync.connection()) for i in indexes])
        # As autovacuum would have done by now on a live database (VACUUM sets PostgreSQL's
        # visibility map, which lets the reports read their covering indexes alone).
        async with db.engine.connect() as conn:
            done = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await done.execute(text("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE"))
    finally:
        await db.close()
    return written, time.perf_counter() - began


async def bulk(dialect: str, driver: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """``rows`` into ``table``, each with every column (a missing one is NULL)."""
    columns = [c.name for c in table.columns]
    if dialect == "postgresql":
        records = [tuple(_pg(row.get(c)) for c in columns) for row in rows]
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
        return
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    await driver.executemany(
        statement, [tuple(_sqlite(row.get(c)) for c in columns) for row in rows]
    )


def _pg(value: Any) -> Any:
    return "[]" if value == [] else value


def _sqlite(value: Any) -> Any:
    """As SQLAlchemy stores it in SQLite: naive UTC text, JSON as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return "[]" if value == [] else value


# -- the reports -------------------------------------------------------------------------------

Ask = Callable[[Database, Scope], Awaitable[Any]]


def reports(agent_id: int) -> list[tuple[str, Ask]]:
    """What the /reports pages ask, by name."""
    pages: dict[Period, int] = {}

    async def first_page(db: Database, scope: Scope) -> Any:
        return await rated.page(db, RatedFilter(scope))

    async def page_100(db: Database, scope: Scope) -> Any:
        """Page 100, or the last when there are fewer (a quick run)."""
        if scope.period not in pages:
            pages[scope.period] = (await rated.page(db, RatedFilter(scope))).pages
        return await rated.page(db, RatedFilter(scope), min(100, pages[scope.period]))

    async def negative_of_agent(db: Database, scope: Scope) -> Any:
        narrowed = Scope(scope.period, scope.zone, agent_id=agent_id)
        return await rated.page(db, RatedFilter(narrowed, bucket=Bucket.NEGATIVE))

    async def nps_responses(db: Database, scope: Scope) -> Any:
        return await rated.page(db, RatedFilter(scope, scale=Scale.NPS))

    def grained(ask: Callable[..., Awaitable[Any]], grain: Grain, *extra: Any) -> Ask:
        return lambda db, scope: ask(db, scope, grain, *extra)

    def compliance(ask: Callable[[Database, SlaFilter], Awaitable[Any]]) -> Ask:
        return lambda db, scope: ask(db, SlaFilter(scope))

    return [
        ("satisfaction by agent", series.by_agent),
        ("average score by day", grained(series.over_time, Grain.DAY)),
        ("average score by week", grained(series.over_time, Grain.WEEK)),
        ("average score by month", grained(series.over_time, Grain.MONTH)),
        ("NPS by week", grained(series.over_time, Grain.WEEK, Scale.NPS)),
        ("NPS responses, page 1", nps_responses),
        ("rated tickets, page 1", first_page),
        ("rated tickets, page 100", page_100),
        ("one agent's negative, page 1", negative_of_agent),
        ("response rate by agent", responses.by_agent),
        ("response rate by day", grained(responses.over_time, Grain.DAY)),
        ("response rate by month", grained(responses.over_time, Grain.MONTH)),
        ("SLA by level", compliance(sla.by_level)),
        ("SLA in all", compliance(sla.total)),
        ("SLA by agent", compliance(sla.by_agent)),
        ("SLA breaches, page 1", compliance(sla.breaches)),
    ]


async def timed(db: Database, ask: Ask, scope: Scope) -> float:
    """The median of RUNS asks, in seconds."""
    took = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await ask(db, scope)
        took.append(time.perf_counter() - began)
    return statistics.median(took)


async def totals(db: Database, scope: Scope) -> tuple[int, int, int]:
    """Ratings, requests and tickets with deadlines the reports count over ``scope``: all that
    were inserted?"""
    ratings = Figures.total(a.figures for a in await series.by_agent(db, scope)).count
    requests = sum(a.responses.sent for a in await responses.by_agent(db, scope))
    return ratings, requests, (await sla.total(db, SlaFilter(scope))).tickets


async def measure(backend: str, url: str, plan: argparse.Namespace) -> bool:
    today = datetime.now(ZONE).date()
    written, seconds = await insert_ratings(url, plan.ratings, plan.agents, today)
    periods = {
        "last year": Period(today - timedelta(days=364), today),
        "two years": Period(today - timedelta(days=DAYS - 1), today),
    }
    print(
        f"{backend}: {written:,} ratings of {plan.agents} agents over {DAYS} days "
        f"(+{written // (REQUESTS_PER_TICKET - 1):,} requests unanswered), inserted in "
        f"{seconds:.0f} s"
    )
    print(f"  {'report':<30}" + "".join(f"{name:>12}" for name in periods))
    db = Database(url)
    worst = 0.0
    try:
        for name, ask in reports(agent_id=1):
            figures = [await timed(db, ask, Scope(p, ZONE)) for p in periods.values()]
            worst = max(worst, *figures)
            print(f"  {name:<30}" + "".join(f"{f * 1000:>9.0f} ms" for f in figures))
        counted, sent, with_sla = await totals(db, Scope(periods["two years"], ZONE))
    finally:
        await db.close()
    tickets = written // (REQUESTS_PER_TICKET - 1)
    if (counted, sent, with_sla) != (written, tickets * REQUESTS_PER_TICKET, tickets):
        print(
            f"  FAILED: the reports count {counted:,} ratings, {sent:,} requests and "
            f"{with_sla:,} tickets with deadlines\n"
        )
        return False
    verdict = "meets" if worst < TARGET else "MISSES"
    target = " (the target is for PostgreSQL)" if backend != "PostgreSQL" else ""
    print(f"  slowest {worst * 1000:.0f} ms: {verdict} the target < {TARGET:.0f} s{target}\n")
    return True


async def main(plan: argparse.Namespace, backends: Sequence[str]) -> int:
    print(
        f"Reports benchmark on {os.cpu_count()} CPUs: each report the median of {RUNS} runs, "
        "through core/reports as the /reports pages ask them.\n"
    )
    failed = False
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="otklik-bench-") as tmp:
            async with BACKENDS[backend](Path(tmp)) as url:
                if url is not None:
                    failed = not await measure(backend, url, plan) or failed
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ratings", type=positive, default=1_000_000, help="default: 1000000")
    parser.add_argument("--agents", type=positive, default=200, help="default: 200")
    parser.add_argument(
        "--backend",
        choices=list(BACKENDS),
        action="append",
        help="only this database (may be given twice); default: each reachable one",
    )
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args, args.backend or list(BACKENDS))))
