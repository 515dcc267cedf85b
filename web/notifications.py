"""The notifications page: an agent's own notifications, marked read one by one or all at once."""

from __future__ import annotations

from aiohttp import web

from core import notifications
from web.auth import require
from web.pages import redirect, render
from web.state import STATE


async def notification_list(request: web.Request) -> web.Response:
    session = await require(request)
    found = await notifications.for_agent(request.app[STATE].db, session.agent.id)
    return render(request, "notifications.html", session=session, notifications=found)


async def read_one(request: web.Request) -> web.Response:
    session = await require(request)
    state = request.app[STATE]
    raw = request.match_info["notification"]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound(text=f"notification {raw} does not exist")
    await notifications.mark_read(state.db, session.agent.id, int(raw), state.clock())
    return redirect("/inbox/notifications")


async def read_all(request: web.Request) -> web.Response:
    session = await require(request)
    state = request.app[STATE]
    await notifications.mark_all_read(state.db, session.agent.id, state.clock())
    return redirect("/inbox/notifications")


def setup(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/inbox/notifications", notification_list),
            web.post("/inbox/notifications/read", read_all),
            web.post("/inbox/notifications/{notification}/read", read_one),
        ]
    )
