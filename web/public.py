"""Customer-facing pages (no sign-in: a link's token is the authority): their own layout, the
configured locale, a CSRF token in their forms, never cached or indexed."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web.auth import anon_csrf, session_of
from web.pages import render


async def public_page(
    request: web.Request, template: str, status: int = 200, **context: Any
) -> web.Response:
    """Render ``template`` with ``csrf`` for its forms: the signed-in agent's session token
    when there is one (an agent trying a link), else the pre-sign-in double-submit token."""
    cookies = web.Response()
    session = await session_of(request)
    csrf = session.csrf_token if session else anon_csrf(request, cookies)
    page = render(request, template, status=status, csrf=csrf, **context)
    page.cookies.update(cookies.cookies)
    page.headers["Cache-Control"] = "no-store"
    page.headers["X-Robots-Tag"] = "noindex"
    return page


async def not_found(request: web.Request) -> web.Response:
    """An unknown token or button id: a 404 page in the customer's terms."""
    title, key = "rate.not_found_title", "rate.not_found"
    return await public_page(request, "public_message.html", status=404, title=title, key=key)
