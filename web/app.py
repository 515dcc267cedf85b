"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from web import (
    admin_rules,
    api,
    health,
    inbox,
    live,
    login,
    metrics,
    notifications,
    press_page,
    profile,
    rate,
    reports,
    survey,
    tasks,
)
from web.auth import csrf_middleware
from web.errors import errors_middleware
from web.nav import nav_middleware
from web.state import STATE, State

STATIC = Path(__file__).parent / "static"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/chat"):  # the chat page may be framed by the widget
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def create_app(state: State, *, pages: bool = True) -> web.Application:
    """The app; without ``pages`` (a worker process) only /healthz and /metrics."""
    app = web.Application(
        client_max_size=state.config.web.max_body_bytes,
        middlewares=[errors_middleware, security_headers, csrf_middleware, nav_middleware],
    )
    app[STATE] = state
    health.setup(app)
    metrics.setup(app)
    if not pages:
        return app
    login.setup_routes(app)
    inbox.setup(app)
    profile.setup(app)
    tasks.setup(app)
    notifications.setup(app)
    admin_rules.setup(app)
    reports.setup(app)
    live.setup(app, state.bus)
    api.setup(app)
    rate.setup(app)
    press_page.setup(app)
    survey.setup(app)
    app.router.add_static("/static/", STATIC, name="static")
    return app
