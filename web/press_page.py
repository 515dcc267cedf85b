"""Press links, /press/<button id>: a button of the core sent by email, where buttons are
links. The button's id is random and unguessable: it is the authority, no sign-in.

A GET shows the choice and records nothing (mail scanners fetch links); the confirm form's
POST presses the button as a press in the chat would. A rating button's link leads to the
rating page with its value chosen (web/rate.py)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from core.errors import ButtonRefused, NotFound
from core.presses import Linked
from web.pages import redirect
from web.public import not_found, public_page
from web.state import STATE


async def show(request: web.Request) -> web.Response:
    try:
        linked = await _linked(request)
    except NotFound:
        return await not_found(request)
    if linked.rating_token is not None:
        return web.Response(
            status=302,
            headers={"Location": f"/rate/{quote(linked.rating_token)}?v={linked.rating_value}"},
        )
    return await _render(request, linked, sent="sent" in request.query)


async def press(request: web.Request) -> web.Response:
    state = request.app[STATE]
    button_id = request.match_info["button"]
    try:
        linked = await _linked(request)
        await state.desk.press_link(button_id, state.config.ratings.public_page_allows_change)
    except NotFound:
        return await not_found(request)
    except ButtonRefused as exc:  # e.g. a rating request that expired, or a locked rating
        return await _render(request, linked, status=403, refused=exc)
    if linked.rating_token is not None:
        return redirect(f"/rate/{quote(linked.rating_token)}")
    return redirect(f"/press/{quote(button_id)}?sent")


async def _linked(request: web.Request) -> Linked:
    return await request.app[STATE].desk.press_link_page(request.match_info["button"])


async def _render(
    request: web.Request,
    linked: Linked,
    *,
    status: int = 200,
    sent: bool = False,
    refused: ButtonRefused | None = None,
) -> web.Response:
    return await public_page(
        request,
        "press.html",
        status=status,
        linked=linked,
        button_id=request.match_info["button"],
        sent=sent,
        refused=refused,
    )


def setup(app: web.Application) -> None:
    app.add_routes([web.get("/press/{button}", show), web.post("/press/{button}", press)])
