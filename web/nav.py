"""What every inbox page's header shows: the unread notifications, and to admins the rule files'
problems while the last good rules stay live. Gathered once per page request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from core import notifications
from core.models import Role
from web.auth import session_of
from web.state import STATE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PAGES = ("/inbox", "/admin/", "/reports")
_NOT_PAGES = ("/inbox/ws", "/inbox/messages/")  # the live feed, customers' files


@dataclass(frozen=True)
class Nav:
    unread: int
    rule_problems: list[str]  # shown to admins only


NAV = web.RequestKey("otklik_nav", Nav)


@web.middleware
async def nav_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if (
        request.path.startswith(_PAGES)
        and not request.path.startswith(_NOT_PAGES)
        and not request.query.get("partial")  # live refreshes render no header
        and (session := await session_of(request)) is not None
    ):
        state = request.app[STATE]
        problems = state.rules.problems if session.agent.role == Role.ADMIN else []
        request[NAV] = Nav(
            unread=await notifications.unread_count(state.db, session.agent.id),
            # File names as admins know them, not the server's full paths.
            rule_problems=[str(replace(p, file=Path(p.file).name)) for p in problems],
        )
    return await handler(request)
