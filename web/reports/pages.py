"""The report pages: each reads its filters, asks core/reports, and answers a page with a
chart and a table, or the table as CSV (``?format=csv``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from core import queries
from core.agents import Session
from core.errors import InvalidInput
from core.i18n import text
from core.models import Role
from core.reports import rated, responses, series
from core.reports.figures import Figures
from core.reports.rated import Rated, RatedFilter
from core.reports.scope import Period
from core.scales import Scale
from web.auth import require
from web.pages import render
from web.reports import chart, export
from web.reports.params import Asked, asked, page_number, rated_filter
from web.state import STATE

LEADS = (Role.SUPERVISOR, Role.ADMIN)
CHART_AGENTS = 40  # bars in the satisfaction chart; the table has every agent


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


class Report:
    """One request to a report page: who asks, what, and how to answer."""

    def __init__(self, request: web.Request, name: str, session: Session, asked: Asked) -> None:
        self.request, self.name, self.session, self.asked = request, name, session, asked
        self.state = request.app[STATE]

    @classmethod
    async def open(cls, request: web.Request, name: str) -> Report:
        """For supervisors and admins only (403 otherwise); the query read or refused (400)."""
        session = await require(request, *LEADS)
        state = request.app[STATE]
        wanted = await asked(state.db, request.query, state.config.tz, state.clock())
        return cls(request, name, session, wanted)

    def t(self, key: str, **values: Any) -> str:
        return text(self.state.locale, key, **values)

    @property
    def period(self) -> Period:
        return self.asked.scope.period

    def csv(self, header: Sequence[str], rows: Sequence[Sequence[export.Cell]]) -> web.Response:
        return export.table(self.name, self.period, [self.t(k) for k in header], rows)

    async def page(self, **context: Any) -> web.Response:
        query = self.request.query

        def pager(number: int, **changes: str | None) -> str:
            """The query string again, at page ``number``, with ``changes`` (None: left out)."""
            merged: dict[str, str | None] = {**query, "page": str(number), **changes}
            return urlencode({k: v for k, v in merged.items() if v is not None and k != "format"})

        return render(
            self.request,
            f"reports/{self.name}.html",
            session=self.session,
            report=self.name,
            query=query,
            period=self.period,
            grain=self.asked.grain,
            csv_link=self.request.rel_url.update_query(format="csv"),
            pager=pager,
            request_path=self.request.path,
            agents=await queries.agents(self.state.db, active_only=False),
            inboxes=[i.name for i in self.state.config.inbox],
            pct=pct,
            num=num,
            **context,
        )

    def who(self, name: str | None) -> str:
        return name or self.t("reports.nobody")


def _day(start: str) -> date:
    return date.fromisoformat(start)


async def index(request: web.Request) -> web.Response:
    session = await require(request, *LEADS)
    return render(request, "reports/index.html", session=session, report="index")


async def satisfaction(request: web.Request) -> web.StreamResponse:
    report = await Report.open(request, "satisfaction")
    wanted = report.asked
    agents = await series.by_agent(report.state.db, wanted.scope)
    total = Figures.total(a.figures for a in agents)
    if wanted.csv:
        header = ["reports.agent", "reports.rated", "reports.positive", "reports.neutral"]
        header += ["reports.negative", "reports.satisfaction"]
        return report.csv(
            header,
            [
                [
                    report.who(a.name),
                    f.count,
                    f.positive,
                    f.neutral,
                    f.negative,
                    _share(f.satisfaction),
                ]
                for a in agents
                for f in [a.figures]
            ],
        )
    busiest = sorted(agents, key=lambda a: -a.figures.count)[:CHART_AGENTS]
    bars = [
        chart.Bar(
            report.who(a.name),
            {
                "positive": a.figures.positive,
                "neutral": a.figures.neutral,
                "negative": a.figures.negative,
            },
            report.t(
                "reports.bar_title",
                positive=a.figures.positive,
                neutral=a.figures.neutral,
                negative=a.figures.negative,
                share=pct(a.figures.satisfaction),
            ),
        )
        for a in busiest
    ]
    drawn = chart.stacked(bars, report.t("reports.satisfaction.title")) if bars else None
    return await report.page(
        rows=agents,
        total=total,
        chart=drawn,
        capped=len(agents) > CHART_AGENTS,
        chart_agents=CHART_AGENTS,
        who=report.who,
    )


async def average(request: web.Request) -> web.StreamResponse:
    report = await Report.open(request, "average")
    wanted = report.asked
    points = await series.over_time(report.state.db, wanted.scope, wanted.grain)
    if wanted.csv:
        return report.csv(
            ["reports.from_day", "reports.rated", "reports.average_score"],
            [[p.start, p.figures.count, _round(p.figures.average)] for p in points],
        )
    dots = [
        chart.Dot(
            _day(p.start),
            p.figures.average or 0.0,
            f"{p.start}: {num(p.figures.average)} ({p.figures.count})",
        )
        for p in points
    ]
    label = report.t("reports.average.title")
    drawn = chart.line(dots, report.period, 0, 100, label) if dots else None
    total = Figures.total(p.figures for p in points)
    return await report.page(rows=points, total=total, chart=drawn)


async def nps(request: web.Request) -> web.StreamResponse:
    report = await Report.open(request, "nps")
    wanted = report.asked
    points = await series.over_time(report.state.db, wanted.scope, wanted.grain, Scale.NPS)
    if wanted.csv:
        header = ["reports.from_day", "reports.responses", "reports.promoters"]
        header += ["reports.passives", "reports.detractors", "reports.nps"]
        return report.csv(
            header,
            [
                [p.start, f.count, f.positive, f.neutral, f.negative, _round(f.nps)]
                for p in points
                for f in [p.figures]
            ],
        )
    dots = [
        chart.Dot(
            _day(p.start),
            p.figures.nps or 0.0,
            f"{p.start}: NPS {num(p.figures.nps)} ({p.figures.count})",
        )
        for p in points
    ]
    drawn = (
        chart.line(dots, report.period, -100, 100, report.t("reports.nps.title")) if dots else None
    )
    answers = await rated.page(
        report.state.db, RatedFilter(wanted.scope, scale=Scale.NPS), page_number(request.query)
    )
    total = Figures.total(p.figures for p in points)
    return await report.page(rows=points, total=total, chart=drawn, answers=answers)


RESPONSE_TABLES = ("agents", "periods")  # the response rate's tables, one CSV each


async def response_rate(request: web.Request) -> web.StreamResponse:
    """Two tables, per agent and per period; the CSV is the first, or ``table=periods``."""
    report = await Report.open(request, "responses")
    wanted = report.asked
    table = request.query.get("table", "agents")
    if table not in RESPONSE_TABLES:
        expected = " or ".join(RESPONSE_TABLES)
        raise InvalidInput(f"table: expected {expected}, not {table[:40]!r}")
    db = report.state.db
    rates = ["reports.sent", "reports.answered", "reports.response_rate"]
    if wanted.csv and table == "periods":
        points = await responses.over_time(db, wanted.scope, wanted.grain)
        return export.table(
            f"responses-by-{wanted.grain}",
            report.period,
            [report.t(k) for k in ["reports.from_day", *rates]],
            [[p.start, *_rates(p.responses)] for p in points],
        )
    agents = await responses.by_agent(db, wanted.scope)
    if wanted.csv:
        return report.csv(
            ["reports.agent", *rates], [[report.who(a.name), *_rates(a.responses)] for a in agents]
        )
    points = await responses.over_time(db, wanted.scope, wanted.grain)
    dots = [
        chart.Dot(
            _day(p.start),
            (p.responses.rate or 0.0) * 100,
            f"{p.start}: {pct(p.responses.rate)} ({p.responses.answered}/{p.responses.sent})",
        )
        for p in points
    ]
    drawn = (
        chart.line(dots, report.period, 0, 100, report.t("reports.responses.title"))
        if dots
        else None
    )
    total = responses.Responses(
        sum(a.responses.sent for a in agents), sum(a.responses.answered for a in agents)
    )
    return await report.page(
        rows=agents,
        points=points,
        total=total,
        chart=drawn,
        who=report.who,
        periods_csv_link=request.rel_url.update_query(format="csv", table="periods"),
    )


def _rates(counted: responses.Responses) -> list[export.Cell]:
    return [counted.sent, counted.answered, _share(counted.rate)]


async def rated_list(request: web.Request) -> web.StreamResponse:
    report = await Report.open(request, "ratings")
    wanted = report.asked
    wanted_filter = rated_filter(request.query, wanted.scope)
    db, zone = report.state.db, report.state.config.tz
    if wanted.csv:
        header = ["reports.ticket", "reports.link", "reports.day", "reports.given_at"]
        header += ["reports.inbox", "reports.agent", "reports.scale", "reports.value"]
        header += ["reports.score", "reports.bucket", "reports.comment"]
        base = report.state.config.web.base_url

        async def rows() -> AsyncIterator[list[Sequence[export.Cell]]]:
            async for chunk in rated.every(db, wanted_filter):
                yield [_rated_row(r, base, zone, report) for r in chunk]

        return await export.stream(
            request, report.name, report.period, [report.t(k) for k in header], rows()
        )
    found = await rated.page(db, wanted_filter, page_number(request.query))
    return await report.page(found=found, scales=list(Scale))


def _rated_row(r: Rated, base: str, zone: Any, report: Report) -> list[export.Cell]:
    return [
        r.ticket_number,
        f"{base}/inbox/tickets/{r.ticket_number}",
        r.day,
        r.given_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        r.inbox,
        report.who(r.agent),
        report.t(f"reports.scale.{r.scale}"),
        r.value,
        r.score,
        report.t(f"reports.bucket.{r.bucket}"),
        r.comment,
    ]


def _share(share: float | None) -> float | None:
    """A 0–1 share as a percentage with one decimal, for CSV."""
    return None if share is None else round(share * 100, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
