"""/healthz: is the database reachable."""

from __future__ import annotations

import asyncio

from aiohttp import web

from web.state import STATE


async def healthz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        await asyncio.wait_for(state.db.ping(), timeout=5)
    except Exception as exc:
        return web.json_response(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
            status=503,
        )
    return web.json_response({"status": "ok", "database": "ok"})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
