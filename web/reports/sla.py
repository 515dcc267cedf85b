"""/reports/sla: SLA compliance per level and per agent, the breached deadlines, CSV."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from core.reports import sla
from core.reports.sla import Compliance, Group, SlaFilter, Target
from core.sla.status import duration_text
from web.reports import chart, export
from web.reports.pages import Report, pct
from web.reports.params import page_number

_TARGETS = (sla.REACTION, sla.RESOLUTION)


async def compliance(request: web.Request) -> web.StreamResponse:
    report = await Report.open(request, "sla")
    db, config = report.state.db, report.state.config
    levels = [level.name for level in config.sla.level]
    wanted = SlaFilter(
        report.asked.scope, await sla.known_level(db, request.query.get("level"), levels)
    )
    per_level = await sla.by_level(db, wanted)
    per_agent = await sla.by_agent(db, wanted)
    total = await sla.total(db, wanted)
    if report.asked.csv:
        return _csv(report, per_level, per_agent, total)
    bars = [
        chart.Bar(
            f"{g.name} · {report.t('sla.target.' + name)}",
            {"met": target.met, "missed": target.missed},
            report.t(
                "reports.sla.bar_title",
                met=target.met,
                missed=target.missed,
                share=pct(target.share),
            ),
        )
        for g in per_level
        for name, target in zip(_TARGETS, (g.figures.reaction, g.figures.resolution), strict=True)
    ]
    drawn = chart.stacked(bars, report.t("reports.sla.title")) if bars else None
    locale = report.state.locale

    def span(seconds: float | None) -> str:
        return "—" if seconds is None else duration_text(locale, timedelta(seconds=seconds))

    return await report.page(
        per_level=per_level,
        per_agent=per_agent,
        total=total,
        chart=drawn,
        levels=levels,
        breaches=await sla.breaches(db, wanted, page_number(request.query)),
        who=report.who,
        span=span,
    )


def _csv(
    report: Report, per_level: list[Group], per_agent: list[Group], total: Compliance
) -> web.Response:
    header = ["reports.sla.group", "reports.sla.name", "reports.sla.tickets"]
    for name in _TARGETS:
        header += [f"reports.sla.{name}_met", f"reports.sla.{name}_missed"]
        header += [f"reports.sla.{name}_share"]
    header += ["reports.sla.reaction_avg_minutes", "reports.sla.resolution_avg_minutes"]

    def row(group: str, name: str, f: Compliance) -> list[export.Cell]:
        cells: list[export.Cell] = [report.t(f"reports.sla.group.{group}"), name, f.tickets]
        for target in (f.reaction, f.resolution):
            cells += [target.met, target.missed, _percent(target)]
        return [*cells, _minutes(f.reaction.average), _minutes(f.resolution.average)]

    rows = [row("level", g.name or "", g.figures) for g in per_level]
    rows += [row("agent", report.who(g.name), g.figures) for g in per_agent]
    rows.append(row("all", report.t("reports.everyone"), total))
    return report.csv(header, rows)


def _percent(target: Target) -> float | None:
    return None if target.share is None else round(target.share * 100, 1)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)
