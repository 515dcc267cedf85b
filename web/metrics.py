"""/metrics: the Prometheus text format, for a scraper the operator allows.

The core's counters and histograms (core/metrics.py) are this process's; the queue gauges are
read from the database at scrape time, one cheap query each (both use an index on the state
column), so every process reports the same whole-service figures for them.

Who may read: with ``[web] metrics_token`` set, a request carrying it as a bearer token;
without, only a client on loopback that came straight, not through a proxy (a request with
``Forwarded``/``X-Forwarded-For``/``X-Real-IP`` is refused, since a reverse proxy on the same
machine would otherwise make every visitor look local).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from core import metrics
from core.db import Database
from core.delays import PENDING
from core.models import DelayedRun, Delivery, OutboxItem
from web.bounded import at_most
from web.state import STATE

log = logging.getLogger("otklik.web")
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
_QUERY_SECONDS = 5.0


@dataclass(frozen=True)
class Queues:
    """The database's side of the figures, read at scrape time."""

    outbox_depth: int
    outbox_oldest_age: float  # seconds; 0 when nothing waits
    runs_pending: int
    runs_overdue: int


async def read_queues(db: Database, now: datetime) -> Queues:
    async with db.reading() as session:
        depth, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxItem.created_at)).where(
                    OutboxItem.status.in_((Delivery.QUEUED, Delivery.SENDING))
                )
            )
        ).one()
        pending, overdue = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((DelayedRun.due_at <= now, 1), else_=0)), 0),
                ).where(DelayedRun.state == PENDING)
            )
        ).one()
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return Queues(depth, age, pending, overdue)


class _Scrape(Collector):
    """The process's registry and, when the database answered, the queue gauges."""

    def __init__(self, queues: Queues | None) -> None:
        self._queues = queues

    def collect(self) -> Iterator[Metric]:
        yield from metrics.REGISTRY.collect()
        yield GaugeMetricFamily(
            "otklik_database_up",
            "Whether the database answered this scrape's queries (1) or not (0)",
            value=0 if self._queues is None else 1,
        )
        age = metrics.SCHEDULER.age()
        yield GaugeMetricFamily(
            "otklik_scheduler_running",
            "Whether this process's rules runner loop is running (1) or not (0)",
            value=0 if age is None else 1,
        )
        if self._queues is None:
            return
        q = self._queues
        for name, doc, value in (
            ("otklik_outbox_depth", "Outgoing messages not yet delivered", q.outbox_depth),
            (
                "otklik_outbox_oldest_age_seconds",
                "Age of the oldest outgoing message not yet delivered (0: none)",
                q.outbox_oldest_age,
            ),
            ("otklik_rule_runs_pending", "Rule runs waiting to fire", q.runs_pending),
            (
                "otklik_rule_runs_overdue",
                "Rule runs whose due time has passed and that have not fired yet",
                q.runs_overdue,
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


def allowed(request: web.Request) -> bool:
    token = request.app[STATE].config.web.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if any(header in request.headers for header in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:  # a Unix socket or no peer address
        return False


async def scrape(request: web.Request) -> web.Response:
    if not allowed(request):
        raise web.HTTPForbidden(
            text="metrics are for the configured scraper: [web] metrics_token, or loopback"
        )
    state = request.app[STATE]
    try:
        queues: Queues | None = await at_most(_QUERY_SECONDS, read_queues(state.db, state.clock()))
    except Exception as exc:
        log.warning("metrics: the queue gauges could not be read: %s", exc)
        queues = None
    body = generate_latest(_Scrape(queues))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    """The route, and the SLA breach counter on the app's event bus."""
    app.router.add_get("/metrics", scrape)
    # A group: with several processes, each breach is counted once, by the one that leads.
    unsubscribe = app[STATE].bus.subscribe(
        metrics.count_sla_breach, metrics.SLA_BREACH_EVENTS, group="metrics:sla"
    )

    async def _unsubscribe(_app: web.Application) -> None:
        unsubscribe()

    app.on_cleanup.append(_unsubscribe)
