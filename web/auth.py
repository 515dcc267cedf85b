"""Agents' sign-in: session cookies, bearer tokens for the API, CSRF on every unsafe request.

A session is a random token stored as a digest; the browser keeps it in an HttpOnly,
SameSite=Lax cookie (Secure when the public URL is https). Every unsafe request made with
that cookie must carry the session's CSRF token (form field ``csrf`` or header
``X-CSRF-Token``). Forms shown before sign-in use a double-submit token: a random cookie
``otklik_csrf`` repeated in the form. Bearer-token API calls carry no ambient credential and
need no CSRF token. Customer-facing routes (/chat, /webhooks) have their own checks.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from core import agents
from core.agents import Session
from core.models import Role
from web.state import STATE

SESSION_COOKIE = "otklik_session"
ANON_CSRF_COOKIE = "otklik_csrf"
_SESSION_KEY = web.RequestKey("otklik_session", object)
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_CSRF_EXEMPT = ("/chat", "/webhooks/")  # customer routes with checks of their own
_SIGN_IN = ("POST", "/api/v1/session")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_token(request: web.Request) -> str | None:
    """The session token the request carries: a bearer token, else the session cookie."""
    return _token(request)[0]


def _token(request: web.Request) -> tuple[str | None, bool]:
    """The session token and whether it came from a cookie (an ambient credential)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(SESSION_COOKIE), True


async def session_of(request: web.Request) -> Session | None:
    """The signed-in agent's session, looked up once per request."""
    if _SESSION_KEY not in request:
        token, _ = _token(request)
        state = request.app[STATE]
        found = await agents.session_for(state.db, token, state.clock()) if token else None
        request[_SESSION_KEY] = found
    found = request[_SESSION_KEY]
    return found if isinstance(found, Session) else None


async def require(request: web.Request, *roles: Role) -> Session:
    """The session, or 401 (API) / a redirect to sign-in (pages); 403 without the role."""
    session = await session_of(request)
    if session is None:
        if request.path.startswith("/api/"):
            raise web.HTTPUnauthorized(text="sign in first: POST /api/v1/session")
        raise web.HTTPSeeOther(f"/inbox/login?next={request.path_qs}")
    if roles and session.agent.role not in roles:
        raise web.HTTPForbidden(text=f"this needs the role {' or '.join(roles)}")
    return session


def anon_csrf(request: web.Request, response: web.StreamResponse) -> str:
    """The pre-sign-in CSRF token for a form, set as a cookie if the browser has none."""
    token = request.cookies.get(ANON_CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
        response.set_cookie(ANON_CSRF_COOKIE, token, **cookie_flags(request))
    return token


def cookie_flags(request: web.Request) -> dict[str, object]:
    secure = request.app[STATE].config.web.secure_cookies
    return {"httponly": True, "samesite": "Lax", "secure": secure, "path": "/"}


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(agents.SESSION_VALID.total_seconds()),
        **cookie_flags(request),
    )


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if (
        request.method in _UNSAFE
        and not request.path.startswith(_CSRF_EXEMPT)
        and (request.method, request.path) != _SIGN_IN
    ):
        token, ambient = _token(request)
        # An API call with no credential at all is refused by require() with 401.
        if ambient and (token or not request.path.startswith("/api/")):
            await _check_csrf(request, token)
    return await handler(request)


async def _check_csrf(request: web.Request, session_token: str | None) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        given = str((await request.post()).get("csrf", ""))
    session = await session_of(request) if session_token else None
    expected = session.csrf_token if session else request.cookies.get(ANON_CSRF_COOKIE)
    # Compared as bytes: compare_digest refuses str with non-ASCII in it (a TypeError, a 500).
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden(
            text="the form's security token is missing or stale; reload the page and try again"
        )
