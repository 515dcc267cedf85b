"""The public rating page, /rate/<token>: the link's random token is the authority, no sign-in.

A GET records nothing (mail scanners fetch links). The answer is the confirm form's POST,
which static/rate.js submits at once when the link names a value (``?v=``): a person's
click in an email rates in one step; a scanner that runs no script rates nothing; without
script the person presses the confirm button. After the answer: thanks and a comment box.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from core.errors import InvalidInput, NotFound
from core.i18n import text
from core.ratings import MAX_COMMENT, Page, RatingExpired, RatingLocked
from web.pages import redirect
from web.public import not_found, public_page
from web.state import STATE


async def show(request: web.Request) -> web.Response:
    try:
        page = await _page(request)
    except NotFound:
        return await not_found(request)
    raw = request.query.get("v")
    wanted = _value(raw)
    if raw is not None and wanted not in dict(page.choices):
        return await _render(request, page, status=400, error="rate.bad_value")
    return await _render(request, page, wanted=wanted)


async def rate(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    try:
        page = await _page(request)
    except NotFound:
        return await not_found(request)
    value = _value(form.get("value"))
    if value is None:
        return await _render(request, page, status=400, error="rate.bad_value")
    allow_change = state.config.ratings.public_page_allows_change
    try:
        await state.desk.rate(page.token, value, allow_change)
    except RatingExpired:  # it expired since the page was read
        return await _render(request, replace(page, expired=True))
    except RatingLocked:
        return await _render(request, page, status=409, error="rate.locked")
    except InvalidInput:  # a value off the request's scale
        return await _render(request, page, status=400, error="rate.bad_value")
    return redirect(f"/rate/{page.token}")


async def comment(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    try:
        page = await _page(request)
    except NotFound:
        return await not_found(request)
    given = form.get("text")
    try:
        if not isinstance(given, str):
            raise InvalidInput("the form has no comment text")
        await state.desk.comment_rating(page.token, given)
    except RatingExpired:  # it expired since the page was read
        return await _render(request, replace(page, expired=True))
    except InvalidInput as exc:  # empty, too long, or no rating to comment on yet
        refused = f"{text(state.locale, 'rate.comment_refused')} {exc}"
        return await _render(request, page, status=400, error=refused, draft=given)
    return redirect(f"/rate/{page.token}")


async def _page(request: web.Request) -> Page:
    return await request.app[STATE].desk.rating_page(request.match_info["token"])


def _value(raw: object) -> int | None:
    """A rating value as a form or link gives it; None when it is no whole number."""
    if not isinstance(raw, str) or not raw.strip().lstrip("-").isdigit() or len(raw) > 6:
        return None
    return int(raw)


async def _render(
    request: web.Request,
    page: Page,
    *,
    status: int = 200,
    wanted: int | None = None,
    error: str | None = None,
    draft: object = None,
) -> web.Response:
    """The page in its state: expired, or the choices (with ``wanted`` chosen, and sent at
    once by script when it differs from the rating given), the rating given, its comment."""
    allow_change = request.app[STATE].config.ratings.public_page_allows_change
    may_rate = not page.expired and (page.value is None or allow_change)
    return await public_page(
        request,
        "rate.html",
        status=410 if page.expired else status,
        page=page,
        labels=dict(page.choices),
        chosen=page.value if wanted is None else wanted,
        may_rate=may_rate,
        auto=may_rate and wanted is not None and wanted != page.value and not error,
        allow_change=allow_change,
        error=error,
        draft=draft if isinstance(draft, str) else "",
        limit=MAX_COMMENT,
    )


def setup(app: web.Application) -> None:
    # Tokens are URL-safe: any other path is no page (a NUL in one failed PostgreSQL's lookup).
    app.add_routes(
        [
            web.get("/rate/{token:[A-Za-z0-9_-]+}", show),
            web.post("/rate/{token:[A-Za-z0-9_-]+}", rate),
            web.post("/rate/{token:[A-Za-z0-9_-]+}/comment", comment),
        ]
    )
