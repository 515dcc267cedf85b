"""The rating and SLA reports' pages under /reports: supervisors and admins only."""

from __future__ import annotations

from aiohttp import web

from web.reports.pages import average, index, nps, rated_list, response_rate, satisfaction
from web.reports.sla import compliance


def setup(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/reports", index),
            web.get("/reports/satisfaction", satisfaction),
            web.get("/reports/average", average),
            web.get("/reports/ratings", rated_list),
            web.get("/reports/nps", nps),
            web.get("/reports/responses", response_rate),
            web.get("/reports/sla", compliance),
        ]
    )
