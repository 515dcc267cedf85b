"""Signing in and out, and the one-time setup link that sets an agent's first password."""

from __future__ import annotations

from aiohttp import web

from core import agents
from core.errors import Forbidden, InvalidInput
from web.auth import SESSION_COOKIE, anon_csrf, require, set_session_cookie
from web.pages import redirect, render
from web.state import STATE


def _next_page(value: str | None) -> str:
    """Only a path inside the inbox or the admin pages: never an open redirect to another site."""
    if value and value.startswith(("/inbox", "/admin/")):
        return value
    return "/inbox"


async def login_form(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    response = web.Response()
    csrf = anon_csrf(request, response)
    page = render(
        request,
        "login.html",
        status=status,
        csrf=csrf,
        error=error,
        next=_next_page(request.query.get("next")),
    )
    page.cookies.update(response.cookies)
    return page


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    state = request.app[STATE]
    agent = await agents.authenticate(
        state.db, str(form.get("login", "")), str(form.get("password", ""))
    )
    if agent is None:
        return await login_form(request, error="inbox.bad_login", status=401)
    response = redirect(_next_page(str(form.get("next", ""))))
    set_session_cookie(request, response, await agents.open_session(state.db, agent, state.clock()))
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await require(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await agents.close_session(request.app[STATE].db, token)
    response = redirect("/inbox/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def setup_form(request: web.Request, error: str | None = None) -> web.Response:
    state = request.app[STATE]
    agent = await agents.agent_for_setup(state.db, request.match_info["token"], state.clock())
    if agent is None:
        return render(request, "setup.html", status=410, agent=None, csrf="", error=None)
    response = web.Response()
    csrf = anon_csrf(request, response)
    page = render(
        request, "setup.html", status=400 if error else 200, agent=agent, csrf=csrf, error=error
    )
    page.cookies.update(response.cookies)
    return page


async def setup(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    try:
        agent = await agents.complete_setup(
            state.db, request.match_info["token"], str(form.get("password", "")), state.clock()
        )
    except InvalidInput as exc:
        return await setup_form(request, error=str(exc))
    except Forbidden:
        return render(request, "setup.html", status=410, agent=None, csrf="", error=None)
    response = redirect("/inbox")
    set_session_cookie(request, response, await agents.open_session(state.db, agent, state.clock()))
    return response


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/inbox/login", login_form),
            web.post("/inbox/login", login),
            web.post("/inbox/logout", logout),
            web.get("/inbox/setup/{token}", setup_form),
            web.post("/inbox/setup/{token}", setup),
        ]
    )
