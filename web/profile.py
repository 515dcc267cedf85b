"""An agent's own page: who they are, and linking their Telegram account to the bots."""

from __future__ import annotations

from aiohttp import web

from core import agents, queries
from core.agents import LINK_VALID
from core.channels import AgentLinks
from web.auth import require
from web.pages import redirect, render
from web.state import STATE


async def profile(request: web.Request) -> web.Response:
    session = await require(request)
    agent = await queries.agent(request.app[STATE].db, session.agent.id)
    return render(request, "profile.html", session=session, agent=agent, code=None, links=[])


async def link_telegram(request: web.Request) -> web.Response:
    """A fresh one-time code, and for each bot the deep link that sends it."""
    session = await require(request)
    state = request.app[STATE]
    code = await agents.link_code(state.db, session.agent.id, state.clock())
    links = [
        (name, link)
        for name, channel in state.channels.items()
        if isinstance(channel, AgentLinks) and (link := channel.agent_link(code))
    ]
    agent = await queries.agent(state.db, session.agent.id)
    return render(
        request,
        "profile.html",
        session=session,
        agent=agent,
        code=code,
        links=links,
        minutes=int(LINK_VALID.total_seconds() // 60),
    )


async def unlink_telegram(request: web.Request) -> web.Response:
    session = await require(request)
    await agents.unlink_telegram(request.app[STATE].db, session.agent.id)
    return redirect("/inbox/profile")


def setup(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/inbox/profile", profile),
            web.post("/inbox/profile/telegram", link_telegram),
            web.post("/inbox/profile/telegram/unlink", unlink_telegram),
        ]
    )
