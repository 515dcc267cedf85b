"""The tasks page: an agent's open or done tasks (supervisors' also the team's), and "done"."""

from __future__ import annotations

from aiohttp import web

from core import queries, tasks
from core.errors import InvalidInput
from core.tasks import LEADS, Owner, TaskFilter
from web.auth import require
from web.pages import redirect, render
from web.state import STATE


def _owner(raw: str) -> Owner:
    if raw == "team":
        return "team"
    if raw == "all":
        return "all"
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"owner: expected team, all or an agent id, not {raw!r}")
    return int(raw)


async def task_list(request: web.Request) -> web.Response:
    session = await require(request)
    state = request.app[STATE]
    show = request.query.get("show", "open")
    if show not in ("open", "done"):
        raise InvalidInput(f"show: expected open or done, not {show!r}")
    owner = _owner(request.query.get("owner", ""))
    found = await tasks.visible(state.db, session.agent, TaskFilter(show == "done", owner))
    lead = session.agent.role in LEADS
    return render(
        request,
        "tasks.html",
        session=session,
        tasks=found,
        show=show,
        owner=request.query.get("owner", ""),
        agents=await queries.agents(state.db) if lead else [],
        now=state.clock(),
        may_complete=tasks.may_complete,
        back=request.path_qs,
    )


async def done(request: web.Request) -> web.Response:
    session = await require(request)
    state = request.app[STATE]
    raw = request.match_info["task"]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound(text=f"task {raw} does not exist")
    await tasks.complete(state.db, int(raw), session.agent, state.clock())
    back = str((await request.post()).get("back", ""))
    # Only back to a page of the inbox, never to another site.
    return redirect(back if back.startswith("/inbox/") else "/inbox/tasks")


def setup(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/inbox/tasks", task_list),
            web.post("/inbox/tasks/{task}/done", done),
        ]
    )
