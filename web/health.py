"""/healthz: can this process do its work — database, Redis (when configured), scheduler.

200 with every part "ok" (the scheduler "running"), else 503 naming the failing part. The
scheduler is the rules runner of a process that fires rule runs (``--role all`` or ``worker``):
"running" means its loop goes round; a web process says "not here". ``leader`` tells whether
this process leads (see core.leader); it is information, not health: followers are healthy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import redis.asyncio as redis
from aiohttp import web

from core import metrics
from web.bounded import at_most
from web.state import STATE

CHECK_SECONDS = 5.0
STALLED_AFTER = 60.0  # seconds without a round of the runner's loop (it goes round every 0.5 s)
_REDIS = web.AppKey("otklik_health_redis", redis.Redis)


async def healthz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    checks: dict[str, Awaitable[object]] = {"database": state.db.ping()}
    if _REDIS in request.app:
        checks["redis"] = request.app[_REDIS].ping()
    results = await asyncio.gather(*(_check(c) for c in checks.values()))
    report: dict[str, str] = dict(zip(checks, results, strict=True))
    report["scheduler"] = scheduler_state() if state.works else "not here"
    report["leader"] = state.leadership.state() if state.works else "not here"
    healthy = all(v == "ok" for v in results) and report["scheduler"] in ("running", "not here")
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", **report}, status=200 if healthy else 503
    )


async def _check(ping: Awaitable[object]) -> str:
    try:
        await at_most(CHECK_SECONDS, ping)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def scheduler_state() -> str:
    age = metrics.SCHEDULER.age()
    if age is None:
        return "stopped"
    if age > STALLED_AFTER:
        return f"stalled: no round for {age:.0f} s"
    return "running"


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    url = app[STATE].config.redis.url
    if url is None:
        return
    app[_REDIS] = redis.from_url(url, socket_connect_timeout=CHECK_SECONDS)

    async def _close(app: web.Application) -> None:
        await app[_REDIS].aclose()

    app.on_cleanup.append(_close)
