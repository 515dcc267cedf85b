"""Helpers for the rating page tests: a ticket with a rating request, its stored ratings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

import aiohttp
from sqlalchemy import select
from yarl import URL

from core.db import Database
from core.messages import Inbound
from core.models import Rating, RatingRequest
from core.scales import Scale
from tests.service import Running

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def asked(
    service: Running,
    scale: Scale = Scale.BINARY,
    expires_in: timedelta = timedelta(days=7),
    who: str = "v1",
) -> tuple[int, str]:
    """A customer's ticket and a rating request on it: (ticket number, page token)."""
    desk = service.state.desk
    got = await desk.receive(Inbound(inbox="web", external_id=who, text="Where is my parcel?"))
    request = await desk.request_rating(
        got.ticket_number, scale, expires_in, "How did we do?", "agent:test"
    )
    return got.ticket_number, request.token


async def stored(db: Database, token: str | None = None) -> Sequence[Rating]:
    """The ratings stored (answering the request ``token`` names, if given)."""
    query = select(Rating).order_by(Rating.id)
    if token is not None:
        query = query.join(RatingRequest, RatingRequest.id == Rating.request_id).where(
            RatingRequest.token == token
        )
    async with db.reading() as s:
        return (await s.scalars(query)).all()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found[1]


def cookie_csrf(http: aiohttp.ClientSession, url: str) -> str:
    """The pre-sign-in CSRF token the pages set as a cookie (for a page showing no form)."""
    return http.cookie_jar.filter_cookies(URL(url))["otklik_csrf"].value
